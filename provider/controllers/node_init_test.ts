import assert from "node:assert/strict";
import type { V1Node, V1Taint } from "@kubernetes/client-node";
import type { InstanceMetadata } from "../cloud.ts";
import { isUninitialized, planLabelReconcile, planNodeInit } from "./node_init.ts";

const UNINIT = { key: "node.cloudprovider.kubernetes.io/uninitialized", value: "true", effect: "NoSchedule" };

function node(
  overrides: {
    labels?: Record<string, string>;
    providerID?: string;
    taints?: V1Taint[];
    providedIP?: string;
    addresses?: Array<{ type: string; address: string }>;
  } = {},
): V1Node {
  return {
    metadata: {
      name: "n1",
      resourceVersion: "42",
      labels: overrides.labels ?? {},
      annotations: overrides.providedIP
        ? { "alpha.kubernetes.io/provided-node-ip": overrides.providedIP }
        : {},
    },
    spec: { providerID: overrides.providerID, taints: overrides.taints ?? [UNINIT] },
    status: { addresses: overrides.addresses ?? [] },
  };
}

const meta: InstanceMetadata = {
  providerID: "fake://abc",
  instanceType: "c3.small.x86",
  zone: "",
  region: "da",
  nodeAddresses: [{ type: "InternalIP", address: "10.0.0.1" }, { type: "ExternalIP", address: "147.75.1.1" }],
  additionalLabels: { "example.com/rack": "r1" },
};

Deno.test("planNodeInit() writes providerID, GA and beta labels, removes only the taint, in one patch", () => {
  const other = { key: "dedicated", value: "db", effect: "NoSchedule" };
  const plan = planNodeInit(node({ taints: [UNINIT, other] }), meta);
  assert.deepEqual(plan.patch, {
    metadata: {
      resourceVersion: "42",
      labels: {
        "example.com/rack": "r1",
        "node.kubernetes.io/instance-type": "c3.small.x86",
        "beta.kubernetes.io/instance-type": "c3.small.x86",
        "topology.kubernetes.io/region": "da",
        "failure-domain.beta.kubernetes.io/region": "da",
      },
    },
    spec: { providerID: "fake://abc", taints: [other] },
  });
  assert.deepEqual(plan.addresses, meta.nodeAddresses);
});

Deno.test("planNodeInit() keeps an existing providerID and skips labels already right", () => {
  const plan = planNodeInit(
    node({
      providerID: "fake://existing",
      labels: {
        "node.kubernetes.io/instance-type": "c3.small.x86",
        "beta.kubernetes.io/instance-type": "c3.small.x86",
      },
      addresses: meta.nodeAddresses,
    }),
    { ...meta, additionalLabels: undefined, region: "" },
  );
  assert.deepEqual(plan.patch, { metadata: { resourceVersion: "42" }, spec: { taints: null } });
  assert.equal(plan.addresses, undefined, "addresses already right");
});

Deno.test("planNodeInit() fails when neither node nor provider has a providerID", () => {
  assert.throws(
    () => planNodeInit(node(), { ...meta, providerID: "" }),
    /returned no providerID and the node has none/,
  );
});

Deno.test("planNodeInit() rejects a provided node IP the cloud does not know", () => {
  assert.throws(
    () => planNodeInit(node({ providedIP: "10.9.9.9" }), meta),
    /provided node ip for node "n1" is not valid: failed to get node address from cloud provider that matches ip: 10.9.9.9/,
  );
});

Deno.test("planNodeInit() orders addresses by the provided node IP", () => {
  const plan = planNodeInit(node({ providedIP: "147.75.1.1" }), meta);
  assert.deepEqual(plan.addresses, [{ type: "ExternalIP", address: "147.75.1.1" }, {
    type: "InternalIP",
    address: "10.0.0.1",
  }]);
});

Deno.test("isUninitialized() looks for the uninitialized taint", () => {
  assert.equal(isUninitialized(node()), true);
  assert.equal(isUninitialized(node({ taints: [] })), false);
});

const reconcileCases: Array<{ name: string; labels: Record<string, string>; want?: Record<string, string> }> =
  [
    { name: "nothing to do without beta labels", labels: { "topology.kubernetes.io/zone": "z" } },
    {
      name: "copies missing GA labels",
      labels: { "failure-domain.beta.kubernetes.io/zone": "z", "beta.kubernetes.io/instance-type": "t" },
      want: { "topology.kubernetes.io/zone": "z", "node.kubernetes.io/instance-type": "t" },
    },
    {
      name: "overwrites a GA label that differs from its beta label",
      labels: { "failure-domain.beta.kubernetes.io/region": "da", "topology.kubernetes.io/region": "ny" },
      want: { "topology.kubernetes.io/region": "da" },
    },
    {
      name: "in sync",
      labels: { "failure-domain.beta.kubernetes.io/region": "da", "topology.kubernetes.io/region": "da" },
    },
  ];
for (const c of reconcileCases) {
  Deno.test(`planLabelReconcile(): ${c.name}`, () => {
    assert.deepEqual(planLabelReconcile(node({ labels: c.labels, taints: [] })), c.want);
  });
}
