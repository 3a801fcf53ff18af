/**
 * The control-plane endpoint loop with in-memory informers, Metal API, health checks and Kubernetes writes,
 * on a fake clock. The same behaviour against a real kube-apiserver and the simulator is in
 * test/control_plane_*_test.ts.
 */
import assert from "node:assert/strict";
import type { V1EndpointSlice, V1Node, V1Service } from "@kubernetes/client-node";
import { type Gauge, Registry } from "prom-client";
import { FakeClock, settle } from "../../util/clock.ts";
import { apiTime, FakeInformerFactory, RecordingRecorder } from "../../provider/testing/mod.ts";
import { PATHS } from "../../fake_api/app.ts";
import { createTestApi, TEST_API_KEY, TEST_PROJECT_ID } from "../../fake_api/testing.ts";
import { captureLogs } from "../../util/log.ts";
import { LBAAS_PROVIDER_ID, locationIdFor } from "../emlb/locations.ts";
import { ControlPlaneEndpointController, type ControlPlaneTiming } from "./controller.ts";
import { createLbaasClient } from "../emlb/client_factory.ts";
import type { ControlPlaneLbaas } from "./load_balancer_pool.ts";
import { CONTROL_PLANE_METRIC_NAMES } from "./metrics.ts";
import { FakeControlPlaneKube, FakeEipMetal, FakeProber } from "./testing.ts";

const T0 = Date.UTC(2026, 0, 1);
const EIP = "203.0.113.10";
const TAG = "cluster-api-provider-packet:cluster-id:test";
const SERVICE = "kube-system/cloud-provider-equinix-metal-kubernetes-external";
const PERIOD = 10_000;

function cpNode(name: string, fields: { unschedulable?: boolean; addresses?: string[] } = {}): V1Node {
  const n = Number(name.replace(/\D/g, ""));
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      labels: { "node-role.kubernetes.io/control-plane": "" },
      creationTimestamp: apiTime(T0 + n * 1000),
    },
    spec: { providerID: `equinixmetal://dev-${name}`, unschedulable: fields.unschedulable },
    status: {
      addresses: (fields.addresses ?? [`10.0.0.${n}`]).map((address) => ({ type: "ExternalIP", address })),
    },
  };
}

const url = (address: string, port = 6443) => `https://${address}:${port}/healthz`;

const kubernetesService: V1Service = {
  metadata: { namespace: "default", name: "kubernetes" },
  spec: { ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }] },
};

function slice(namespace: string, name: string, service: string, ip: string): V1EndpointSlice {
  return {
    addressType: "IPv4",
    metadata: { namespace, name, labels: { "kubernetes.io/service-name": service } },
    endpoints: [{ addresses: [ip], conditions: { ready: true } }],
    ports: [{ name: "https", port: 6443, protocol: "TCP" }],
  };
}

/** Lets the loop run until it waits for the clock again. */
async function idle(clock: FakeClock): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await settle();
    if (clock.pendingSleeps > 0) return;
  }
  throw new Error("the control-plane loop never went idle");
}

interface SetupOptions {
  holders?: string[];
  useHostIp?: boolean;
  timing?: Partial<ControlPlaneTiming>;
  /** Health answers before the first pass. */
  answers?: Record<string, boolean | string>;
  /** `false` disables EIP management. */
  eip?: boolean;
  loadBalancer?: { id: string; client: ControlPlaneLbaas };
  apiServerPort?: number;
  /** Reservations to create instead of the tagged EIP. */
  noReservation?: boolean;
  /** Services in the cluster before the first pass. */
  services?: V1Service[];
}

