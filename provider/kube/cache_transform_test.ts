import { deepEqual } from "node:assert/strict";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { apiTime } from "../testing/api_time.ts";
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

Deno.test("stripForCache() keeps of a Node's status only addresses and each condition's type and status", () => {
  const heartbeat = apiTime(Date.parse("2026-01-02T03:04:05Z"));
  const node: V1Node = {
    kind: "Node",
    metadata: { name: "n1", resourceVersion: "7" },
    status: {
      addresses: [{ type: "InternalIP", address: "10.0.0.1" }, { type: "Hostname", address: "n1" }],
      allocatable: { cpu: "8", memory: "32Gi" },
      capacity: { cpu: "8", memory: "32Gi", pods: "110" },
      conditions: [
        {
          type: "MemoryPressure",
          status: "False",
          reason: "KubeletHasSufficientMemory",
          message: "kubelet has sufficient memory available",
          lastHeartbeatTime: heartbeat,
          lastTransitionTime: heartbeat,
        },
        {
          type: "Ready",
          status: "True",
          reason: "KubeletReady",
          message: "kubelet is posting ready status",
          lastHeartbeatTime: heartbeat,
          lastTransitionTime: heartbeat,
        },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: "amd64",
        bootID: "b",
        containerRuntimeVersion: "containerd://2.1.0",
        kernelVersion: "6.8.0",
        kubeProxyVersion: "",
        kubeletVersion: "v1.36.3",
        machineID: "m",
        operatingSystem: "linux",
        osImage: "Ubuntu 24.04",
        systemUUID: "u",
      },
      volumesInUse: ["kubernetes.io/csi/driver^vol-1"],
    },
  };
  deepEqual(stripForCache(node), {
    kind: "Node",
    metadata: { name: "n1", resourceVersion: "7" },
    status: {
      addresses: [{ type: "InternalIP", address: "10.0.0.1" }, { type: "Hostname", address: "n1" }],
      conditions: [{ type: "MemoryPressure", status: "False" }, { type: "Ready", status: "True" }],
    },
  });
  deepEqual(stripForCache({ kind: "Node", metadata: { name: "n2" }, status: {} } as V1Node), {
    kind: "Node",
    metadata: { name: "n2" },
    status: {},
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
