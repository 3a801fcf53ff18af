import { deepEqual } from "node:assert/strict";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { stripForCache } from "./cache_transform.ts";

const managedFields = [{
  manager: "kubelet",
  operation: "Update",
  fieldsType: "FieldsV1",
  fieldsV1: { "f:status": {} },
}];

Deno.test("stripForCache() drops a Node's managedFields and images, and keeps what controllers read", () => {
  const node: V1Node = {
    kind: "Node",
    metadata: { name: "n1", labels: { a: "b" }, managedFields },
    spec: { providerID: "equinixmetal://x" },
    status: {
      addresses: [{ type: "InternalIP", address: "10.0.0.1" }],
      conditions: [{ type: "Ready", status: "True" }],
      images: [{ names: ["registry.k8s.io/pause:3.10"], sizeBytes: 1 }],
    },
  };
  deepEqual(stripForCache(node), {
    kind: "Node",
    metadata: { name: "n1", labels: { a: "b" } },
    spec: { providerID: "equinixmetal://x" },
    status: {
      addresses: [{ type: "InternalIP", address: "10.0.0.1" }],
      conditions: [{ type: "Ready", status: "True" }],
    },
  });
});

Deno.test("stripForCache() drops managedFields of any kind and leaves other objects alone", () => {
  const service: V1Service = {
    kind: "Service",
    metadata: { name: "s", namespace: "ns", managedFields },
    spec: { type: "LoadBalancer" },
  };
  deepEqual(stripForCache(service), {
    kind: "Service",
    metadata: { name: "s", namespace: "ns" },
    spec: { type: "LoadBalancer" },
  });
  deepEqual(stripForCache({ kind: "ConfigMap", metadata: { name: "c" } }), {
    kind: "ConfigMap",
    metadata: { name: "c" },
  });
});
