import { deepEqual, equal, match, notEqual, rejects } from "node:assert/strict";
import type { V1LoadBalancerStatus, V1Node } from "@kubernetes/client-node";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { Registry } from "prom-client";
import { parseLabelSelector } from "../../util/label_selector.ts";
import { FakeInformer, FakeNodeWriter, RecordingRecorder } from "../../provider/testing/mod.ts";
import { InstantClock } from "../api/testing.ts";
import type { AnnotationTemplates } from "../bgp/annotations.ts";
import { BgpNodeManager } from "../bgp/node_bgp.ts";
import { type EipLocationSettings, ElasticIps, LATE_RESERVE_RECHECK_MS } from "./eip.ts";
import { ElasticIpLoadBalancer } from "./elastic_ip_load_balancer.ts";
import { EmlbLoadBalancer } from "./emlb_load_balancer.ts";
import type {
  AddServiceRequest,
  IngressOwningImplementation,
  LoadBalancerImplementation,
  RemoveServiceRequest,
  UpdateServiceRequest,
} from "./implementation.ts";
import { ReservationCache } from "./reservation_cache.ts";
import { type ExposureMode, KUBE_VIP_IPS_ANNOTATION, METALLB_POOL_ANNOTATION } from "./service_ip.ts";
import { EXTERNAL_SERVICE_NAME, EXTERNAL_SERVICE_NAMESPACE } from "../control_plane/names.ts";
import { serviceTags, USAGE_TAG } from "./tags.ts";
import { makeNode, makeService, simulatedMetal } from "../testing.ts";
import { FakeServicePatcher } from "./testing.ts";

const CLUSTER = "cluster-uid-1";
const templates: AnnotationTemplates = {
  localAsn: "metal.equinix.com/bgp-peers-{{n}}-node-asn",
  peerAsn: "metal.equinix.com/bgp-peers-{{n}}-peer-asn",
  peerIp: "metal.equinix.com/bgp-peers-{{n}}-peer-ip",
  srcIp: "metal.equinix.com/bgp-peers-{{n}}-src-ip",
  bgpPass: "metal.equinix.com/bgp-peers-{{n}}-bgp-pass",
  networkIpv4Private: "metal.equinix.com/network-4-private",
};

/** An implementation that records calls and can be told to fail. */
class RecordingImplementation implements LoadBalancerImplementation {
  readonly name = "recording";
  calls: { op: string; req: AddServiceRequest | UpdateServiceRequest | RemoveServiceRequest }[] = [];
  fail: Error | undefined;
  status: { ingress: { ip: string }[] } | undefined;
  addService(req: AddServiceRequest): Promise<V1LoadBalancerStatus | undefined> {
    this.calls.push({ op: "add", req });
    return this.fail ? Promise.reject(this.fail) : Promise.resolve(this.status);
  }
  updateService(req: UpdateServiceRequest) {
    this.calls.push({ op: "update", req });
    return this.fail ? Promise.reject(this.fail) : Promise.resolve();
  }
  removeService(req: RemoveServiceRequest) {
    this.calls.push({ op: "remove", req });
    return this.fail ? Promise.reject(this.fail) : Promise.resolve();
  }
}

/** The same, owning the ingress as EMLB does. */
class RecordingIngressImplementation extends RecordingImplementation implements IngressOwningImplementation {
  override async addService(req: AddServiceRequest): Promise<V1LoadBalancerStatus> {
    return await super.addService(req) ?? {};
  }
  getLoadBalancer() {
    return Promise.resolve({ exists: false });
  }
}

interface SetupOptions {
  exposure?: ExposureMode;
  location?: Partial<EipLocationSettings>;
  eipTag?: string;
  controlPlaneLoadBalancerId?: string;
  selector?: string;
  /** Build the EMLB load balancer instead of the elastic IP one. */
  emlb?: boolean;
  /** Whether the elastic IP load balancer hands peers to the implementation (MetalLB); default true. */
  peers?: boolean;
  hostnames?: string[];
  reservations?: Parameters<typeof simulatedMetal>[0] extends infer O
    ? O extends { reservations?: infer R } ? R
    : never
    : never;
}

