import assert from "node:assert/strict";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { apiTime } from "../testing/api_time.ts";
import {
  eligibleNodes,
  isEligibleNode,
  loadBalancerStatusEqual,
  needsCleanup,
  nodeChangeMatters,
  nodeSetKey,
  serviceChange,
  wantsLoadBalancer,
} from "./service_logic.ts";

const FINALIZER = "service.kubernetes.io/load-balancer-cleanup";

function svc(spec: V1Service["spec"] = {}, metadata: V1Service["metadata"] = {}): V1Service {
  return {
    metadata: { name: "web", namespace: "default", uid: "u1", ...metadata },
    spec: {
      type: "LoadBalancer",
      ports: [{ name: "http", port: 80, protocol: "TCP", nodePort: 30080 }],
      ...spec,
    },
  };
}

Deno.test("wantsLoadBalancer() accepts unset or our classes only", () => {
  assert.equal(wantsLoadBalancer(svc()), true);
  assert.equal(wantsLoadBalancer(svc({ type: "ClusterIP" })), false);
  assert.equal(wantsLoadBalancer(svc({ loadBalancerClass: "other.io/lb" })), false);
  assert.equal(wantsLoadBalancer(svc({ loadBalancerClass: "ours.io/lb" }), ["ours.io/lb"]), true);
});

Deno.test("needsCleanup() requires our finalizer and deletion or a type change", () => {
  assert.equal(needsCleanup(svc()), false);
  assert.equal(needsCleanup(svc({}, { finalizers: [FINALIZER] })), false);
  assert.equal(needsCleanup(svc({}, { finalizers: [FINALIZER], deletionTimestamp: apiTime() })), true);
  assert.equal(needsCleanup(svc({ type: "NodePort" }, { finalizers: [FINALIZER] })), true);
  assert.equal(needsCleanup(svc({ type: "NodePort" })), false);
});

const changeCases: Array<{ name: string; old: V1Service; new: V1Service; want?: string; message?: string }> =
  [
    {
      name: "neither wants a load balancer",
      old: svc({ type: "ClusterIP" }),
      new: svc({ type: "NodePort" }),
    },
    { name: "no change", old: svc(), new: svc() },
    {
      name: "type change",
      old: svc({ type: "ClusterIP" }),
      new: svc(),
      want: "Type",
      message: "ClusterIP -> LoadBalancer",
    },
    {
      name: "source ranges",
      old: svc(),
      new: svc({ loadBalancerSourceRanges: ["10.0.0.0/8"] }),
      want: "LoadBalancerSourceRanges",
      message: "[] -> [10.0.0.0/8]",
    },
    {
      name: "node port",
      old: svc(),
      new: svc({ ports: [{ name: "http", port: 80, protocol: "TCP", nodePort: 30081 }] }),
      want: "Ports",
    },
    {
      name: "target port",
      old: svc(),
      new: svc({
        ports: [{ name: "http", port: 80, protocol: "TCP", nodePort: 30080, targetPort: 8080 as never }],
      }),
      want: "Ports",
    },
    { name: "session affinity", old: svc(), new: svc({ sessionAffinity: "ClientIP" }), want: "Ports" },
    {
      name: "session affinity config",
      old: svc(),
      new: svc({ sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } } }),
      want: "SessionAffinityConfig",
    },
    {
      name: "loadBalancerIP",
      old: svc(),
      new: svc({ loadBalancerIP: "1.2.3.4" }),
      want: "LoadbalancerIP",
      message: " -> 1.2.3.4",
    },
    {
      name: "external IP count",
      old: svc(),
      new: svc({ externalIPs: ["1.1.1.1"] }),
      want: "ExternalIP",
      message: "Count: 0 -> 1",
    },
    {
      name: "external IP replaced",
      old: svc({ externalIPs: ["1.1.1.1"] }),
      new: svc({ externalIPs: ["2.2.2.2"] }),
      want: "ExternalIP",
      message: "Added: 2.2.2.2",
    },
    { name: "annotations", old: svc(), new: svc({}, { annotations: { a: "b" } }), want: "Annotations" },
    { name: "UID", old: svc(), new: svc({}, { uid: "u2" }), want: "UID", message: "u1 -> u2" },
    {
      name: "traffic policy",
      old: svc(),
      new: svc({ externalTrafficPolicy: "Local" }),
      want: "ExternalTrafficPolicy",
    },
    {
      name: "health check port",
      old: svc(),
      new: svc({ healthCheckNodePort: 32000 }),
      want: "HealthCheckNodePort",
    },
    {
      name: "IP families",
      old: svc({ ipFamilies: ["IPv4"] }),
      new: svc({ ipFamilies: ["IPv4", "IPv6"] }),
      want: "IPFamilies",
    },
    { name: "labels do not matter", old: svc(), new: svc({}, { labels: { a: "b" } }) },
    {
      name: "status does not matter",
      old: svc(),
      new: { ...svc(), status: { loadBalancer: { ingress: [{ ip: "1.1.1.1" }] } } },
    },
  ];