async function setup(o: SetupOptions = {}) {
  const clock = new FakeClock(T0);
  const informers = new FakeInformerFactory();
  for (const n of ["cp1", "cp2", "cp3"]) informers.nodeInformer.upsert(cpNode(n));
  informers.nodeInformer.upsert({
    metadata: { name: "worker1" },
    spec: { providerID: "equinixmetal://dev-w" },
  });
  informers.serviceInformer.upsert(kubernetesService);
  for (const svc of o.services ?? []) informers.serviceInformer.upsert(svc);
  informers.endpointSliceInformer.upsert(slice("default", "kubernetes", "kubernetes", "10.0.0.1"));
  informers.endpointSliceInformer.upsert(slice("default", "web-abc", "web", "10.9.9.9"));
  const metal = new FakeEipMetal();
  metal.reserve("198.51.100.7", ["some-service-eip"]);
  if (!o.noReservation) metal.reserve(EIP, [TAG], (o.holders ?? ["cp1"]).map((h) => `dev-${h}`));
  const prober = new FakeProber();
  for (const [u, answer] of Object.entries(o.answers ?? {})) prober.answers.set(u, answer);
  const kube = new FakeControlPlaneKube({
    services: informers.serviceInformer,
    slices: informers.endpointSliceInformer,
  });
  const recorder = new RecordingRecorder();
  const registry = new Registry();
  const controller = new ControlPlaneEndpointController({
    eip: o.eip === false
      ? undefined
      : { tag: TAG, projectId: "project-1", useHostIp: o.useHostIp ?? true, metal },
    loadBalancer: o.loadBalancer,
    apiServerPort: o.apiServerPort ?? 0,
    informers,
    kube,
    prober,
    recorder,
    metrics: registry,
    clock,
    timing: { periodMs: PERIOD, failureThreshold: 2, eventDelayMs: 100, ...o.timing },
  });
  const stop = new AbortController();
  const running = controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
  await idle(clock);
  return {
    clock,
    informers,
    metal,
    prober,
    kube,
    recorder,
    registry,
    /** Advances by `ms` (one period by default) and waits for the loop to idle. */
    async advance(ms = PERIOD) {
      await settle(); // lets watch handlers schedule their pass first
      await clock.advance(ms);
      await idle(clock);
    },
    async [Symbol.asyncDispose]() {
      stop.abort();
      await running;
    },
  };
}

async function holderMetric(registry: Registry): Promise<string[]> {
  const gauge = registry.getSingleMetric(CONTROL_PLANE_METRIC_NAMES.eipHolder) as Gauge;
  return (await gauge.get()).values.filter((v) => v.value === 1).map((v) =>
    `${v.labels.node} ${v.labels.address}`
  );
}

Deno.test("a new leader adopts the current healthy holder instead of moving the EIP", async () => {
  await using t = await setup({ holders: ["cp2"] });
  await t.advance();
  assert.deepEqual(t.metal.calls.filter((c) => !c.startsWith("get") && c !== "list"), []);
  assert.deepEqual(t.metal.holders(EIP), ["dev-cp2"]);
  assert.deepEqual(await holderMetric(t.registry), [`cp2 ${EIP}`]);
  assert.deepEqual(t.recorder.events, []);
  await t.advance();
  assert.deepEqual(
    t.metal.calls,
    ["list", "get res-2", "get res-2"],
    "listed once, then read by id",
  );
});

Deno.test("the EIP moves only after consecutive failures, to the oldest healthy node", async () => {
  await using t = await setup({ holders: ["cp2"] });
  t.prober.answers.set(url("10.0.0.2"), "HTTP 500");
  await t.advance();
  assert.deepEqual(t.metal.holders(EIP), ["dev-cp2"], "one failure is not enough");
  await t.advance();
  assert.deepEqual(t.metal.holders(EIP), ["dev-cp1"]);
  assert.deepEqual(t.metal.calls.filter((c) => c.startsWith("assign") || c.startsWith("unassign")), [
    "unassign asg-3",
    "assign dev-cp1",
  ]);
  assert.deepEqual(t.recorder.reasons(), Array(3).fill("ControlPlaneEIPMoved"));
  assert.deepEqual(t.recorder.events.map((e) => e.object), [SERVICE, "cp1", "cp2"]);
  assert.match(
    t.recorder.events[0]!.message,
    /^Moved control-plane elastic IP 203\.0\.113\.10 from cp2 to node cp1: node cp2 failed 2 consecutive health checks \(HTTP 500 from https:\/\/10\.0\.0\.2:6443\/healthz\)$/,
  );
  assert.deepEqual(await holderMetric(t.registry), [`cp1 ${EIP}`]);
  const failovers = await t.registry.getSingleMetric(CONTROL_PLANE_METRIC_NAMES.failovers)!.get();
  assert.deepEqual(failovers.values.map((v) => [v.labels.cause, v.value]), [["unhealthy", 1]]);
});

Deno.test("a recovered holder keeps the EIP (no flapping on a single failure)", async () => {
  await using t = await setup({ holders: ["cp1"] });
  for (let i = 0; i < 4; i++) {
    t.prober.answers.set(url("10.0.0.1"), i % 2 === 0 ? "HTTP 500" : true);
    await t.advance();
  }
  assert.deepEqual(t.metal.holders(EIP), ["dev-cp1"]);
  assert.deepEqual(t.recorder.events, []);
});

