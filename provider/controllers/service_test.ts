import assert from "node:assert/strict";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { FakeClock, flush, settle, until } from "../../util/clock.ts";
import type { LoadBalancer } from "../cloud.ts";
import { RetryError } from "../errors.ts";
import { apiTime } from "../testing/api_time.ts";
import { FakeInformer } from "../testing/fake_informer.ts";
import { FakeProvider } from "../testing/fake_provider.ts";
import { apiError, FakeServiceWriter } from "../testing/fake_writers.ts";
import { RecordingRecorder } from "../testing/recording_recorder.ts";
import { NODE_SYNC_BATCH_MS, ServiceController } from "./service.ts";

const FINALIZER = "service.kubernetes.io/load-balancer-cleanup";

function svc(name: string, spec: V1Service["spec"] = {}, metadata: V1Service["metadata"] = {}): V1Service {
  return {
    metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: "1", ...metadata },
    spec: { type: "LoadBalancer", ports: [{ port: 80, protocol: "TCP", nodePort: 30080 }], ...spec },
    status: {},
  };
}

function node(name: string, labels: Record<string, string> = {}): V1Node {
  return { metadata: { name, labels }, spec: { providerID: `fake://${name}` } };
}

function setup(
  services: V1Service[],
  nodes: V1Node[] = [node("a"), node("b")],
  options: { releasesOrphans?: boolean } = {},
) {
  const serviceInformer = new FakeInformer<V1Service>(services);
  const nodeInformer = new FakeInformer<V1Node>(nodes);
  const writer = new FakeServiceWriter(serviceInformer);
  const provider = new FakeProvider({ releasesOrphans: options.releasesOrphans });
  const recorder = new RecordingRecorder();
  const clock = new FakeClock();
  const controller = new ServiceController({
    balancer: provider.loadBalancer!,
    services: serviceInformer,
    nodes: nodeInformer,
    writer,
    recorder,
    clusterName: "kubernetes",
    workers: 2,
    clock,
  });
  return { serviceInformer, nodeInformer, writer, provider, recorder, controller, clock };
}

Deno.test("syncService() adds the finalizer before ensuring, then patches status once", async () => {
  const t = setup([svc("web")]);
  await t.controller.syncService("default/web");
  const got = t.serviceInformer.get("default/web")!;
  assert.deepEqual(got.metadata?.finalizers, [FINALIZER]);
  assert.deepEqual(got.status?.loadBalancer?.ingress, [{ ip: "203.0.113.1", ipMode: "VIP" }]);
  assert.deepEqual(t.writer.writes.map((w) => w.kind), ["strategic", "merge"]);
  assert.deepEqual(t.recorder.reasons(), ["EnsuringLoadBalancer", "EnsuredLoadBalancer"]);
  assert.deepEqual(t.provider.callsOf("ensureLoadBalancer")[0]?.nodes, ["a", "b"]);

  await t.controller.syncService("default/web");
  assert.equal(t.writer.writes.length, 2, "finalizer present and status unchanged: no write");
});

Deno.test("syncService() adds the finalizer with the first status when the provider releases orphans", async () => {
  const t = setup([svc("web")], undefined, { releasesOrphans: true });
  await t.controller.syncService("default/web");
  const got = t.serviceInformer.get("default/web")!;
  assert.deepEqual(got.metadata?.finalizers, [FINALIZER]);
  assert.deepEqual(got.status?.loadBalancer?.ingress, [{ ip: "203.0.113.1", ipMode: "VIP" }]);
  assert.deepEqual(t.writer.writes.map((w) => w.kind), ["strategic"], "one write: finalizer and status");
  assert.deepEqual(t.writer.writes[0]?.body, {
    metadata: { finalizers: [FINALIZER] },
    status: { loadBalancer: { ingress: [{ ip: "203.0.113.1", ipMode: "VIP" }] } },
  });
  assert.equal(t.provider.callsOf("ensureLoadBalancer").length, 1);

  await t.controller.syncService("default/web");
  assert.equal(t.writer.writes.length, 1, "finalizer present and status unchanged: no write");
});

