import assert from "node:assert/strict";
import type { V1Node } from "@kubernetes/client-node";
import { apiTime } from "../../provider/testing/mod.ts";
import { controlPlaneNodes, healthCheckAddresses, healthzUrl, isControlPlaneNode } from "./nodes.ts";

function node(
  name: string,
  fields: { labels?: Record<string, string>; created?: string; providerID?: string } = {},
): V1Node {
  return {
    metadata: {
      name,
      labels: fields.labels,
      creationTimestamp: fields.created === undefined ? undefined : apiTime(Date.parse(fields.created)),
    },
    spec: { providerID: fields.providerID },
  };
}

Deno.test("isControlPlaneNode accepts both role labels with any value", () => {
  assert.equal(
    isControlPlaneNode(node("a", { labels: { "node-role.kubernetes.io/control-plane": "" } })),
    true,
  );
  assert.equal(isControlPlaneNode(node("b", { labels: { "node-role.kubernetes.io/master": "true" } })), true);
  assert.equal(isControlPlaneNode(node("c", { labels: { "node-role.kubernetes.io/worker": "" } })), false);
  assert.equal(isControlPlaneNode(node("d")), false);
});

Deno.test("controlPlaneNodes keeps control-plane nodes, oldest first then by name, with their devices", () => {
  const cp = { "node-role.kubernetes.io/control-plane": "" };
  const nodes = controlPlaneNodes([
    node("c", { labels: cp, created: "2026-01-01T00:00:02Z", providerID: "equinixmetal://dev-c" }),
    node("worker", { created: "2026-01-01T00:00:00Z" }),
    node("b", { labels: cp, created: "2026-01-01T00:00:01Z", providerID: "packet://dev-b" }),
    node("a", { labels: cp, created: "2026-01-01T00:00:01Z", providerID: "aws://i-123" }),
    node("d", { labels: cp, created: "2026-01-01T00:00:03Z" }),
  ]);
  assert.deepEqual(nodes.map((n) => [n.name, n.deviceId]), [
    ["a", undefined],
    ["b", "dev-b"],
    ["c", "dev-c"],
    ["d", undefined],
  ]);
});

Deno.test("healthCheckAddresses lists ExternalIPs then InternalIPs, without the EIP and duplicates", () => {
  const n: V1Node = {
    status: {
      addresses: [
        { type: "Hostname", address: "cp-1" },
        { type: "InternalIP", address: "10.0.0.2" },
        { type: "ExternalIP", address: "203.0.113.10" },
        { type: "ExternalIP", address: "198.51.100.2" },
        { type: "InternalIP", address: "198.51.100.2" },
      ],
    },
  };
  assert.deepEqual(healthCheckAddresses(n, "203.0.113.10"), ["198.51.100.2", "10.0.0.2"]);
});

Deno.test("healthzUrl brackets IPv6 addresses", () => {
  assert.equal(healthzUrl("127.0.0.2", 6443), "https://127.0.0.2:6443/healthz");
  assert.equal(healthzUrl("2001:db8::1", 6443), "https://[2001:db8::1]:6443/healthz");
});