Deno.test("cordoning or deleting the holder moves the EIP at once, without waiting for the period", async () => {
  await using t = await setup({ holders: ["cp1"] });
  t.informers.nodeInformer.upsert(cpNode("cp1", { unschedulable: true }));
  await t.advance(100);
  assert.deepEqual(t.metal.holders(EIP), ["dev-cp2"]);
  assert.match(t.recorder.events[0]!.message, /from cp1 to node cp2: node cp1 is cordoned$/);

  t.informers.nodeInformer.remove("cp2");
  await t.advance(100);
  assert.deepEqual(t.metal.holders(EIP), ["dev-cp3"], "the cordoned cp1 is not preferred");
  assert.match(
    t.recorder.events.at(-1)!.message,
    /from device dev-cp2 to node cp3: device dev-cp2 holding it is not a control-plane node$/,
  );
});

Deno.test("with every node unhealthy the EIP stays and one Warning says why", async () => {
  await using t = await setup({ holders: ["cp1"] });
  for (const n of [1, 2, 3]) t.prober.answers.set(url(`10.0.0.${n}`), "connection refused");
  for (let i = 0; i < 4; i++) await t.advance();
  assert.deepEqual(t.metal.holders(EIP), ["dev-cp1"]);
  assert.deepEqual(t.recorder.events.map((e) => `${e.type} ${e.reason} ${e.object}`), [
    `Warning ControlPlaneEIPUnhealthy ${SERVICE}`,
    "Warning ControlPlaneEIPUnhealthy cp1",
  ]);
  assert.equal(
    t.recorder.events[0]!.message,
    `Control-plane elastic IP ${EIP} stays on node cp1: node cp1 failed 2 consecutive health checks ` +
      "(connection refused from https://10.0.0.1:6443/healthz), but no healthy control-plane node can take it " +
      "(cp2: connection refused from https://10.0.0.2:6443/healthz; cp3: connection refused from " +
      "https://10.0.0.3:6443/healthz)",
  );
  t.prober.answers.set(url("10.0.0.3"), true);
  await t.advance();
  assert.deepEqual(t.metal.holders(EIP), ["dev-cp3"], "moves as soon as a node is healthy again");
});

Deno.test("an unassigned EIP is assigned to the best node", async () => {
  await using t = await setup({ holders: [] });
  assert.deepEqual(t.metal.holders(EIP), ["dev-cp1"], "on the first pass");
  assert.deepEqual(t.recorder.reasons(), Array(2).fill("ControlPlaneEIPAssigned"));
});

Deno.test("more than one assignment is repaired, keeping the healthy holder", async () => {
  await using t = await setup({ holders: ["cp1", "cp2"], answers: { [url("10.0.0.1")]: "HTTP 500" } });
  assert.deepEqual(t.metal.holders(EIP), ["dev-cp2"], "cp1 is older but did not answer");
  assert.deepEqual(t.recorder.reasons(SERVICE), ["ControlPlaneEIPRepaired"]);
  assert.match(
    t.recorder.events[0]!.message,
    /it has 2 assignments \(cp1, cp2\); kept node cp2, the healthy one$/,
  );
  await t.advance();
  assert.equal(t.recorder.events.length, 2, "repaired once");
});

Deno.test("without USE_HOST_IP the holder is judged through the EIP, after a settling time", async () => {
  await using t = await setup({
    holders: ["cp1"],
    useHostIp: false,
    timing: { eipSettleMs: 25_000 },
    answers: { [url(EIP)]: "HTTP 503" },
  });
  assert.ok(t.prober.probed.includes(url(EIP)), "the holder is checked through the EIP");
  assert.ok(t.prober.probed.includes(url("10.0.0.1")), "and every node on its own address");
  await t.advance();
  assert.deepEqual(
    t.metal.holders(EIP),
    ["dev-cp2"],
    "the EIP path failed twice although cp1 itself answers",
  );
  t.prober.probed.length = 0;
  await t.advance();
  await t.advance();
  assert.ok(!t.prober.probed.includes(url(EIP)), "the new holder's EIP path is not judged while it settles");
  assert.deepEqual(t.metal.holders(EIP), ["dev-cp2"]);
  t.prober.answers.delete(url(EIP));
  await t.advance();
  assert.ok(t.prober.probed.includes(url(EIP)));
  assert.deepEqual(t.metal.holders(EIP), ["dev-cp2"]);
});