Deno.test("syncService() adds a missing finalizer to a Service whose status is already right", async () => {
  const t = setup([svc("web")], undefined, { releasesOrphans: true });
  await t.controller.syncService("default/web");
  // Someone removed the finalizer by hand; the status still shows the address.
  const edited = structuredClone(t.serviceInformer.get("default/web")!);
  edited.metadata!.finalizers = [];
  edited.metadata!.resourceVersion = "2000";
  t.serviceInformer.upsert(edited);
  await t.clock.advance(10_000); // past the settle time of the first write
  await t.controller.syncService("default/web");
  assert.deepEqual(t.serviceInformer.get("default/web")!.metadata?.finalizers, [FINALIZER]);
  assert.equal(t.writer.writes.length, 2);
});

Deno.test("syncService() without the finalizer in front leaves no write when ensuring fails", async () => {
  const t = setup([svc("web")], undefined, { releasesOrphans: true });
  t.provider.fail("ensureLoadBalancer", new Error("cloud down"));
  await assert.rejects(t.controller.syncService("default/web"), /cloud down/);
  assert.deepEqual(t.writer.writes, []);
  assert.deepEqual(t.serviceInformer.get("default/web")!.metadata?.finalizers ?? [], []);
});

/** A one-worker controller over `t`'s informers, writer and recorder, with another load balancer. */
function controllerWith(t: ReturnType<typeof setup>, balancer: LoadBalancer): ServiceController {
  return new ServiceController({
    balancer,
    services: t.serviceInformer,
    nodes: t.nodeInformer,
    writer: t.writer,
    recorder: t.recorder,
    clusterName: "kubernetes",
    workers: 1,
    clock: t.clock,
  });
}

/** The fake provider's load balancer, with its own Service write left to the test to finish. */
function concurrentBalancer(t: ReturnType<typeof setup>) {
  const inner = t.provider.loadBalancer!;
  const writes: Array<{ resolve(): void; reject(err: Error): void }> = [];
  const controller = controllerWith(t, {
    ...inner,
    ensureLoadBalancer: () => Promise.reject(new Error("the controller must use the concurrent form")),
    ensureLoadBalancerConcurrently: async (c, s, n, sig) => {
      const status = await inner.ensureLoadBalancer(c, s, n, sig);
      const written = new Promise<void>((resolve, reject) => writes.push({ resolve, reject }));
      return { status, written };
    },
  });
  return { controller, writes };
}

Deno.test("syncService() writes the status while the provider's own Service write is in flight", async () => {
  const t = setup([svc("web", {}, { finalizers: [FINALIZER] })]);
  const { controller, writes } = concurrentBalancer(t);
  let done = false;
  const sync = controller.syncService("default/web").then(() => done = true);
  await until(() => t.writer.writes.length === 1 && writes.length === 1);
  assert.deepEqual(
    t.serviceInformer.get("default/web")!.status?.loadBalancer?.ingress?.[0]?.ip,
    "203.0.113.1",
  );
  await flush();
  assert.equal(done, false, "the sync waits for the provider's write");
  assert.deepEqual(t.recorder.reasons(), ["EnsuringLoadBalancer"], "not ensured before the provider's write");
  writes[0]!.resolve();
  await sync;
  assert.deepEqual(t.recorder.reasons(), ["EnsuringLoadBalancer", "EnsuredLoadBalancer"]);
});

Deno.test("syncService() fails when the provider's own Service write fails, after the status write", async () => {
  const t = setup([svc("web", {}, { finalizers: [FINALIZER] })]);
  const { controller, writes } = concurrentBalancer(t);
  const sync = controller.syncService("default/web");
  await until(() => writes.length === 1);
  writes[0]!.reject(new Error("annotations denied"));
  await assert.rejects(sync, /failed to ensure load balancer: annotations denied/);
  assert.deepEqual(t.recorder.reasons(), ["EnsuringLoadBalancer", "SyncLoadBalancerFailed"]);
});

Deno.test("syncService() ignores Services with another loadBalancerClass and handles the provider's", async () => {
  const t = setup([svc("other", { loadBalancerClass: "example.com/other" })]);
  await t.controller.syncService("default/other");
  assert.equal(t.provider.callsOf("ensureLoadBalancer").length, 0);
  assert.equal(t.provider.callsOf("getLoadBalancer").length, 1, "treated as not wanting one: only a lookup");
  assert.deepEqual(t.writer.writes, []);
});

