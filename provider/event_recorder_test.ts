import assert from "node:assert/strict";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { captureLogs } from "../util/log.ts";
import { FakeClock, settle } from "../util/clock.ts";
import { type EventSink, KubeEventRecorder, objectRef } from "./event_recorder.ts";
import type { JsonEvent } from "./kube/json_types.ts";
import { apiError } from "./testing/fake_writers.ts";

class FakeSink implements EventSink {
  events = new Map<string, JsonEvent>();
  writes: string[] = [];
  /** HTTP status codes the next creates fail with. */
  failNext: number[] = [];
  /** Store the next created Event, then fail as if its answer was lost on the way back. */
  loseNextAnswer = false;
  gate?: Promise<void>;

  async create(namespace: string, event: JsonEvent): Promise<JsonEvent> {
    await this.gate;
    this.writes.push(`create ${event.reason}`);
    const failure = this.failNext.shift();
    if (failure !== undefined) throw apiError(failure, `HTTP ${failure}`);
    const key = `${namespace}/${event.metadata.name}`;
    if (this.events.has(key)) throw apiError(409, "already exists", "AlreadyExists");
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      this.events.set(key, structuredClone(event));
      throw new TypeError("fetch failed: socket closed");
    }
    this.events.set(`${namespace}/${event.metadata.name}`, structuredClone(event));
    return event;
  }

  async patch(namespace: string, name: string, patch: Record<string, unknown>): Promise<JsonEvent> {
    await this.gate;
    this.writes.push(`patch ${name}`);
    const event = this.events.get(`${namespace}/${name}`);
    if (!event) throw apiError(404, "not found");
    Object.assign(event, patch);
    return event;
  }
}

const node: V1Node = { metadata: { name: "n1", uid: "uid-n1", resourceVersion: "7" } };
const service: V1Service = {
  metadata: { name: "web", namespace: "shop", uid: "uid-web" },
  spec: { type: "LoadBalancer" },
};

Deno.test("KubeEventRecorder writes a core/v1 Event with source component, host and object reference", async () => {
  const sink = new FakeSink();
  const recorder = new KubeEventRecorder({
    sink,
    component: "ccm",
    host: "host-1",
    clock: new FakeClock(1_000),
  });
  recorder.forComponent("service-lb-controller").event(
    service,
    "Normal",
    "EnsuringLoadBalancer",
    "Ensuring load balancer",
  );
  await recorder.flush();
  const [event] = [...sink.events.values()];
  assert.ok(event);
  assert.equal(event.metadata.namespace, "shop");
  assert.match(event.metadata.name!, /^web\.[0-9a-f]+$/);
  assert.deepEqual(event.involvedObject, {
    apiVersion: "v1",
    kind: "Service",
    name: "web",
    namespace: "shop",
    uid: "uid-web",
    resourceVersion: undefined,
  });
  assert.equal(event.type, "Normal");
  assert.equal(event.reason, "EnsuringLoadBalancer");
  assert.equal(event.count, 1);
  assert.deepEqual(event.source, { component: "service-lb-controller", host: "host-1" });
  assert.equal(event.reportingComponent, "service-lb-controller");
  assert.equal(event.reportingInstance, "host-1");
});

Deno.test("KubeEventRecorder aggregates repeats into count/lastTimestamp patches", async () => {
  const sink = new FakeSink();
  const clock = new FakeClock(1_000);
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock });
  recorder.event(node, "Warning", "DeletingNodeFailed", "boom");
  await recorder.flush();
  await clock.advance(60_000);
  recorder.event(node, "Warning", "DeletingNodeFailed", "boom");
  await recorder.flush();
  recorder.event(node, "Warning", "DeletingNodeFailed", "other message");
  await recorder.flush();
  assert.equal(sink.events.size, 2, "a different message is a different Event");
  const boom = [...sink.events.values()].find((e) => e.message === "boom")!;
  assert.equal(boom.count, 2);
  assert.equal(boom.firstTimestamp, new Date(1_000).toISOString());
  assert.equal(boom.lastTimestamp, new Date(61_000).toISOString());
  assert.equal(boom.metadata.namespace, "default", "cluster-scoped objects' Events go to default");
  assert.equal(sink.writes.filter((w) => w.startsWith("patch")).length, 1);
});