Deno.test("the external Service and EndpointSlice mirror default/kubernetes only, applied once", async () => {
  await using t = await setup({ holders: ["cp1"] });
  await t.advance();
  await t.advance();
  assert.deepEqual(t.kube.applied, ["service", "service/status", "endpointslice"]);
  const svc = t.informers.serviceInformer.get(SERVICE)!;
  assert.equal(svc.spec?.loadBalancerIP, EIP);
  assert.deepEqual(svc.status?.loadBalancer?.ingress, [{ ip: EIP }]);
  const mirrored = t.informers.endpointSliceInformer.get(SERVICE)!;
  assert.deepEqual(
    mirrored.endpoints?.map((e) => e.addresses),
    [["10.0.0.1"]],
    "the web slice is not mirrored",
  );

  t.informers.endpointSliceInformer.upsert(slice("default", "web-abc", "web", "10.9.9.8"));
  await t.advance(100);
  assert.equal(t.kube.applied.length, 3, "another slice in default changes nothing");
  t.informers.endpointSliceInformer.upsert(slice("default", "kubernetes", "kubernetes", "10.0.0.2"));
  await t.advance(100);
  assert.deepEqual(t.kube.applied.slice(3), ["endpointslice"]);
  assert.deepEqual(t.informers.endpointSliceInformer.get(SERVICE)!.endpoints?.map((e) => e.addresses), [[
    "10.0.0.2",
  ]]);
});

Deno.test("an external Service without the load balancer class is deleted and created again with it", async () => {
  // As ccm before the class wrote it; the class cannot be added to a LoadBalancer Service in place.
  const old: V1Service = {
    metadata: { namespace: "kube-system", name: SERVICE.split("/")[1], uid: "old-uid" },
    spec: { type: "LoadBalancer", loadBalancerIP: EIP, ports: [{ port: 443, protocol: "TCP" }] },
    status: { loadBalancer: { ingress: [{ ip: EIP }] } },
  };
  await using t = await setup({ holders: ["cp1"], services: [old] });
  await t.advance();
  await t.advance();
  assert.deepEqual(t.kube.applied, ["delete service", "service", "service/status", "endpointslice"]);
  const svc = t.informers.serviceInformer.get(SERVICE)!;
  assert.equal(svc.spec?.loadBalancerClass, "metal.equinix.com/control-plane-eip");
  assert.deepEqual(svc.status?.loadBalancer?.ingress, [{ ip: EIP }]);
  await t.advance();
  assert.equal(t.kube.applied.length, 4, "nothing more once it has the class");
});

Deno.test("a status another controller keeps undoing is rewritten with a growing backoff and a warning", async () => {
  await using logs = await captureLogs();
  await using t = await setup({ holders: ["cp1"] });
  await t.advance();
  const statusWrites = () => t.kube.applied.filter((a) => a === "service/status").length;
  assert.equal(statusWrites(), 1);
  // Another load balancer controller clears the ingress 4 times a second for 30 s.
  for (let i = 0; i < 120; i++) {
    const live = t.informers.serviceInformer.get(SERVICE)!;
    if (live.status?.loadBalancer?.ingress?.length) {
      t.informers.serviceInformer.upsert({
        ...live,
        metadata: {
          ...live.metadata,
          managedFields: [{ manager: "metallb-controller", operation: "Update", subresource: "status" }],
        },
        status: { loadBalancer: {} },
      });
    }
    await t.advance(250);
  }
  // Without the backoff: one write per clearing (about 120). With it: 1 s, 2 s, 4 s, 8 s, 16 s apart.
  const writes = statusWrites();
  assert.ok(writes >= 4 && writes <= 8, `status writes in 30 s of fighting: ${writes}`);
  const warnings = logs.records().filter((r) => r.level === "warning").map((r) => String(r.msg));
  assert.ok(warnings.length >= 1, "a warning");
  assert.match(warnings[0]!, /changed by another controller \("metallb-controller"\)|metallb-controller/);
  // Once the other controller stops, the status is set again and stays.
  await t.advance(300_000);
  assert.deepEqual(t.informers.serviceInformer.get(SERVICE)!.status?.loadBalancer?.ingress, [{ ip: EIP }]);
});

Deno.test("a missing EIP reservation is reported once, and nothing but the EndpointSlice is written", async () => {
  await using logs = await captureLogs();
  await using t = await setup({ noReservation: true });
  await t.advance();
  await t.advance();
  assert.deepEqual(t.kube.applied, ["endpointslice"]);
  const warnings = logs.records().filter((r) => r.level === "warning").map((r) => String(r.msg));
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0]!,
    /reservation failed.*No IP reservation in project "project-1" has the tag ".*"; reserve an elastic IP/,
  );
  t.metal.reserve(EIP, [TAG]);
  await t.advance();
  assert.deepEqual(t.metal.holders(EIP), ["dev-cp1"], "found and assigned once it exists");
  assert.ok(logs.records().some((r) => r.msg === "Control-plane endpoint reservation recovered"));
});