Deno.test("syncService() cleans up a Service switched away from LoadBalancer in one patch", async () => {
  const t = setup([svc("web")]);
  await t.controller.syncService("default/web");
  const ensured = t.serviceInformer.get("default/web")!;
  t.serviceInformer.upsert({ ...ensured, spec: { ...ensured.spec, type: "ClusterIP" } });
  await t.controller.syncService("default/web");
  const got = t.serviceInformer.get("default/web")!;
  assert.deepEqual(got.metadata?.finalizers, []);
  assert.equal(got.status?.loadBalancer?.ingress, undefined);
  assert.equal(t.provider.loadBalancers.size, 0);
  assert.deepEqual(t.writer.writes.at(-1)?.body, {
    metadata: { "$deleteFromPrimitiveList/finalizers": [FINALIZER] },
    status: { loadBalancer: { ingress: null } },
  });
  assert.deepEqual(t.recorder.reasons().slice(2), ["DeletingLoadBalancer", "DeletedLoadBalancer"]);
});

Deno.test("syncService() deletes the load balancer of a deleted Service, then releases it", async () => {
  const t = setup([svc("web")]);
  await t.controller.syncService("default/web");
  const ensured = t.serviceInformer.get("default/web")!;
  t.serviceInformer.upsert({ ...ensured, metadata: { ...ensured.metadata, deletionTimestamp: apiTime() } });
  await t.controller.syncService("default/web");
  assert.equal(t.serviceInformer.get("default/web"), undefined, "finalizer removed: object gone");
  assert.deepEqual(t.provider.callsOf("ensureLoadBalancerDeleted").map((c) => c.target), ["default/web"]);
});

Deno.test("syncService() still calls EnsureLoadBalancerDeleted when GetLoadBalancer finds nothing but we own the finalizer", async () => {
  const t = setup([svc("web", { type: "ClusterIP" }, { finalizers: [FINALIZER] })]);
  await t.controller.syncService("default/web");
  assert.equal(t.provider.callsOf("ensureLoadBalancerDeleted").length, 1);
  assert.deepEqual(t.serviceInformer.get("default/web")!.metadata?.finalizers, []);
});

Deno.test("syncService() keeps the finalizer and reports when deletion fails", async () => {
  const t = setup([svc("web", { type: "ClusterIP" }, { finalizers: [FINALIZER] })]);
  t.provider.fail("ensureLoadBalancerDeleted", new Error("API down"));
  await assert.rejects(t.controller.syncService("default/web"), /failed to delete load balancer: API down/);
  assert.deepEqual(t.serviceInformer.get("default/web")!.metadata?.finalizers, [FINALIZER]);
  const last = t.recorder.events.at(-1)!;
  assert.equal(last.reason, "SyncLoadBalancerFailed");
  assert.equal(last.message, "Error syncing load balancer: failed to delete load balancer: API down");
});

Deno.test("syncService() reports ensure failures with SyncLoadBalancerFailed; RetryError passes through quietly", async () => {
  const t = setup([svc("web")]);
  t.provider.fail("ensureLoadBalancer", new Error("no IPs left"));
  await assert.rejects(
    t.controller.syncService("default/web"),
    /failed to ensure load balancer: no IPs left/,
  );
  assert.equal(t.recorder.events.at(-1)?.reason, "SyncLoadBalancerFailed");
  assert.deepEqual(t.serviceInformer.get("default/web")!.metadata?.finalizers, [FINALIZER], "finalizer kept");

  t.provider.fail("ensureLoadBalancer", new RetryError("waiting for reservation", 30_000));
  const before = t.recorder.events.length;
  await assert.rejects(t.controller.syncService("default/web"), RetryError);
  assert.deepEqual(t.recorder.reasons().slice(before), ["EnsuringLoadBalancer"]);
});