Deno.test("KubeEventRecorder folds repeats that pile up while a write is slow into one write", async () => {
  const sink = new FakeSink();
  let open!: () => void;
  sink.gate = new Promise((r) => open = r);
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock: new FakeClock(), concurrency: 1 });
  recorder.event(node, "Normal", "Synced", "Node synced successfully"); // in flight
  for (let i = 0; i < 50; i++) recorder.event(node, "Normal", "DeletingNode", "Deleting node n1");
  open();
  await recorder.flush();
  assert.deepEqual(sink.writes, ["create Synced", "create DeletingNode"]);
  const deleting = [...sink.events.values()].find((e) => e.reason === "DeletingNode")!;
  assert.equal(deleting.count, 50);
});

Deno.test("KubeEventRecorder starts a new Event when the aggregated one expired", async () => {
  const sink = new FakeSink();
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock: new FakeClock() });
  recorder.event(node, "Normal", "Synced", "ok");
  await recorder.flush();
  sink.events.clear();
  recorder.event(node, "Normal", "Synced", "ok");
  await recorder.flush();
  assert.deepEqual(sink.writes.map((w) => w.split(" ")[0]), ["create", "patch", "create"]);
  assert.equal([...sink.events.values()][0]?.count, 1);
});

Deno.test("KubeEventRecorder never throws into callers and drops beyond maxPending", async () => {
  const sink = new FakeSink();
  let open!: () => void;
  sink.gate = new Promise((r) => open = r);
  const recorder = new KubeEventRecorder({
    sink,
    component: "ccm",
    clock: new FakeClock(),
    maxPending: 2,
    concurrency: 1,
  });
  for (let i = 0; i < 5; i++) recorder.event(node, "Normal", "R", `m${i}`);
  recorder.event(null as unknown as V1Node, "Normal", "R", "no object");
  assert.equal(recorder.dropped, 2);
  open();
  await recorder.flush();
  assert.equal(sink.events.size, 3);
});

Deno.test("KubeEventRecorder retries server errors, then gives up with a warning", async () => {
  await using logs = await captureLogs();
  const sink = new FakeSink();
  const clock = new FakeClock();
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock });
  sink.failNext = [500, 503];
  recorder.event(node, "Normal", "Synced", "a");
  await settle();
  await clock.advance(3_000);
  await recorder.flush();
  assert.equal(sink.events.size, 1);

  sink.failNext = [422];
  recorder.event(node, "Normal", "Synced", "invalid");
  await recorder.flush();
  assert.equal(sink.events.size, 1);
  assert.match(logs.text(), /Failed to write event/);
});

Deno.test("KubeEventRecorder waits 1 s, then 2 s between attempts", async () => {
  const sink = new FakeSink();
  const clock = new FakeClock();
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock });
  sink.failNext = [500, 503];
  recorder.event(node, "Normal", "Synced", "a");
  await settle();
  await clock.advance(999);
  assert.equal(sink.failNext.length, 1, "second attempt not before 1 s");
  await clock.advance(1);
  assert.equal(sink.failNext.length, 0);
  await clock.advance(1_999);
  assert.equal(sink.events.size, 0, "third attempt not before 2 s more");
  await clock.advance(1);
  await recorder.flush();
  assert.equal(sink.events.size, 1);
});

Deno.test("KubeEventRecorder retries a create whose answer was lost under the same name: one Event", async () => {
  const sink = new FakeSink();
  const clock = new FakeClock();
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock });
  sink.loseNextAnswer = true;
  recorder.event(node, "Warning", "SyncLoadBalancerFailed", "x");
  await settle();
  await clock.advance(1_000);
  await recorder.flush();
  assert.deepEqual(sink.writes, ["create SyncLoadBalancerFailed", "create SyncLoadBalancerFailed"]);
  assert.equal(sink.events.size, 1);
  // The recorder knows the Event it made: a repeat patches it.
  recorder.event(node, "Warning", "SyncLoadBalancerFailed", "x");
  await recorder.flush();
  assert.equal(sink.events.size, 1);
  assert.equal([...sink.events.values()][0]?.count, 2);
});

Deno.test("KubeEventRecorder.warn() records a Warning and logs it at warning level with the reason", async () => {
  await using logs = await captureLogs();
  const sink = new FakeSink();
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock: new FakeClock() });
  recorder.forComponent("service-lb-controller").warn(
    service,
    "SyncLoadBalancerFailed",
    "Error syncing load balancer: {x}",
  );
  await recorder.flush();
  assert.equal([...sink.events.values()][0]?.type, "Warning");
  const record = logs.records().find((r) => r.reason === "SyncLoadBalancerFailed");
  assert.ok(record, logs.text());
  assert.equal(record.level, "warning");
  assert.equal(record.msg, "Error syncing load balancer: {x}");
  assert.equal(record.object, "shop/web");
});