async function setup(options: SetupOptions = {}) {
  const hostnames = options.hostnames ?? ["node-a", "node-b"];
  const metal = await simulatedMetal({ hostnames, bgp: { asn: 65000 }, reservations: options.reservations });
  const nodeInformer = new FakeInformer<V1Node>(
    hostnames.map((h) => makeNode(h, metal.deviceIds[h], { labels: { bgp: h === "node-b" ? "no" : "yes" } })),
  );
  const nodeWriter = new FakeNodeWriter(nodeInformer);
  const recorder = new RecordingRecorder();
  const registry = new Registry();
  const clock = new InstantClock();
  const reservations = new ReservationCache({
    client: metal.client,
    projectId: metal.projectId,
    clock,
    metrics: registry,
  });
  const eips = new ElasticIps({
    reservations,
    clusterId: CLUSTER,
    location: {
      annotationEipMetro: "metal.equinix.com/eip-metro",
      annotationEipFacility: "metal.equinix.com/eip-facility",
      metro: "sv",
      facility: "",
      ...options.location,
    },
    recorder,
    metrics: registry,
  });
  const bgp = new BgpNodeManager({
    client: metal.client,
    projectId: metal.projectId,
    nodes: nodeWriter,
    templates,
    includePassword: true,
    recorder,
    clock,
  });
  const impl = options.emlb ? new RecordingIngressImplementation() : new RecordingImplementation();
  const services = new FakeServicePatcher();
  const shared = {
    clusterId: CLUSTER,
    nodeSelector: parseLabelSelector(options.selector ?? ""),
    eipTag: options.eipTag ?? "",
    controlPlaneLoadBalancerId: options.controlPlaneLoadBalancerId,
  };
  const lb = options.emlb
    ? new EmlbLoadBalancer({ ...shared, implementation: impl as RecordingIngressImplementation })
    : new ElasticIpLoadBalancer({
      ...shared,
      implementation: impl,
      eips,
      bgp,
      exposure: options.exposure ?? "none",
      peers: options.peers ?? true,
      services,
      recorder,
    });
  const nodes = () => nodeInformer.list();
  const reservationsOf = (namespace: string, name: string) =>
    [...metal.api.store.reservations.values()].filter((r) =>
      serviceTags(namespace, name, CLUSTER).every((t) => r.tags.includes(t))
    );
  return { metal, lb, impl, services, recorder, registry, nodes, nodeInformer, reservationsOf, eips };
}

Deno.test("two Services get distinct EIPs with upstream's tags, details, metro and type, and ingress status", async () => {
  const { lb, services, nodes, reservationsOf } = await setup();
  const a = services.put(makeService("default", "nginx"));
  const b = services.put(makeService("web", "api"));
  const statusA = await lb.ensureLoadBalancer("kubernetes", a, nodes());
  const statusB = await lb.ensureLoadBalancer("kubernetes", b, nodes());
  const [ra] = reservationsOf("default", "nginx");
  const [rb] = reservationsOf("web", "api");
  deepEqual(statusA, { ingress: [{ ip: ra!.network }] });
  deepEqual(statusB, { ingress: [{ ip: rb!.network }] });
  notEqual(ra!.network, rb!.network);
  deepEqual(ra!.tags, [
    "usage=cloud-provider-equinix-metal-auto",
    "service=l7RnKS8k48oG3Qv3Pxx8FzEMj3X3E5c8JPOIzyLWWdY=",
    `cluster=${CLUSTER}`,
  ]);
  equal(ra!.details, "Equinix Metal Kubernetes CCM auto-generated for Load Balancer");
  equal(ra!.type, "public_ipv4");
  equal(ra!.cidr, 32);
  equal(ra!.metro, "sv");
});