Deno.test("syncService() fails when the provider returns no status", async () => {
  const t = setup([svc("web")]);
  const controller = controllerWith(t, {
    ...t.provider.loadBalancer!,
    ensureLoadBalancer: () => Promise.resolve(undefined as never),
  });
  await assert.rejects(
    controller.syncService("default/web"),
    /service status returned by EnsureLoadBalancer is nil/,
  );
});

Deno.test("syncService() warns UnAvailableLoadBalancer with no eligible nodes and still ensures", async () => {
  const t = setup([svc("web")], [
    node("x", { "node.kubernetes.io/exclude-from-external-load-balancers": "true" }),
  ]);
  await t.controller.syncService("default/web");
  assert.deepEqual(t.recorder.reasons(), [
    "EnsuringLoadBalancer",
    "UnAvailableLoadBalancer",
    "EnsuredLoadBalancer",
  ]);
  assert.deepEqual(t.provider.callsOf("ensureLoadBalancer")[0]?.nodes, []);
});

Deno.test("syncService() ignores 404 on the status patch (Service deleted meanwhile)", async () => {
  const t = setup([svc("web", {}, { finalizers: [FINALIZER] })]);
  t.writer.failNext.push(apiError(404, "not found"));
  await t.controller.syncService("default/web");
});

Deno.test("syncNodes() updates only load balancers whose node set changed, with the new eligible nodes", async () => {
  const t = setup([svc("web"), svc("api")]);
  await t.controller.syncService("default/web");
  await t.controller.syncService("default/api");
  assert.deepEqual(await t.controller.syncNodes(), []);
  assert.equal(t.provider.callsOf("updateLoadBalancer").length, 0, "same node set: nothing to do");

  t.nodeInformer.upsert(node("c"));
  t.nodeInformer.upsert(node("a", { "node.kubernetes.io/exclude-from-external-load-balancers": "true" }));
  assert.deepEqual(await t.controller.syncNodes(), []);
  const updates = t.provider.callsOf("updateLoadBalancer");
  assert.deepEqual(updates.map((c) => [c.target, c.nodes]).sort(), [
    ["default/api", ["b", "c"]],
    ["default/web", ["b", "c"]],
  ]);
  assert.equal(t.recorder.reasons("default/web").at(-1), "UpdatedLoadBalancer");
  await t.controller.syncNodes();
  assert.equal(t.provider.callsOf("updateLoadBalancer").length, 2);
});

Deno.test("syncNodes() returns failed Services for retry unless their load balancer is gone", async () => {
  const t = setup([svc("web"), svc("gone")]);
  await t.controller.syncService("default/web");
  await t.controller.syncService("default/gone");
  t.provider.loadBalancers.delete("default/gone");
  t.provider.fail("updateLoadBalancer", new Error("API down"));
  t.nodeInformer.upsert(node("c"));
  assert.deepEqual(await t.controller.syncNodes(), ["default/web"]);
  const failed = t.recorder.events.filter((e) => e.reason === "UpdateLoadBalancerFailed");
  assert.deepEqual(failed.map((e) => [e.object, e.message]), [
    ["default/web", "Error updating load balancer with new hosts [a b c]: API down"],
  ]);
});

Deno.test("run() reacts to Service adds, relevant updates, deletions and node changes", async () => {
  const t = setup([]);
  const stop = new AbortController();
  const running = t.controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
  t.serviceInformer.upsert(svc("web"));
  t.serviceInformer.upsert(svc("internal", { type: "ClusterIP" }));
  await flush();
  assert.deepEqual(t.provider.callsOf("ensureLoadBalancer").map((c) => c.target), ["default/web"]);

  const current = t.serviceInformer.get("default/web")!;
  t.serviceInformer.upsert({
    ...current,
    metadata: { ...current.metadata, resourceVersion: "999", labels: { team: "x" } },
  });
  await flush();
  assert.equal(t.provider.callsOf("ensureLoadBalancer").length, 1, "label change does not resync");

  t.serviceInformer.upsert({
    ...current,
    spec: { ...current.spec, loadBalancerSourceRanges: ["10.0.0.0/8"] },
  });
  await flush();
  assert.equal(t.provider.callsOf("ensureLoadBalancer").length, 2);
  assert.ok(t.recorder.reasons().includes("LoadBalancerSourceRanges"));

  t.nodeInformer.upsert(node("c"));
  await flush();
  await t.clock.advance(NODE_SYNC_BATCH_MS);
  await flush();
  assert.deepEqual(t.provider.callsOf("updateLoadBalancer").map((c) => c.nodes), [["a", "b", "c"]]);

  const withFinalizer = t.serviceInformer.get("default/web")!;
  t.serviceInformer.upsert({
    ...withFinalizer,
    metadata: { ...withFinalizer.metadata, deletionTimestamp: apiTime() },
  });
  await flush();
  assert.equal(t.serviceInformer.get("default/web"), undefined);
  assert.equal(t.provider.loadBalancers.size, 0);

  stop.abort();
  await running;
});

