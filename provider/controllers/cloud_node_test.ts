import assert from "node:assert/strict";
import type { V1Node, V1NodeAddress } from "@kubernetes/client-node";
import { FakeClock, flush } from "../../util/clock.ts";
import { NodeNotManagedError } from "../errors.ts";
import { FakeInformer } from "../testing/fake_informer.ts";
import { FakeProvider } from "../testing/fake_provider.ts";
import { apiError, FakeNodeWriter } from "../testing/fake_writers.ts";
import { RecordingRecorder } from "../testing/recording_recorder.ts";
import { CloudNodeController } from "./cloud_node.ts";

const UNINIT = { key: "node.cloudprovider.kubernetes.io/uninitialized", value: "true", effect: "NoSchedule" };
const int = (address: string): V1NodeAddress => ({ type: "InternalIP", address });
const ext = (address: string): V1NodeAddress => ({ type: "ExternalIP", address });

function node(
  name: string,
  extra: Partial<{ tainted: boolean; labels: Record<string, string>; addresses: V1NodeAddress[] }> = {},
): V1Node {
  return {
    metadata: { name, uid: `uid-${name}`, resourceVersion: "1", labels: extra.labels ?? {} },
    spec: { taints: extra.tainted === false ? [] : [UNINIT] },
    status: { addresses: extra.addresses ?? [{ type: "Hostname", address: name }] },
  };
}

function setup(nodes: V1Node[]) {
  const informer = new FakeInformer<V1Node>(nodes);
  const writer = new FakeNodeWriter(informer);
  const provider = new FakeProvider();
  const recorder = new RecordingRecorder();
  const clock = new FakeClock();
  const controller = new CloudNodeController({
    instances: provider.instances,
    nodes: informer,
    writer,
    recorder,
    workers: 2,
    statusUpdateWorkers: 0,
    statusUpdateFrequencyMs: 300_000,
    clock,
  });
  return { informer, writer, provider, recorder, controller, clock };
}

Deno.test("syncNode() initializes a tainted node: addresses, then providerID/labels/taint in one patch, then Synced", async () => {
  const t = setup([node("n1")]);
  t.provider.setInstance("n1", {
    instanceType: "m3.large",
    region: "da",
    addresses: [int("10.0.0.1"), ext("147.75.0.1")],
  });
  await t.controller.syncNode("n1");
  assert.deepEqual(t.writer.writes.map((w) => w.verb), ["patchStatus", "patch"]);
  const got = t.informer.get("n1")!;
  assert.equal(got.spec?.providerID, "fake://n1");
  assert.deepEqual(got.spec?.taints, undefined);
  assert.equal(got.metadata?.labels?.["node.kubernetes.io/instance-type"], "m3.large");
  assert.equal(got.metadata?.labels?.["beta.kubernetes.io/instance-type"], "m3.large");
  assert.equal(got.metadata?.labels?.["topology.kubernetes.io/region"], "da");
  assert.equal(got.metadata?.labels?.["failure-domain.beta.kubernetes.io/region"], "da");
  assert.deepEqual(got.status?.addresses, [int("10.0.0.1"), ext("147.75.0.1"), {
    type: "Hostname",
    address: "n1",
  }]);
  assert.deepEqual(t.recorder.events, [{
    object: "n1",
    type: "Normal",
    reason: "Synced",
    message: "Node synced successfully",
  }]);
  assert.equal(t.provider.callsOf("instanceMetadata").length, 1);
});

Deno.test("syncNode() re-reads the node and retries after a conflict, without asking the provider again", async () => {
  const t = setup([node("n1")]);
  t.provider.setInstance("n1", { addresses: [] }); // no addresses: only the spec patch
  t.writer.failNext.push(apiError(409, "conflict"));
  await t.controller.syncNode("n1");
  assert.deepEqual(t.writer.writes.map((w) => w.verb), ["patch", "get", "patch"]);
  assert.equal(t.informer.get("n1")!.spec?.providerID, "fake://n1");
  assert.equal(t.provider.callsOf("instanceMetadata").length, 1);
});

Deno.test("syncNode() skips nodes of another provider quietly", async () => {
  const t = setup([node("n1")]);
  t.provider.fail("instanceMetadata", new NodeNotManagedError("not ours"));
  await t.controller.syncNode("n1");
  assert.deepEqual(t.writer.writes, []);
  assert.deepEqual(t.recorder.events, []);
});

Deno.test("syncNode() fails with the node name when the provider fails, writing nothing", async () => {
  const t = setup([node("n1")]);
  await assert.rejects(
    t.controller.syncNode("n1"),
    /failed to get instance metadata for node "n1": instance of node "n1" not found/,
  );
  assert.deepEqual(t.writer.writes, []);
});

Deno.test("syncNode() copies beta labels to GA labels on initialized nodes only when needed", async () => {
  const t = setup([
    node("a", { tainted: false, labels: { "failure-domain.beta.kubernetes.io/region": "da" } }),
    node("b", { tainted: false, labels: { "topology.kubernetes.io/region": "da" } }),
  ]);
  await t.controller.syncNode("a");
  await t.controller.syncNode("b");
  assert.deepEqual(t.writer.writes.map((w) => `${w.verb} ${w.key}`), ["patch a"]);
  assert.equal(t.informer.get("a")!.metadata?.labels?.["topology.kubernetes.io/region"], "da");
  assert.equal(t.provider.calls.length, 0, "initialized nodes cost no provider call");
});