Deno.test("the implementation gets <ip>/<cidr>, the selected nodes' BGP peers and upstream's LB name", async () => {
  const { lb, impl, services, nodes, reservationsOf, metal } = await setup({ selector: "bgp=yes" });
  const svc = services.put(makeService("default", "nginx"));
  await lb.ensureLoadBalancer("kubernetes", svc, nodes());
  const [r] = reservationsOf("default", "nginx");
  const call = impl.calls[0]!;
  equal(call.op, "add");
  const req = call.req as AddServiceRequest;
  equal(req.ipCidr, `${r!.network}/32`);
  deepEqual(req.nodes.map((n) => n.metadata?.name), ["node-a"]);
  deepEqual(req.peers.map((p) => [p.nodeName, p.peerIPs]), [["node-a", ["169.254.255.1", "169.254.255.2"]]]);
  equal(
    req.loadBalancerName,
    `usage=cloud-provider-equinix-metal-auto:service=l7RnKS8k48oG3Qv3Pxx8FzEMj3X3E5c8JPOIzyLWWdY=:cluster=${CLUSTER}`,
  );
  equal(metal.api.store.sessionsOf(metal.deviceIds["node-b"]!).length, 0, "unselected node gets no session");
});

Deno.test("a reservation left by a crash between reserving and writing the status is reused, not duplicated", async () => {
  const { lb, services, nodes, metal, reservationsOf } = await setup();
  // The previous process reserved (with our tags) and died before the status was written.
  const earlier = await metal.client.createIpReservation(metal.projectId, {
    type: "public_ipv4",
    quantity: 1,
    metro: "sv",
    tags: serviceTags("default", "nginx", CLUSTER),
  });
  const svc = services.put(makeService("default", "nginx"));
  metal.mark();
  const status = await lb.ensureLoadBalancer("kubernetes", svc, nodes());
  deepEqual(status, { ingress: [{ ip: earlier.address }] });
  equal(reservationsOf("default", "nginx").length, 1);
  equal(metal.requests().filter((r) => r.startsWith("POST /projects")).length, 0);
});

Deno.test("100 Services cost one reservation list, not 100", async () => {
  const { lb, services, nodes, metal } = await setup({ hostnames: ["node-a"] });
  metal.mark();
  for (let i = 0; i < 100; i++) {
    await lb.ensureLoadBalancer("kubernetes", services.put(makeService("default", `svc-${i}`)), nodes());
  }
  const lists = metal.requests().filter((r) => r.startsWith(`GET /projects/${metal.projectId}/ips`));
  equal(lists.length, 1, lists.join("\n"));
  equal(metal.requests().filter((r) => r.startsWith(`POST /projects/${metal.projectId}/ips`)).length, 100);
});

Deno.test("BYO IP: no reservation, ingress is the user's IP, implementation configured and cleaned up (docs/upstream.md#byo-ip-services)", async () => {
  const { lb, impl, services, nodes, metal } = await setup({ exposure: "metallb-crd" });
  const svc = services.put(makeService("default", "byo", { loadBalancerIP: "203.0.113.7" }));
  metal.mark();
  const status = await lb.ensureLoadBalancer("kubernetes", svc, nodes());
  deepEqual(status, { ingress: [{ ip: "203.0.113.7" }] });
  equal(metal.requests().filter((r) => r.startsWith("POST /projects")).length, 0);
  equal((impl.calls[0]!.req as AddServiceRequest).ipCidr, "203.0.113.7/32");
  equal(services.get("default", "byo").metadata?.annotations?.[METALLB_POOL_ANNOTATION], "default.byo");
  deepEqual(await lb.getLoadBalancer("kubernetes", services.get("default", "byo")), {
    exists: true,
    status: { ingress: [{ ip: "203.0.113.7" }] },
  });
  await lb.ensureLoadBalancerDeleted("kubernetes", services.get("default", "byo"));
  equal(impl.calls.at(-1)!.op, "remove");
  equal((impl.calls.at(-1)!.req as RemoveServiceRequest).ipCidr, "203.0.113.7/32");
  equal(metal.requests().filter((r) => r.startsWith("DELETE")).length, 0);
  equal(services.get("default", "byo").spec?.loadBalancerIP, "203.0.113.7", "the user's IP is left alone");
  equal(services.get("default", "byo").metadata?.annotations?.[METALLB_POOL_ANNOTATION], undefined);
});