Deno.test("run() with one worker writes other Services' finalizers while one is in the load balancer", async () => {
  const t = setup([svc("a"), svc("b"), svc("c")]);
  const inner = t.provider.loadBalancer!;
  const gates: Array<() => void> = [];
  let inCalls = 0;
  let mostInCalls = 0;
  const controller = controllerWith(t, {
    ...inner,
    ensureLoadBalancer: async (c, s, n, sig) => {
      mostInCalls = Math.max(mostInCalls, ++inCalls);
      await new Promise<void>((resolve) => gates.push(resolve));
      inCalls--;
      return inner.ensureLoadBalancer(c, s, n, sig);
    },
  });
  const stop = new AbortController();
  const running = controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
  const finalizers = () => t.writer.writes.filter((w) => w.kind === "strategic").length;
  await until(() => finalizers() === 3 && gates.length === 1);
  await flush();
  assert.equal(gates.length, 1, "one Service at a time in the load balancer");
  for (let released = 0; released < 3; released++) {
    await until(() => gates.length > released);
    gates[released]!();
  }
  await until(() => t.writer.writes.filter((w) => w.kind === "merge").length === 3);
  assert.equal(mostInCalls, 1);
  for (const name of ["a", "b", "c"]) {
    const got = t.serviceInformer.get(`default/${name}`)!;
    assert.deepEqual(got.metadata?.finalizers, [FINALIZER]);
    assert.equal(got.status?.loadBalancer?.ingress?.length, 1);
  }
  stop.abort();
  await running;
});

Deno.test("run() batches node events: a burst of joining nodes is one node sync per batch", async () => {
  const t = setup([svc("web")]);
  const stop = new AbortController();
  const running = t.controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
  await flush();
  assert.equal(t.provider.callsOf("ensureLoadBalancer").length, 1);
  for (let i = 0; i < 50; i++) {
    t.nodeInformer.upsert(node(`n${String(i).padStart(2, "0")}`));
    await settle();
  }
  assert.equal(t.provider.callsOf("updateLoadBalancer").length, 0, "nothing before the batch ends");
  await t.clock.advance(NODE_SYNC_BATCH_MS);
  await flush();
  const updates = t.provider.callsOf("updateLoadBalancer");
  assert.equal(updates.length, 1);
  assert.equal(updates[0]!.nodes?.length, 52);
  stop.abort();
  await running;
});

Deno.test("syncNodes() reads no node while no load balancer has been ensured", async () => {
  const t = setup([]);
  let reads = 0;
  const list = t.nodeInformer.list.bind(t.nodeInformer);
  t.nodeInformer.list = () => {
    reads++;
    return list();
  };
  assert.deepEqual(await t.controller.syncNodes(), []);
  assert.equal(reads, 0);
});

Deno.test("run() retries a failed Service with 5 s backoff", async () => {
  const t = setup([svc("web")]);
  t.provider.fail("ensureLoadBalancer", new Error("flaky"));
  const stop = new AbortController();
  const running = t.controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
  await flush();
  assert.equal(t.provider.callsOf("ensureLoadBalancer").length, 1);
  t.provider.fail("ensureLoadBalancer", undefined);
  await t.clock.advance(4_999);
  assert.equal(t.provider.callsOf("ensureLoadBalancer").length, 1);
  await t.clock.advance(1);
  await flush();
  assert.equal(t.provider.callsOf("ensureLoadBalancer").length, 2);
  assert.ok(t.serviceInformer.get("default/web")!.status?.loadBalancer?.ingress);
  stop.abort();
  await running;
});

