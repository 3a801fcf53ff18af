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