Deno.test("deletion releases the EIP only after the implementation cleanup succeeded (docs/upstream.md#release-after-cleanup)", async () => {
  const { lb, impl, services, nodes, reservationsOf } = await setup();
  const svc = services.put(makeService("default", "nginx"));
  await lb.ensureLoadBalancer("kubernetes", svc, nodes());
  const [r] = reservationsOf("default", "nginx");
  impl.fail = new Error("MetalLB is down");
  await rejects(lb.ensureLoadBalancerDeleted("kubernetes", svc), /MetalLB is down/);
  equal(reservationsOf("default", "nginx").length, 1, "kept while cleanup fails");
  impl.fail = undefined;
  await lb.ensureLoadBalancerDeleted("kubernetes", svc);
  equal(reservationsOf("default", "nginx").length, 0);
  const removes = impl.calls.filter((c) => c.op === "remove");
  equal(removes.length, 2);
  equal((removes[1]!.req as RemoveServiceRequest).ipCidr, `${r!.network}/32`, "the retry still knows the IP");
});

Deno.test("deleting one Service releases only its own EIP", async () => {
  const { lb, services, nodes, reservationsOf } = await setup();
  const a = services.put(makeService("default", "a"));
  const b = services.put(makeService("default", "b"));
  await lb.ensureLoadBalancer("kubernetes", a, nodes());
  await lb.ensureLoadBalancer("kubernetes", b, nodes());
  await lb.ensureLoadBalancerDeleted("kubernetes", a);
  equal(reservationsOf("default", "a").length, 0);
  equal(reservationsOf("default", "b").length, 1);
  deepEqual(await lb.getLoadBalancer("kubernetes", a), { exists: false });
});

Deno.test("kube-vip: the IP is in spec.loadBalancerIP and kube-vip.io/loadbalancerIPs; switching away and back gets a fresh one (kubernetes-sigs/cloud-provider-equinix-metal#206)", async () => {
  const { lb, services, nodes, reservationsOf } = await setup({ exposure: "kube-vip" });
  await lb.ensureLoadBalancer("kubernetes", services.put(makeService("default", "web")), nodes());
  const [first] = reservationsOf("default", "web");
  let svc = services.get("default", "web");
  equal(svc.spec?.loadBalancerIP, first!.network);
  equal(svc.metadata?.annotations?.[KUBE_VIP_IPS_ANNOTATION], first!.network);
  // A second sync with the written spec is ours, not BYO: nothing changes.
  const again = await lb.ensureLoadBalancer("kubernetes", svc, nodes());
  deepEqual(again, { ingress: [{ ip: first!.network }] });
  equal(reservationsOf("default", "web").length, 1);

  // LoadBalancer → ClusterIP: the service controller cleans up.
  svc = services.put({ ...services.get("default", "web"), spec: { ...svc.spec, type: "ClusterIP" } });
  await lb.ensureLoadBalancerDeleted("kubernetes", svc);
  svc = services.get("default", "web");
  equal(svc.spec?.loadBalancerIP, undefined);
  equal(svc.metadata?.annotations?.[KUBE_VIP_IPS_ANNOTATION], undefined);
  equal(reservationsOf("default", "web").length, 0);

  // ... and back: a fresh reservation, visible again.
  svc = services.put({ ...svc, spec: { ...svc.spec, type: "LoadBalancer" } });
  const status = await lb.ensureLoadBalancer("kubernetes", svc, nodes());
  const [second] = reservationsOf("default", "web");
  notEqual(second!.id, first!.id);
  deepEqual(status, { ingress: [{ ip: second!.network }] });
  equal(services.get("default", "web").spec?.loadBalancerIP, second!.network);
});

Deno.test("implementations without peers (kube-vip, empty): a Service sync makes no BGP call and waits for no node", async () => {
  const { lb, impl, metal, services, nodes, reservationsOf } = await setup({ peers: false });
  metal.mark();
  const status = await lb.ensureLoadBalancer(
    "kubernetes",
    services.put(makeService("default", "web")),
    nodes(),
  );
  await lb.updateLoadBalancer("kubernetes", services.get("default", "web"), nodes());
  deepEqual(status, { ingress: [{ ip: reservationsOf("default", "web")[0]!.network }] });
  deepEqual(metal.requests().filter((r) => r.includes("/devices/")), []);
  deepEqual(impl.calls.map((c) => [c.op, (c.req as AddServiceRequest).peers]), [["add", []], ["update", []]]);
});