for (const c of changeCases) {
  Deno.test(`serviceChange(): ${c.name}`, () => {
    const got = serviceChange(c.old, c.new);
    assert.equal(got?.reason, c.want);
    if (c.message !== undefined) assert.equal(got?.message, c.message);
  });
}

function node(
  name: string,
  extra: { labels?: Record<string, string>; taint?: string; deleting?: boolean; providerID?: string } = {},
): V1Node {
  return {
    metadata: { name, labels: extra.labels, deletionTimestamp: extra.deleting ? apiTime() : undefined },
    spec: {
      providerID: extra.providerID ?? `fake://${name}`,
      taints: extra.taint ? [{ key: extra.taint, effect: "NoSchedule" }] : [],
    },
    status: { conditions: [{ type: "Ready", status: "False" }] },
  };
}

const eligibilityCases: Array<{ name: string; node: V1Node; want: boolean }> = [
  { name: "plain NotReady node is eligible", node: node("a"), want: true },
  { name: "no providerID yet", node: node("a", { providerID: "" }), want: false },
  { name: "being deleted", node: node("a", { deleting: true }), want: false },
  {
    name: "exclude label true",
    node: node("a", { labels: { "node.kubernetes.io/exclude-from-external-load-balancers": "true" } }),
    want: false,
  },
  {
    name: "exclude label empty (unparsable)",
    node: node("a", { labels: { "node.kubernetes.io/exclude-from-external-load-balancers": "" } }),
    want: false,
  },
  {
    name: "exclude label false",
    node: node("a", { labels: { "node.kubernetes.io/exclude-from-external-load-balancers": "false" } }),
    want: true,
  },
  { name: "autoscaler taint", node: node("a", { taint: "ToBeDeletedByClusterAutoscaler" }), want: false },
];
for (const c of eligibilityCases) {
  Deno.test(`isEligibleNode(): ${c.name}`, () => assert.equal(isEligibleNode(c.node), c.want));
}

Deno.test("eligibleNodes() filters and sorts; nodeSetKey() covers names and providerIDs", () => {
  const nodes = [node("b"), node("a"), node("c", { deleting: true })];
  assert.deepEqual(eligibleNodes(nodes).map((n) => n.metadata?.name), ["a", "b"]);
  const key = nodeSetKey(eligibleNodes(nodes));
  assert.match(key, /^[0-9a-f]{64}$/, "a digest, whatever the number of nodes");
  assert.equal(nodeSetKey([node("b"), node("a")]), key, "order does not matter");
  assert.notEqual(nodeSetKey([node("a")]), key);
  assert.notEqual(nodeSetKey([node("a", { providerID: "fake://x" }), node("b")]), key);
  assert.notEqual(nodeSetKey([node("a"), node("b", { providerID: "fake://b2" })]), key);
});

Deno.test("nodeChangeMatters() reacts to eligibility and providerID only", () => {
  assert.equal(nodeChangeMatters(node("a"), node("a", { labels: { x: "y" } })), false);
  assert.equal(nodeChangeMatters(node("a"), node("a", { taint: "ToBeDeletedByClusterAutoscaler" })), true);
  assert.equal(nodeChangeMatters(node("a"), node("a", { providerID: "fake://other" })), true);
});

Deno.test("loadBalancerStatusEqual() treats absent and empty alike and compares ingress", () => {
  assert.equal(loadBalancerStatusEqual(undefined, {}), true);
  assert.equal(loadBalancerStatusEqual({ ingress: [] }, {}), true);
  assert.equal(
    loadBalancerStatusEqual({ ingress: [{ ip: "1.1.1.1" }] }, { ingress: [{ ip: "1.1.1.1" }] }),
    true,
  );
  assert.equal(
    loadBalancerStatusEqual({ ingress: [{ ip: "1.1.1.1" }] }, { ingress: [{ ip: "1.1.1.2" }] }),
    false,
  );
});

Deno.test("loadBalancerStatusEqual() takes a missing ipMode as the API server's default VIP", () => {
  assert.equal(
    loadBalancerStatusEqual({ ingress: [{ ip: "1.1.1.1" }] }, {
      ingress: [{ ip: "1.1.1.1", ipMode: "VIP" }],
    }),
    true,
  );
  assert.equal(
    loadBalancerStatusEqual({ ingress: [{ ip: "1.1.1.1" }] }, {
      ingress: [{ ip: "1.1.1.1", ipMode: "Proxy" }],
    }),
    false,
  );
  assert.equal(
    loadBalancerStatusEqual({ ingress: [{ hostname: "lb.example" }] }, {
      ingress: [{ hostname: "lb.example" }],
    }),
    true,
    "no ip, no default",
  );
});