Deno.test("run() syncs a Service again when the provider asks for a recheck after a successful ensure", async () => {
  const t = setup([svc("web"), svc("api")]);
  t.provider.recheckAfter.set("default/web", 15_000);
  const stop = new AbortController();
  const running = t.controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
  await flush();
  const ensures = (key: string) =>
    t.provider.callsOf("ensureLoadBalancer").filter((c) => c.target === key).length;
  assert.deepEqual([ensures("default/web"), ensures("default/api")], [1, 1]);
  await t.clock.advance(14_999);
  assert.equal(ensures("default/web"), 1);
  t.provider.recheckAfter.delete("default/web");
  await t.clock.advance(1);
  await flush();
  assert.equal(ensures("default/web"), 2);
  await t.clock.advance(60_000);
  await flush();
  assert.deepEqual([ensures("default/web"), ensures("default/api")], [2, 1]);
  assert.equal(t.recorder.events.filter((e) => e.type === "Warning").length, 0);
  stop.abort();
  await running;
});

Deno.test("run() reconciles every managed Service again on an informer resync", async () => {
  const t = setup([svc("web"), svc("internal", { type: "ClusterIP" })]);
  const stop = new AbortController();
  const running = t.controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
  await flush();
  assert.equal(t.provider.callsOf("ensureLoadBalancer").length, 1);
  t.provider.loadBalancers.clear(); // removed behind our back
  for (const s of t.serviceInformer.list()) t.serviceInformer.upsert(s); // resync: same objects again
  await flush();
  assert.deepEqual(t.provider.callsOf("ensureLoadBalancer").map((c) => c.target), [
    "default/web",
    "default/web",
  ]);
  assert.ok(t.provider.loadBalancers.has("default/web"));
  stop.abort();
  await running;
});

/** The informer's view lags the writes: `stale` is what a requeued sync sees before the watch delivers them. */
function lagBehind(t: ReturnType<typeof setup>, key: string, stale: V1Service): void {
  t.serviceInformer.upsert(structuredClone(stale));
  assert.equal(t.serviceInformer.get(key)?.status?.loadBalancer, undefined, "the cache lags");
}

Deno.test("syncService() does not write the same status again while the cache has not caught up with it", async () => {
  const t = setup([svc("web")]);
  const key = "default/web";
  await t.controller.syncService(key);
  const afterFinalizer = { ...structuredClone(t.serviceInformer.get(key)!), status: {} };
  afterFinalizer.metadata!.resourceVersion = "1001"; // the finalizer patch's version, before the status write
  lagBehind(t, key, afterFinalizer);
  const recheck = await t.controller.syncService(key);
  assert.equal(t.writer.writes.length, 2, "no second status write");
  assert.ok(recheck !== undefined && recheck > 0 && recheck <= 5_000, `looks again in ${recheck} ms`);

  // The write shows up: nothing to do.
  t.serviceInformer.upsert({
    ...afterFinalizer,
    status: { loadBalancer: { ingress: [{ ip: "203.0.113.1", ipMode: "VIP" }] } },
  });
  await t.controller.syncService(key);
  assert.equal(t.writer.writes.length, 2);
});

Deno.test("syncService() rewrites a status someone else cleared once the settle time has passed", async () => {
  const t = setup([svc("web")]);
  const key = "default/web";
  await t.controller.syncService(key);
  const cleared = { ...structuredClone(t.serviceInformer.get(key)!), status: {} };
  cleared.metadata!.resourceVersion = "2000";
  lagBehind(t, key, cleared);
  t.clock.advance(5_000);
  assert.equal(await t.controller.syncService(key), undefined);
  assert.deepEqual(
    t.writer.writes.map((w) => w.kind),
    ["strategic", "merge", "merge"],
    "status written again",
  );
  assert.deepEqual(t.serviceInformer.get(key)?.status?.loadBalancer?.ingress, [
    { ip: "203.0.113.1", ipMode: "VIP" },
  ]);
});