Deno.test("KubeEventRecorder.close() writes pending Events and ignores later ones", async () => {
  const sink = new FakeSink();
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock: new FakeClock() });
  recorder.event(node, "Normal", "Synced", "a");
  await recorder.close();
  recorder.event(node, "Normal", "Synced", "b");
  await recorder.flush();
  assert.equal(sink.events.size, 1);
});

Deno.test("objectRef() infers kinds of objects from list responses", () => {
  assert.equal(objectRef(node).kind, "Node");
  assert.equal(objectRef(service).kind, "Service");
  assert.equal(
    objectRef({ metadata: { name: "s", namespace: "a" }, addressType: "IPv4" } as never).kind,
    "EndpointSlice",
  );
  assert.equal(
    objectRef({ kind: "ConfigMap", apiVersion: "v1", metadata: { name: "c", namespace: "x" } }).kind,
    "ConfigMap",
  );
});

Deno.test("KubeEventRecorder writes a repeat only after the first write of that event finished", async () => {
  const sink = new FakeSink();
  let open!: () => void;
  sink.gate = new Promise((r) => open = r);
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock: new FakeClock(), concurrency: 4 });
  recorder.event(node, "Warning", "DeletingNodeFailed", "boom"); // in flight
  recorder.event(node, "Warning", "DeletingNodeFailed", "boom");
  recorder.event(node, "Warning", "DeletingNodeFailed", "boom");
  await settle();
  open();
  await recorder.flush();
  assert.equal(sink.events.size, 1);
  assert.equal([...sink.events.values()][0]?.count, 3);
  assert.deepEqual(sink.writes.map((w) => w.split(" ")[0]), ["create", "patch"]);
});

const nodeNamed = (name: string): V1Node => ({ metadata: { name, uid: `uid-${name}` } });
const nodeNames = (n: number) => Array.from({ length: n }, (_, i) => `node-${String(i).padStart(4, "0")}`);
const creates = (sink: FakeSink) => sink.writes.filter((w) => w.startsWith("create")).length;

Deno.test("KubeEventRecorder folds a burst of 1,000 Synced Events into 25 Events + one summary per 10 s", async () => {
  await using logs = await captureLogs();
  const sink = new FakeSink();
  const clock = new FakeClock(0);
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock });
  const events = recorder.forComponent("cloud-node-controller");
  const names = nodeNames(1_000);
  for (const name of names) { // one node every 100 ms for 100 s
    events.event(nodeNamed(name), "Normal", "Synced", "Node synced successfully");
    await clock.advance(100);
  }
  await clock.advance(10_000); // the last summary is due
  assert.equal(creates(sink), 25 + Math.ceil(100_000 / 10_000));
  assert.equal(sink.writes.length, creates(sink), "no patches");

  const written = [...sink.events.values()];
  const single = written.filter((e) => e.message === "Node synced successfully");
  assert.deepEqual(single.map((e) => e.involvedObject.name), names.slice(0, 25));
  const summaries = written.filter((e) => e.message !== "Node synced successfully");
  assert.equal(summaries.reduce((sum, e) => sum + (e.count ?? 0), 0), 975, "every folded Event is counted");
  const first = summaries.find((e) => e.involvedObject.name === names[124])!;
  assert.ok(first, "a summary is about the last object of its batch");
  assert.equal(first.count, 100);
  assert.equal(first.reason, "Synced");
  assert.equal(first.type, "Normal");
  assert.equal(first.source?.component, "cloud-node-controller");
  assert.equal(first.involvedObject.uid, "uid-node-0124");
  assert.equal(first.firstTimestamp, new Date(2_500).toISOString());
  assert.equal(first.lastTimestamp, new Date(12_400).toISOString());
  assert.match(
    first.message!,
    /^Node synced successfully \(100 Nodes: node-0025, node-0026, .* and \d+ more\)$/,
  );
  for (const e of summaries) assert.ok(e.message!.length <= 1024, `${e.message?.length} characters`);

  const logged = logs.records().filter((r) => r.reason === "Synced" && Array.isArray(r.names));
  assert.equal(logged.length, summaries.length, "one info line per summary");
  assert.equal(logged[0]?.level, undefined, "info");
  assert.deepEqual(logged.flatMap((r) => r.names as string[]), names.slice(25), "the full list is logged");
  await recorder.close();
});