Deno.test("a spec.loadBalancerIP that upstream wrote for our reservation is ours: reused, then cleared on delete", async () => {
  const { lb, services, nodes, metal, reservationsOf } = await setup({ exposure: "metallb-configmap" });
  const upstreams = await metal.client.createIpReservation(metal.projectId, {
    type: "public_ipv4",
    quantity: 1,
    metro: "sv",
    tags: serviceTags("default", "old", CLUSTER),
  });
  const svc = services.put(makeService("default", "old", { loadBalancerIP: upstreams.address }));
  await lb.ensureLoadBalancer("kubernetes", svc, nodes());
  equal(reservationsOf("default", "old").length, 1);
  equal(services.get("default", "old").metadata?.annotations?.[METALLB_POOL_ANNOTATION], "default/old");
  await lb.ensureLoadBalancerDeleted("kubernetes", services.get("default", "old"));
  equal(services.get("default", "old").spec?.loadBalancerIP, undefined);
  equal(reservationsOf("default", "old").length, 0);
});

Deno.test("EIP location: Service metro annotation, then facility annotation, then METAL_METRO_NAME, then METAL_FACILITY_NAME", async () => {
  const { lb, services, nodes, reservationsOf } = await setup({ location: { metro: "", facility: "sv15" } });
  await lb.ensureLoadBalancer(
    "kubernetes",
    services.put(makeService("default", "m", {
      annotations: { "metal.equinix.com/eip-metro": "da", "metal.equinix.com/eip-facility": "sv15" },
    })),
    nodes(),
  );
  equal(reservationsOf("default", "m")[0]!.metro, "da");
  await lb.ensureLoadBalancer(
    "kubernetes",
    services.put(makeService("default", "f", { annotations: { "metal.equinix.com/eip-facility": "da11" } })),
    nodes(),
  );
  equal(reservationsOf("default", "f")[0]!.facility, "da11");
  await lb.ensureLoadBalancer("kubernetes", services.put(makeService("default", "g")), nodes());
  equal(reservationsOf("default", "g")[0]!.facility, "sv15");
});