Deno.test("refreshAddresses() patches only nodes whose addresses changed and skips uninitialized ones", async () => {
  const t = setup([
    node("same", { tainted: false, addresses: [int("10.0.0.1")] }),
    node("moved", { tainted: false, addresses: [int("10.0.0.2")] }),
    node("new", { tainted: true }),
    node("foreign", { tainted: false }),
  ]);
  t.provider.setInstance("same", { addresses: [int("10.0.0.1")] });
  t.provider.setInstance("moved", { addresses: [int("10.0.0.3")] });
  t.provider.setInstance("new", { addresses: [int("10.0.0.4")] });
  t.informer.upsert({ ...t.informer.get("foreign")!, spec: { providerID: "aws:///i-1" } });
  assert.equal(await t.controller.refreshAddresses(), 1);
  assert.deepEqual(t.writer.writes.map((w) => `${w.verb} ${w.key}`), ["patchStatus moved"]);
  assert.deepEqual(t.informer.get("moved")!.status?.addresses, [int("10.0.0.3")]);
});

Deno.test("run() initializes nodes as they appear and refreshes addresses every period", async () => {
  const t = setup([]);
  const stop = new AbortController();
  const running = t.controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
  t.provider.setInstance("n1", { addresses: [int("10.0.0.1")] });
  t.provider.setInstance("n2", { addresses: [int("10.0.0.2")] });
  t.informer.upsert(node("n1"));
  t.informer.upsert(node("n2"));
  await flush();
  assert.deepEqual(t.recorder.reasons(), ["Synced", "Synced"]);

  t.provider.setInstance("n1", { addresses: [int("10.0.0.9")] });
  await t.clock.advance(300_000);
  await flush();
  assert.deepEqual(t.informer.get("n1")!.status?.addresses, [int("10.0.0.9"), {
    type: "Hostname",
    address: "n1",
  }]);
  stop.abort();
  await running;
  assert.equal(t.informer.handlerCount, 0, "handlers removed on stop");
});

Deno.test("syncNode() does not initialize again from a cache that only saw its own status patch", async () => {
  const t = setup([node("n1")]);
  t.provider.setInstance("n1", { addresses: [int("10.0.0.1")] });
  // Capture the node as the cache saw it right after the status patch, then replay that stale version.
  let afterStatus: V1Node | undefined;
  const patchStatus = t.writer.patchStatus.bind(t.writer);
  t.writer.patchStatus = async (name, body, kind) => {
    afterStatus = await patchStatus(name, body, kind);
    return afterStatus;
  };
  await t.controller.syncNode("n1");
  const initialized = t.informer.get("n1")!;
  t.informer.upsert(afterStatus!); // stale: tainted, our own resourceVersion
  await t.controller.syncNode("n1");
  assert.equal(t.provider.callsOf("instanceMetadata").length, 1, "no second init");
  assert.deepEqual(t.writer.writes.map((w) => w.verb), ["patchStatus", "patch"]);
  t.informer.upsert(initialized); // the cache catches up
  await t.controller.syncNode("n1");
  assert.equal(t.provider.callsOf("instanceMetadata").length, 1);
});

Deno.test("run() stops a long address refresh pass on shutdown after the node in progress", async () => {
  const nodes = ["n1", "n2", "n3"].map((name) => node(name, { tainted: false }));
  const informer = new FakeInformer<V1Node>(nodes);
  const clock = new FakeClock();
  const asked: string[] = [];
  const controller = new CloudNodeController({
    instances: {
      instanceExists: () => Promise.resolve(true),
      instanceShutdown: () => Promise.resolve(false),
      // A provider whose API is down: each call fails only after its retries.
      instanceMetadata: async (n) => {
        asked.push(n.metadata?.name ?? "");
        await clock.sleep(2_000);
        throw new Error("Metal API answered 503 Service Unavailable");
      },
    },
    nodes: informer,
    writer: new FakeNodeWriter(informer),
    recorder: new RecordingRecorder(),
    workers: 1,
    statusUpdateWorkers: 1,
    statusUpdateFrequencyMs: 300_000,
    clock,
  });
  const stop = new AbortController();
  let stopped = false;
  const running = controller.run({ signal: stop.signal, syncSignal: new AbortController().signal })
    .then(() => stopped = true);
  await flush();
  assert.deepEqual(asked, ["n1"]);
  stop.abort();
  await clock.advance(2_000);
  await flush();
  assert.ok(stopped, "stopped once the node in progress was done");
  assert.deepEqual(asked, ["n1"], "no other node started after the stop");
  await running;
});

Deno.test("run() initializes a node within 30 s of its instance appearing, even after failing for 10 minutes", async () => {
  const t = setup([node("n1")]);
  const stop = new AbortController();
  const running = t.controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
  // The device is still provisioning: every instanceMetadata call fails with "not found".
  await flush();
  await t.clock.advance(600_000);
  const failures = t.provider.callsOf("instanceMetadata").length;
  assert.ok(failures > 20, `retried at least every 30 s once backed off (got ${failures} calls)`);
  assert.deepEqual(t.recorder.reasons(), []);

  t.provider.setInstance("n1", { addresses: [int("10.0.0.1")] });
  await t.clock.advance(30_000);
  await flush();
  assert.deepEqual(t.recorder.reasons(), ["Synced"]);
  assert.equal(t.informer.get("n1")!.spec?.providerID, "fake://n1");
  stop.abort();
  await running;
});