Deno.test("KubeEventRecorder writes each Event on its own outside a burst", async () => {
  const sink = new FakeSink();
  const clock = new FakeClock(0);
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock });
  for (const name of nodeNames(100)) { // one node every 3 s: 20 a minute
    recorder.event(nodeNamed(name), "Normal", "Synced", "Node synced successfully");
    await clock.advance(3_000);
  }
  await recorder.flush();
  assert.equal(creates(sink), 100);
  assert.ok(
    [...sink.events.values()].every((e) => e.message === "Node synced successfully" && e.count === 1),
  );
});

Deno.test("KubeEventRecorder gives the only Event folded in an interval its own Event", async () => {
  const sink = new FakeSink();
  const clock = new FakeClock(0);
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock, fold: { burst: 3 } });
  for (const name of nodeNames(3)) recorder.event(nodeNamed(name), "Normal", "Synced", "ok");
  await clock.advance(5_000);
  recorder.event(nodeNamed("straggler"), "Normal", "Synced", "ok"); // right after a burst: folded
  await clock.advance(9_999);
  assert.equal(creates(sink), 3, "waits for the interval");
  await clock.advance(1);
  await recorder.flush();
  const straggler = [...sink.events.values()].find((e) => e.involvedObject.name === "straggler");
  assert.ok(straggler);
  assert.equal(straggler.message, "ok");
  assert.equal(straggler.count, 1);
  assert.equal(straggler.involvedObject.uid, "uid-straggler");
  assert.equal(creates(sink), 4);
});

Deno.test("KubeEventRecorder never folds Warnings", async () => {
  const sink = new FakeSink();
  const clock = new FakeClock(0);
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock });
  for (const name of nodeNames(200)) recorder.warn(nodeNamed(name), "DeviceNotFound", "no device");
  await recorder.flush();
  assert.equal(creates(sink), 200);
  assert.ok([...sink.events.values()].every((e) => e.message === "no device" && e.type === "Warning"));
});

Deno.test("KubeEventRecorder gives every Service its own Events by default, however many sync at once", async () => {
  const sink = new FakeSink();
  const clock = new FakeClock(0);
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock });
  const svc = (name: string): V1Service => ({ metadata: { name, namespace: "shop", uid: name } });
  for (const name of nodeNames(100)) {
    recorder.event(svc(name), "Normal", "EnsuringLoadBalancer", "Ensuring load balancer");
  }
  await clock.advance(10_000);
  await recorder.flush();
  assert.equal(creates(sink), 100);
  assert.ok([...sink.events.values()].every((e) => e.message === "Ensuring load balancer" && e.count === 1));
});

Deno.test("KubeEventRecorder folds only Events alike but for their object", async () => {
  const sink = new FakeSink();
  const clock = new FakeClock(0);
  const recorder = new KubeEventRecorder({
    sink,
    component: "ccm",
    clock,
    fold: { burst: 2, kinds: ["Service"] },
  });
  const svc = (namespace: string, name: string): V1Service => ({ metadata: { name, namespace, uid: name } });
  for (const name of ["a", "b", "c", "d"]) {
    recorder.event(svc("shop", name), "Normal", "EnsuredLoadBalancer", "Ensured load balancer");
    recorder.event(svc("blog", name), "Normal", "EnsuredLoadBalancer", "Ensured load balancer");
    recorder.event(svc("shop", name), "Normal", "EnsuringLoadBalancer", "Ensuring load balancer");
  }
  await clock.advance(10_000);
  const summaries = [...sink.events.values()].filter((e) => e.count === 2).map((e) =>
    `${e.metadata.namespace} ${e.involvedObject.name} ${e.message}`
  ).sort();
  assert.deepEqual(summaries, [
    "blog d Ensured load balancer (2 Services: c, d)",
    "shop d Ensured load balancer (2 Services: c, d)",
    "shop d Ensuring load balancer (2 Services: c, d)",
  ]);
  assert.equal(creates(sink), 3 * 2 + 3);
});

Deno.test("KubeEventRecorder.close() writes the summaries it holds without waiting for the interval", async () => {
  const sink = new FakeSink();
  const clock = new FakeClock(0);
  const recorder = new KubeEventRecorder({ sink, component: "ccm", clock, fold: { burst: 1 } });
  for (const name of nodeNames(3)) recorder.event(nodeNamed(name), "Normal", "Synced", "ok");
  await recorder.close();
  assert.deepEqual([...sink.events.values()].map((e) => e.message), [
    "ok",
    "ok (2 Nodes: node-0001, node-0002)",
  ]);
  assert.equal(clock.pendingSleeps, 0, "no timer left behind");
});
