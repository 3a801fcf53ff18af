import assert from "node:assert/strict";
import type { V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import {
  alreadyApplied,
  externalEndpointSlice,
  externalService,
  externalServiceStatus,
} from "./external_objects.ts";

const kubernetes: V1Service = {
  metadata: { namespace: "default", name: "kubernetes" },
  spec: {
    type: "ClusterIP",
    clusterIP: "10.96.0.1",
    ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }],
  },
};

Deno.test("externalService is a LoadBalancer on the EIP that MetalLB and kube-vip leave alone", () => {
  assert.deepEqual(externalService(kubernetes, "203.0.113.10"), {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "cloud-provider-equinix-metal-kubernetes-external",
      namespace: "kube-system",
      annotations: {
        "metallb.universe.tf/address-pool": "disabled-metallb-do-not-use-any-address-pool",
        "metallb.io/address-pool": "disabled-metallb-do-not-use-any-address-pool",
        "kube-vip.io/ignore": "true",
      },
    },
    spec: {
      type: "LoadBalancer",
      // MetalLB ≥ 0.13 and kube-vip only take Services without a class (or with theirs).
      loadBalancerClass: "metal.equinix.com/control-plane-eip",
      loadBalancerIP: "203.0.113.10",
      ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }],
    },
  });
  assert.deepEqual(externalServiceStatus("203.0.113.10").status, {
    loadBalancer: { ingress: [{ ip: "203.0.113.10" }] },
  });
});

function slice(name: string, fields: Partial<V1EndpointSlice>): V1EndpointSlice {
  return {
    addressType: "IPv4",
    metadata: { namespace: "default", name, labels: { "kubernetes.io/service-name": "kubernetes" } },
    endpoints: [],
    ...fields,
  };
}

Deno.test("externalEndpointSlice copies address type, ports, endpoints and conditions", () => {
  const got = externalEndpointSlice([
    slice("kubernetes", {
      endpoints: [
        {
          addresses: ["10.0.0.2"],
          conditions: { ready: true, serving: true, terminating: false },
          nodeName: "cp1",
        },
        { addresses: ["10.0.0.3"], conditions: {} },
        { addresses: [] },
      ],
      ports: [{ name: "https", port: 6443, protocol: "TCP" }],
    }),
  ]);
  assert.deepEqual(got, {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: "cloud-provider-equinix-metal-kubernetes-external",
      namespace: "kube-system",
      labels: {
        "kubernetes.io/service-name": "cloud-provider-equinix-metal-kubernetes-external",
        "endpointslice.kubernetes.io/managed-by": "cloud-provider-equinix-metal",
      },
    },
    addressType: "IPv4",
    endpoints: [
      { addresses: ["10.0.0.2"], conditions: { ready: true, serving: true, terminating: false } },
      { addresses: ["10.0.0.3"] },
    ],
    ports: [{ name: "https", port: 6443, protocol: "TCP" }],
  });
});

Deno.test("externalEndpointSlice merges the slices of the first slice's address type", () => {
  const got = externalEndpointSlice([
    slice("kubernetes-b", { endpoints: [{ addresses: ["10.0.0.3"] }, { addresses: ["10.0.0.2"] }] }),
    slice("kubernetes", { endpoints: [{ addresses: ["10.0.0.2"] }], ports: [{ name: "https", port: 6443 }] }),
    slice("kubernetes-v6", { addressType: "IPv6", endpoints: [{ addresses: ["fd00::2"] }] }),
  ]);
  assert.deepEqual(got?.endpoints?.map((e) => e.addresses[0]), ["10.0.0.2", "10.0.0.3"]);
  assert.deepEqual(got?.ports, [{ name: "https", port: 6443 }]);
  assert.equal(externalEndpointSlice([]), undefined);
});

Deno.test("alreadyApplied tells whether an apply would change anything", () => {
  const desired = externalService(kubernetes, "203.0.113.10");
  const live: V1Service = {
    metadata: {
      name: "cloud-provider-equinix-metal-kubernetes-external",
      namespace: "kube-system",
      uid: "u1",
      annotations: { ...desired.metadata!.annotations, "other/annotation": "x" },
    },
    spec: {
      ...desired.spec,
      clusterIP: "10.96.0.20",
      ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443, nodePort: 31000 }],
    },
  };
  assert.equal(alreadyApplied(desired, live), true, "fields set by others do not matter");
  assert.equal(alreadyApplied(desired, undefined), false);
  assert.equal(alreadyApplied(externalService(kubernetes, "203.0.113.11"), live), false, "another EIP");
  const twoPorts = structuredClone(live);
  twoPorts.spec!.ports!.push({ name: "extra", port: 80 });
  assert.equal(alreadyApplied(desired, twoPorts), false, "a port too many");
  const noAnnotation = structuredClone(live);
  delete noAnnotation.metadata!.annotations!["kube-vip.io/ignore"];
  assert.equal(alreadyApplied(desired, noAnnotation), false);
});
