import assert from "node:assert/strict";
import type { V1Node } from "@kubernetes/client-node";
import { changesIps, DemoProgress, type Reservation } from "./demo_progress.ts";
import { kubeletNode, UNINITIALIZED_TAINT } from "./demo_system.ts";

function initialized(name: string, deviceId: string): V1Node {
  const node = kubeletNode(name);
  node.spec = { providerID: `equinixmetal://${deviceId}`, taints: [] };
  node.metadata!.labels = {
    ...node.metadata!.labels,
    "node.kubernetes.io/instance-type": "c3.small.x86",
    "topology.kubernetes.io/region": "sv",
  };
  node.status!.addresses = [{ type: "Hostname", address: name }, {
    type: "ExternalIP",
    address: "147.75.0.3",
  }];
  return node;
}

const cpEip = (deviceId?: string): Reservation => ({
  id: "r-cp",
  address: "145.40.64.1",
  tags: ["cp-tag"],
  assignments: deviceId ? [{ assigned_to: { href: `/metal/v1/devices/${deviceId}` } }] : [],
});
const serviceEip: Reservation = {
  id: "r-svc",
  address: "145.40.64.9",
  tags: ["usage=cloud-provider-equinix-metal-auto", "service=abc"],
};

Deno.test("a registered node is reported once it has a providerID and no uninitialized taint", () => {
  const progress = new DemoProgress({ nodeNames: ["a", "b"], eipTag: "cp-tag" });
  const tainted = kubeletNode("a");
  tainted.spec!.providerID = "equinixmetal://d-a";
  assert.deepEqual(progress.observe({ nodes: [tainted, kubeletNode("b")], requests: [] }), []);
  assert.equal(tainted.spec!.taints![0]!.key, UNINITIALIZED_TAINT);

  assert.deepEqual(progress.observe({ nodes: [initialized("a", "d-a"), kubeletNode("b")], requests: [] }), [
    "node a initialized: providerID equinixmetal://d-a, instance-type c3.small.x86, region sv, ExternalIP 147.75.0.3",
  ]);
  assert.equal(progress.milestones.nodesInitialized, false);
  const lines = progress.observe({ nodes: [initialized("a", "d-a"), initialized("b", "d-b")], requests: [] });
  assert.equal(lines.length, 2);
  assert.match(lines[0] as string, /^node b initialized/);
  assert.equal(lines[1], "all 2 nodes initialized");
  assert.equal(progress.milestones.nodesInitialized, true);
  assert.deepEqual(
    progress.observe({ nodes: [initialized("a", "d-a"), initialized("b", "d-b")], requests: [] }),
    [],
  );
});

Deno.test("reservations: the Service's EIP and the control-plane EIP's holder, by node name", () => {
  const progress = new DemoProgress({ nodeNames: ["a"], eipTag: "cp-tag" });
  const nodes = [initialized("a", "d-a")];
  progress.observe({ nodes, requests: [] });
  assert.deepEqual(progress.observe({ nodes, requests: [], reservations: [cpEip()] }), []);
  assert.deepEqual(progress.observe({ nodes, requests: [], reservations: [cpEip("d-a"), serviceEip] }), [
    "control-plane Elastic IP 145.40.64.1 assigned to a",
    "Elastic IP 145.40.64.9 reserved for the Service (tags usage=cloud-provider-equinix-metal-auto, service=abc)",
  ]);
  assert.deepEqual(progress.milestones.controlPlaneEip, { address: "145.40.64.1", node: "a" });
  assert.equal(progress.complete, false);
  assert.deepEqual(progress.missing(), ["Service ingress set"]);

  const service = {
    metadata: { namespace: "default", name: "web" },
    status: { loadBalancer: { ingress: [{ ip: "145.40.64.9" }] } },
  };
  assert.deepEqual(progress.observe({ nodes, service, requests: [] }), [
    "Service default/web has ingress 145.40.64.9",
  ]);
  assert.equal(progress.complete, true);
});

Deno.test("only successful writes to IP paths make the demo re-read reservations", () => {
  const r = (method: string, path: string, status = 201) => ({ seq: 1, method, path, status });
  assert.equal(changesIps(r("POST", "/metal/v1/projects/p/ips")), true);
  assert.equal(changesIps(r("POST", "/metal/v1/devices/d/ips")), true);
  assert.equal(changesIps(r("DELETE", "/metal/v1/ips/i", 204)), true);
  assert.equal(changesIps(r("GET", "/metal/v1/projects/p/ips", 200)), false);
  assert.equal(changesIps(r("POST", "/metal/v1/projects/p/ips", 422)), false);
  assert.equal(changesIps(r("POST", "/metal/v1/projects/p/bgp-configs")), false);
});
