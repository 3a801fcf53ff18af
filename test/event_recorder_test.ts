/**
 * The event recorder against a real kube-apiserver: Events are created with the right shape, repeats are
 * aggregated by patching count and lastTimestamp, bursts about many objects are folded into a summary, and
 * nothing blocks or throws into callers.
 */
import assert from "node:assert/strict";
import type { JsonEvent } from "../provider/kube/json_types.ts";
import { coreV1EventSink, KubeEventRecorder } from "../provider/event_recorder.ts";
import { createNode, createService, startTestCluster, waitFor } from "./harness/mod.ts";

Deno.test("KubeEventRecorder records and aggregates core/v1 Events on a real API server", async () => {
  await using cluster = await startTestCluster();
  const kube = cluster.clients;
  const node = await createNode(kube, "event-node");
  const service = await createService(kube, { name: "web" });
  const recorder = new KubeEventRecorder({
    sink: coreV1EventSink(kube.core),
    component: "ccm-test",
    host: "host-a",
  });

  const nodeEvents = recorder.forComponent("cloud-node-lifecycle-controller");
  for (let i = 0; i < 3; i++) {
    nodeEvents.event(node, "Warning", "DeletingNodeFailed", "Error deleting node: boom");
  }
  await recorder.flush();
  nodeEvents.event(node, "Warning", "DeletingNodeFailed", "Error deleting node: boom");
  recorder.forComponent("service-lb-controller").warn(
    service,
    "SyncLoadBalancerFailed",
    "Error syncing load balancer: x",
  );
  await recorder.flush();

  const nodeList = await kube.core.listNamespacedEvent({
    namespace: "default",
    fieldSelector: "involvedObject.kind=Node,involvedObject.name=event-node",
  });
  assert.equal(nodeList.items.length, 1, "repeats aggregated into one Event");
  const event = nodeList.items[0] as JsonEvent;
  assert.equal(event.count, 4);
  assert.equal(event.type, "Warning");
  assert.equal(event.reason, "DeletingNodeFailed");
  assert.equal(event.source?.component, "cloud-node-lifecycle-controller");
  assert.equal(event.source?.host, "host-a");
  assert.equal(event.involvedObject.uid, node.metadata?.uid);
  assert.ok(event.lastTimestamp! >= event.firstTimestamp!);

  const serviceList = await kube.core.listNamespacedEvent({
    namespace: "default",
    fieldSelector: "involvedObject.kind=Service,involvedObject.name=web",
  });
  assert.equal(serviceList.items.length, 1);
  assert.equal(serviceList.items[0]?.reason, "SyncLoadBalancerFailed");
  assert.equal(serviceList.items[0]?.involvedObject.namespace, "default");
  await recorder.close();
});

Deno.test("KubeEventRecorder drops Events the API server rejects without throwing", async () => {
  await using cluster = await startTestCluster();
  const recorder = new KubeEventRecorder({
    sink: coreV1EventSink(cluster.clients.core),
    component: "ccm-test",
  });
  // A Service in a namespace that does not exist: the Event cannot be created there.
  recorder.event({ metadata: { name: "x", namespace: "no-such-ns", uid: "u" } }, "Normal", "Test", "m");
  await recorder.flush();
  const list = await cluster.clients.core.listEventForAllNamespaces({ fieldSelector: "reason=Test" });
  assert.equal(list.items.length, 0);
  await recorder.close();
});

Deno.test("KubeEventRecorder folds a burst of Synced Events into a summary the API server takes", async () => {
  await using cluster = await startTestCluster();
  const kube = cluster.clients;
  const recorder = new KubeEventRecorder({
    sink: coreV1EventSink(kube.core),
    component: "ccm-test",
    fold: { burst: 5, intervalMs: 200 },
  });
  const names = Array.from({ length: 40 }, (_, i) => `burst-node-${String(i).padStart(2, "0")}`);
  const nodeEvents = recorder.forComponent("cloud-node-controller");
  for (const name of names) {
    nodeEvents.event(
      { metadata: { name, uid: `uid-${name}` } },
      "Normal",
      "Synced",
      "Node synced successfully",
    );
  }
  // The summary is written when its interval is over, not at flush().
  const list = await waitFor(async () => {
    const { items } = await kube.core.listNamespacedEvent({
      namespace: "default",
      fieldSelector: "reason=Synced",
    });
    return items.length === 6 ? items as JsonEvent[] : undefined;
  }, { message: "5 Events and one summary" });
  const [summary, ...more] = list.filter((e) => e.count !== 1);
  assert.deepEqual(more, []);
  assert.deepEqual(
    list.filter((e) => e.count === 1).map((e) => e.involvedObject.name).sort(),
    names.slice(0, 5),
  );
  assert.ok(summary);
  assert.equal(summary.count, 35);
  assert.equal(summary.type, "Normal");
  assert.equal(summary.involvedObject.name, "burst-node-39");
  assert.equal(summary.involvedObject.kind, "Node");
  assert.equal(summary.message, `Node synced successfully (35 Nodes: ${names.slice(5).join(", ")})`);
  await recorder.close();
});