Deno.test("an unresolvable API server port stops health checks and says how to fix it", async () => {
  await using logs = await captureLogs();
  await using t = await setup({});
  t.informers.serviceInformer.upsert({
    ...kubernetesService,
    spec: { ports: [{ name: "https", port: 443, targetPort: "secure" }] },
  });
  t.informers.endpointSliceInformer.remove("default/kubernetes");
  t.prober.probed.length = 0;
  await t.advance();
  assert.deepEqual(t.prober.probed, []);
  assert.match(
    logs.text(),
    /Named target port \\"secure\\" of Service default\/kubernetes is not resolved.*METAL_API_SERVER_PORT/,
  );
});

Deno.test("the control-plane load balancer pool follows the healthy nodes", async () => {
  const api = await createTestApi();
  const client = createLbaasClient({
    projectId: TEST_PROJECT_ID,
    apiKey: TEST_API_KEY,
    lbaasUrl: `http://fake.test${PATHS.lbaas}`,
    tokenExchangeUrl: `http://fake.test${PATHS.tokenExchange}`,
    fetch: (req) => Promise.resolve(api.app.fetch(req)),
  });
  const id = await client.createLoadBalancer({
    name: "cp",
    locationId: locationIdFor("da"),
    providerId: LBAAS_PROVIDER_ID,
  });
  const origins = () => [...api.store.lbOrigins.values()].map((o) => `${o.target}:${o.portNumber}`).sort();
  await using t = await setup({ eip: false, loadBalancer: { id, client }, apiServerPort: 7443 });
  assert.deepEqual(origins(), ["10.0.0.1:7443", "10.0.0.2:7443", "10.0.0.3:7443"]);
  t.prober.answers.set(url("10.0.0.2", 7443), "HTTP 500");
  await t.advance();
  assert.deepEqual(origins().length, 3, "one failure keeps the node in the pool");
  await t.advance();
  assert.deepEqual(origins(), ["10.0.0.1:7443", "10.0.0.3:7443"]);
  t.informers.nodeInformer.upsert(cpNode("cp3", { unschedulable: true }));
  await t.advance(100);
  assert.deepEqual(origins(), ["10.0.0.1:7443"], "cordoned nodes leave while another is healthy");
  t.prober.answers.set(url("10.0.0.1", 7443), "HTTP 500");
  await t.advance();
  await t.advance();
  assert.deepEqual(origins(), ["10.0.0.3:7443"], "a cordoned node is better than none");
  t.prober.answers.set(url("10.0.0.3", 7443), "HTTP 500");
  await t.advance();
  await t.advance();
  assert.deepEqual(origins(), ["10.0.0.3:7443"], "with nobody healthy the pool is left alone");
  t.prober.answers.clear();
  await t.advance();
  assert.deepEqual(origins(), ["10.0.0.1:7443", "10.0.0.2:7443"]);
  assert.deepEqual(t.kube.applied, [], "no Service is made for the load balancer");
  const gauge = await t.registry.getSingleMetric(CONTROL_PLANE_METRIC_NAMES.lbOrigins)!.get();
  assert.equal(gauge.values[0]?.value, 2);
});

Deno.test("with both METAL_EIP_TAG and METAL_LOAD_BALANCER_ID one set of health checks drives both", async () => {
  const api = await createTestApi();
  const client = createLbaasClient({
    projectId: TEST_PROJECT_ID,
    apiKey: TEST_API_KEY,
    lbaasUrl: `http://fake.test${PATHS.lbaas}`,
    tokenExchangeUrl: `http://fake.test${PATHS.tokenExchange}`,
    fetch: (req) => Promise.resolve(api.app.fetch(req)),
  });
  const id = await client.createLoadBalancer({
    name: "cp",
    locationId: locationIdFor("da"),
    providerId: LBAAS_PROVIDER_ID,
  });
  const origins = () => [...api.store.lbOrigins.values()].map((o) => o.target).sort();
  await using t = await setup({ holders: ["cp1"], loadBalancer: { id, client } });
  assert.deepEqual(origins(), ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
  t.prober.probed.length = 0;
  t.prober.answers.set(url("10.0.0.1"), "HTTP 500");
  await t.advance();
  await t.advance();
  assert.deepEqual(t.metal.holders(EIP), ["dev-cp2"]);
  assert.deepEqual(origins(), ["10.0.0.2", "10.0.0.3"]);
  assert.equal(
    t.prober.probed.filter((u) => u === url("10.0.0.1")).length,
    2,
    "each node checked once a period",
  );
  assert.deepEqual(t.kube.applied, ["service", "service/status", "endpointslice"]);
});