Deno.test("no EIP location anywhere: a clear error and a NoEIPLocation Warning on the Service", async () => {
  const { lb, services, nodes, recorder, registry } = await setup({ location: { metro: "", facility: "" } });
  await rejects(
    lb.ensureLoadBalancer("kubernetes", services.put(makeService("default", "x")), nodes()),
    /no metro or facility is set; add the annotation "metal.equinix.com\/eip-metro"/,
  );
  deepEqual(recorder.reasons("default/x"), ["NoEIPLocation"]);
  match(await registry.getSingleMetricAsString("ccm_equinixmetal_eip_reservations_total"), /no_location"} 1/);
});

Deno.test("an API refusal is an EIPReservationFailed Warning, and nothing is half-made", async () => {
  const { lb, services, nodes, recorder, metal, impl, reservationsOf } = await setup();
  metal.failNext({
    method: "POST",
    path: `/projects/${metal.projectId}/ips`,
    status: 422,
    message: "Quota exceeded",
  });
  await rejects(
    lb.ensureLoadBalancer("kubernetes", services.put(makeService("default", "q")), nodes()),
    /Failed to reserve an elastic IP in metro 'sv' \(from METAL_METRO_NAME\): .*Quota exceeded/,
  );
  deepEqual(recorder.reasons("default/q"), ["EIPReservationFailed"]);
  equal(impl.calls.length, 0);
  await lb.ensureLoadBalancer("kubernetes", services.get("default", "q"), nodes());
  equal(reservationsOf("default", "q").length, 1);
});

Deno.test("a reserve of unknown outcome (5xx) asks for rechecks of the Service; a definite refusal does not", async () => {
  for (const [status, recheck] of [[503, LATE_RESERVE_RECHECK_MS], [422, undefined]] as const) {
    const { lb, services, nodes, metal } = await setup();
    if (!(lb instanceof ElasticIpLoadBalancer)) throw new Error("expected the elastic IP load balancer");
    metal.failNext({ method: "POST", path: `/projects/${metal.projectId}/ips`, status, message: "no" });
    const svc = services.put(makeService("default", "q"));
    equal(lb.recheckAfterMs(svc), undefined);
    await rejects(lb.ensureLoadBalancer("kubernetes", svc, nodes()), /Failed to reserve an elastic IP/);
    equal(lb.recheckAfterMs(svc), recheck, `after ${status}`);
  }
});

Deno.test("a node failing BGP is skipped in ensure and update, with a Warning on the Node (docs/upstream.md#update-skips-bad-nodes)", async () => {
  const { lb, services, nodes, recorder, metal, impl } = await setup();
  const svc = services.put(makeService("default", "s"));
  metal.failNext({
    method: "POST",
    path: `/devices/${metal.deviceIds["node-a"]}/bgp/sessions`,
    status: 500,
    count: 100,
  });
  await lb.ensureLoadBalancer("kubernetes", svc, [...nodes(), makeNode("new", undefined)]);
  deepEqual((impl.calls[0]!.req as AddServiceRequest).peers.map((p) => p.nodeName), ["node-b"]);
  await lb.updateLoadBalancer("kubernetes", svc, [...nodes(), makeNode("new", undefined)]);
  deepEqual((impl.calls[1]!.req as UpdateServiceRequest).peers.map((p) => p.nodeName), ["node-b"]);
  equal(recorder.reasons("node-a").includes("BGPSessionFailed"), true);
  equal(recorder.reasons("new").includes("BGPNodeSkipped"), true);
});

Deno.test("the control-plane Service uses the METAL_EIP_TAG reservation and never reserves or releases it", async () => {
  const { lb, services, nodes, metal, impl } = await setup({
    eipTag: "cp-eip",
    reservations: [{ metro: "sv", tags: ["cp-eip"] }],
  });
  const cp = [...metal.api.store.reservations.values()].find((r) => r.tags.includes("cp-eip"))!;
  const svc = services.put(makeService(EXTERNAL_SERVICE_NAMESPACE, EXTERNAL_SERVICE_NAME));
  metal.mark();
  deepEqual(await lb.ensureLoadBalancer("kubernetes", svc, nodes()), { ingress: [{ ip: cp.network }] });
  deepEqual(await lb.getLoadBalancer("kubernetes", svc), {
    exists: true,
    status: { ingress: [{ ip: cp.network }] },
  });
  await lb.ensureLoadBalancerDeleted("kubernetes", svc);
  deepEqual(metal.requests().filter((r) => !r.startsWith("GET")), []);
  equal(impl.calls.length, 0);
  equal(metal.api.store.reservations.has(cp.id), true);
});

Deno.test("the control-plane Service without a METAL_EIP_TAG reservation is an EIPNotFound error, nothing reserved", async () => {
  const { lb, services, nodes, metal, recorder } = await setup({ eipTag: "cp-eip" });
  const svc = services.put(makeService(EXTERNAL_SERVICE_NAMESPACE, EXTERNAL_SERVICE_NAME));
  await rejects(lb.ensureLoadBalancer("kubernetes", svc, nodes()), /No elastic IP found with tag 'cp-eip'/);
  equal(
    recorder.reasons(`${EXTERNAL_SERVICE_NAMESPACE}/${EXTERNAL_SERVICE_NAME}`).includes("EIPNotFound"),
    true,
  );
  equal(metal.requests().filter((r) => r.startsWith("POST")).length, 0);
});

Deno.test("with only METAL_LOAD_BALANCER_ID, upstream's control-plane Service is left alone (logged once, no Event)", async () => {
  const records: LogRecord[] = [];
  await configure({
    sinks: { memory: (record) => records.push(record) },
    loggers: [
      { category: ["ccm"], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
    reset: true,
  });
  try {
    for (const emlb of [true, false]) { // EMLB, then the BGP modes
      records.length = 0;
      const { lb, impl, services, nodes, metal, recorder } = await setup({
        emlb,
        controlPlaneLoadBalancerId: "lb-control-plane",
      });
      const status = { ingress: [{ ip: "198.51.100.7" }] };
      const svc = services.put({
        ...makeService(EXTERNAL_SERVICE_NAMESPACE, EXTERNAL_SERVICE_NAME, {
          annotations: { "equinix.com/loadbalancerID": "lb-control-plane" },
        }),
        status: { loadBalancer: status },
      });
      metal.mark();
      for (let i = 0; i < 3; i++) {
        deepEqual(await lb.ensureLoadBalancer("kubernetes", svc, nodes()), status, "status kept as it is");
        await lb.updateLoadBalancer("kubernetes", svc, nodes());
      }
      deepEqual(await lb.getLoadBalancer("kubernetes", svc), { exists: false });
      await lb.ensureLoadBalancerDeleted("kubernetes", svc);
      equal(
        impl.calls.length,
        0,
        "the implementation never sees it (EMLB would rewrite the control-plane pool)",
      );
      deepEqual(metal.requests(), [], "no Metal API call: nothing reserved or released");
      deepEqual(services.patches, [], "the Service is not written");
      deepEqual(recorder.events, [], "no Event");
      const skips = records.filter((r) =>
        String(r.message.join("")).includes("Left the control-plane Service")
      );
      equal(skips.length, 1, "logged once");
      equal(skips[0]?.properties.loadBalancerId, "lb-control-plane");

      // Other Services are served as usual.
      await lb.ensureLoadBalancer("kubernetes", services.put(makeService("default", "web")), nodes());
      deepEqual(impl.calls.map((c) => c.op), ["add"]);
    }
  } finally {
    await reset();
  }
});

Deno.test("with METAL_EIP_TAG set too, the control-plane Service still uses the EIP-tag reservation", async () => {
  const { lb, services, nodes, metal } = await setup({
    eipTag: "cp-eip",
    controlPlaneLoadBalancerId: "lb-control-plane",
    reservations: [{ metro: "sv", tags: ["cp-eip"] }],
  });
  const cp = [...metal.api.store.reservations.values()].find((r) => r.tags.includes("cp-eip"))!;
  const svc = services.put(makeService(EXTERNAL_SERVICE_NAMESPACE, EXTERNAL_SERVICE_NAME));
  deepEqual(await lb.ensureLoadBalancer("kubernetes", svc, nodes()), { ingress: [{ ip: cp.network }] });
});

Deno.test("implementations without EIPs (EMLB) are called directly and report the status", async () => {
  const { lb, impl, services, nodes, metal } = await setup({ emlb: true, selector: "bgp=yes" });
  impl.status = { ingress: [{ ip: "198.51.100.1" }] };
  const svc = services.put(makeService("default", "emlb"));
  metal.mark();
  deepEqual(await lb.ensureLoadBalancer("kubernetes", svc, nodes()), { ingress: [{ ip: "198.51.100.1" }] });
  const req = impl.calls[0]!.req as AddServiceRequest;
  equal(req.ipCidr, "");
  deepEqual(req.peers, []);
  deepEqual(req.nodes.map((n) => n.metadata?.name), ["node-a"]);
  await lb.updateLoadBalancer("kubernetes", svc, nodes());
  await lb.ensureLoadBalancerDeleted("kubernetes", svc);
  deepEqual(impl.calls.map((c) => c.op), ["add", "update", "remove"]);
  equal((impl.calls[2]!.req as RemoveServiceRequest).loadBalancerName, lb.getLoadBalancerName("k", svc));
  deepEqual(metal.requests(), [], "no Metal API calls");
});

Deno.test("every reservation tagged for a Service is released on delete (duplicates from older versions)", async () => {
  const { lb, services, metal, reservationsOf } = await setup();
  for (let i = 0; i < 2; i++) {
    await metal.client.createIpReservation(metal.projectId, {
      type: "public_ipv4",
      quantity: 1,
      metro: "sv",
      tags: [USAGE_TAG, ...serviceTags("default", "dup", CLUSTER).slice(1)],
    });
  }
  await lb.ensureLoadBalancerDeleted("kubernetes", services.put(makeService("default", "dup")));
  equal(reservationsOf("default", "dup").length, 0);
});

Deno.test("duplicates tagged for a live Service are released on ensure and update, keeping the one in use", async () => {
  for (const op of ["ensure", "update"] as const) {
    const { lb, services, nodes, metal, reservationsOf, registry } = await setup();
    const make = () =>
      metal.client.createIpReservation(metal.projectId, {
        type: "public_ipv4",
        quantity: 1,
        metro: "sv",
        tags: serviceTags("default", "dup", CLUSTER),
      });
    await make();
    const inUse = await make();
    await make();
    const svc = makeService("default", "dup");
    svc.status = { loadBalancer: { ingress: [{ ip: inUse.address }] } };
    if (op === "ensure") {
      const status = await lb.ensureLoadBalancer("kubernetes", services.put(svc), nodes());
      deepEqual(status, { ingress: [{ ip: inUse.address }] });
    } else {
      await lb.updateLoadBalancer("kubernetes", services.put(svc), nodes());
    }
    deepEqual(reservationsOf("default", "dup").map((r) => r.id), [inUse.id], op);
    match(
      await registry.getSingleMetricAsString("ccm_equinixmetal_eip_releases_total"),
      /result="released",reason="duplicate"\} 2/,
    );
  }
});

Deno.test("an unusable spec.loadBalancerIP fails ensure and update naming the field; nothing reserved or configured", async () => {
  const { lb, services, nodes, metal, impl, reservationsOf } = await setup({ exposure: "metallb-crd" });
  const svc = services.put(makeService("default", "bad", { loadBalancerIP: "10.0.0.300" }));
  metal.mark();
  await rejects(
    lb.ensureLoadBalancer("kubernetes", svc, nodes()),
    /^Error: Invalid spec\.loadBalancerIP '10\.0\.0\.300'/,
  );
  await rejects(lb.updateLoadBalancer("kubernetes", svc, nodes()), /Invalid spec\.loadBalancerIP/);
  equal(impl.calls.length, 0);
  equal(reservationsOf("default", "bad").length, 0);
  equal(metal.requests().filter((r) => !r.startsWith("GET")).length, 0);
  deepEqual(services.patches, []);
  // A bring-your-own IPv6 address is a /128, not a /32.
  const v6 = services.put(makeService("default", "v6", { loadBalancerIP: "2001:db8::7" }));
  await lb.ensureLoadBalancer("kubernetes", v6, nodes());
  equal((impl.calls[0]?.req as AddServiceRequest).ipCidr, "2001:db8::7/128");
});

Deno.test("ensureLoadBalancerConcurrently() answers with the status while its Service write is in flight", async () => {
  const { lb, services, nodes, reservationsOf } = await setup({ exposure: "kube-vip", peers: false });
  const svc = services.put(makeService("default", "nginx"));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const patch = services.patch.bind(services);
  services.patch = async (namespace, name, body) => {
    await gate;
    return await patch(namespace, name, body);
  };
  const ensured = await lb.ensureLoadBalancerConcurrently("kubernetes", svc, nodes());
  const [reservation] = reservationsOf("default", "nginx");
  deepEqual(ensured.status, { ingress: [{ ip: reservation!.network }] });
  equal(services.patches.length, 0, "the annotation patch has not landed yet");
  release();
  await ensured.written;
  equal(
    services.get("default", "nginx").metadata?.annotations?.["kube-vip.io/loadbalancerIPs"],
    reservation!.network,
  );
});

Deno.test("ensureLoadBalancerConcurrently(): a failed Service write rejects `written`", async () => {
  const { lb, services, nodes } = await setup({ exposure: "kube-vip", peers: false });
  const svc = services.put(makeService("default", "nginx"));
  services.patch = () => Promise.reject(new Error("denied"));
  const ensured = await lb.ensureLoadBalancerConcurrently("kubernetes", svc, nodes());
  await rejects(ensured.written, /Failed to update Service "default\/nginx": denied/);
});
