import assert from "node:assert/strict";
import type { V1Node } from "@kubernetes/client-node";
import { FakeClock, settle } from "../../util/clock.ts";
import { FakeInformer } from "../testing/fake_informer.ts";
import { FakeProvider } from "../testing/fake_provider.ts";
import { apiError, FakeNodeWriter } from "../testing/fake_writers.ts";
import { RecordingRecorder } from "../testing/recording_recorder.ts";
import { CloudNodeLifecycleController } from "./cloud_node_lifecycle.ts";

const SHUTDOWN = { key: "node.cloudprovider.kubernetes.io/shutdown", effect: "NoSchedule" };

function node(name: string, ready: boolean, taints: V1Node["spec"] = {}): V1Node {
  return {
    metadata: { name, uid: `uid-${name}`, resourceVersion: "5" },
    spec: { providerID: `fake://${name}`, ...taints },
    status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  };
}

function setup(nodes: V1Node[]) {
  const informer = new FakeInformer<V1Node>(nodes);
  const writer = new FakeNodeWriter(informer);
  const provider = new FakeProvider();
  const recorder = new RecordingRecorder();
  const clock = new FakeClock();
  const controller = new CloudNodeLifecycleController({
    instances: provider.instances,
    nodes: informer,
    writer,
    recorder,
    periodMs: 5_000,
    clock,
  });
  return { informer, writer, provider, recorder, controller, clock };
}

Deno.test("monitorNodes() deletes a NotReady node whose instance is gone, Event first, with a uid precondition", async () => {
  const t = setup([node("gone", false), node("ready", true)]);
  await t.controller.monitorNodes();
  assert.equal(t.informer.get("gone"), undefined);
  assert.ok(t.informer.get("ready"));
  assert.deepEqual(t.writer.writes, [{ verb: "delete", key: "gone", body: "uid-gone" }]);
  assert.deepEqual(t.recorder.events, [{
    object: "gone",
    type: "Normal",
    reason: "DeletingNode",
    message: "Deleting node gone because it does not exist in the cloud provider",
  }]);
});

Deno.test("monitorNodes() records DeletingNodeFailed when the delete fails", async () => {
  const t = setup([node("gone", false)]);
  t.writer.failNext.push(apiError(403, 'nodes "gone" is forbidden'));
  await t.controller.monitorNodes();
  assert.deepEqual(t.recorder.reasons(), ["DeletingNode", "DeletingNodeFailed"]);
  assert.match(t.recorder.events[1]!.message, /forbidden/);
});

Deno.test("monitorNodes() never deletes when the provider errors, and warns at most once per interval", async () => {
  const t = setup([node("n1", false)]);
  t.provider.fail("instanceExists", new Error("Metal API returned 503"));
  await t.controller.monitorNodes();
  await t.clock.advance(5_000);
  await t.controller.monitorNodes();
  assert.ok(t.informer.get("n1"));
  assert.deepEqual(t.writer.writes, []);
  assert.deepEqual(t.recorder.reasons(), ["InstanceCheckFailed"]);
  assert.match(
    t.recorder.events[0]!.message,
    /Kept NotReady node n1: .*could not tell whether its instance exists: Metal API returned 503/,
  );
  await t.clock.advance(600_000);
  await t.controller.monitorNodes();
  assert.deepEqual(t.recorder.reasons(), ["InstanceCheckFailed", "InstanceCheckFailed"]);
});

Deno.test("monitorNodes() keeps a NotReady node not initialized yet without a Warning when the provider errors", async () => {
  const uninitialized = {
    key: "node.cloudprovider.kubernetes.io/uninitialized",
    value: "true",
    effect: "NoSchedule",
  };
  const joining = node("joining", false, { taints: [uninitialized] }); // registered NotReady, no providerID yet
  delete joining.spec!.providerID;
  const t = setup([joining]);
  t.provider.fail("instanceExists", new Error("providerID cannot be empty string"));
  await t.controller.monitorNodes();
  assert.ok(t.informer.get("joining"));
  assert.deepEqual(t.writer.writes, []);
  assert.deepEqual(t.recorder.events, [], "the cloud node controller reports its own init failures");
  assert.equal(t.provider.callsOf("instanceExists").length, 1, "still checked, as upstream");
});

Deno.test("monitorNodes() taints a shut-down node and untaints it once Ready, keeping other taints", async () => {
  const other = { key: "dedicated", value: "db", effect: "NoSchedule" };
  const t = setup([node("n1", false, { taints: [other] })]);
  t.provider.setInstance("n1", { shutdown: true });
  await t.controller.monitorNodes();
  assert.deepEqual(t.informer.get("n1")!.spec?.taints, [other, SHUTDOWN]);
  await t.controller.monitorNodes();
  assert.equal(t.writer.writes.length, 1, "already tainted: no second patch");

  t.informer.upsert({
    ...t.informer.get("n1")!,
    status: { conditions: [{ type: "Ready", status: "True" }] },
  });
  await t.controller.monitorNodes();
  assert.deepEqual(t.informer.get("n1")!.spec?.taints, [other]);
});

Deno.test("monitorNodes() leaves a NotReady running node alone", async () => {
  const t = setup([node("n1", false)]);
  t.provider.setInstance("n1", {});
  await t.controller.monitorNodes();
  assert.deepEqual(t.writer.writes, []);
  assert.deepEqual(t.recorder.events, []);
});

Deno.test("run() checks every period until stopped", async () => {
  const t = setup([node("n1", false)]);
  t.provider.setInstance("n1", {});
  const stop = new AbortController();
  const running = t.controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
  await settle();
  await t.clock.advance(5_000);
  await t.clock.advance(5_000);
  assert.equal(t.provider.callsOf("instanceExists").length, 3);
  stop.abort();
  await running;
});
