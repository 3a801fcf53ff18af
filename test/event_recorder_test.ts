/**
 * The event recorder against a real kube-apiserver: Events are created with the right shape, repeats are
 * aggregated by patching count and lastTimestamp, and nothing blocks or throws into callers.
 */
import assert from "node:assert/strict";
import type { JsonEvent } from "../provider/kube/json_types.ts";
import { coreV1EventSink, KubeEventRecorder } from "../provider/event_recorder.ts";
import { createNode, createService, startTestCluster } from "./harness/mod.ts";

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
