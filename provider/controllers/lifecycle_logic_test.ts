import assert from "node:assert/strict";
import type { V1Node } from "@kubernetes/client-node";
import { NodeNotManagedError } from "../errors.ts";
import { type FakeMethod, FakeProvider } from "../testing/fake_provider.ts";
import { decideLifecycle, type LifecycleAction } from "./lifecycle_logic.ts";

function node(ready: boolean | "Unknown", shutdownTaint = false, providerID = "fake://n1"): V1Node {
  return {
    metadata: { name: "n1" },
    spec: {
      providerID,
      taints: shutdownTaint
        ? [{ key: "node.cloudprovider.kubernetes.io/shutdown", effect: "NoSchedule" }]
        : [],
    },
    status: {
      conditions: [{ type: "Ready", status: ready === "Unknown" ? "Unknown" : ready ? "True" : "False" }],
    },
  };
}

interface Case {
  name: string;
  node: V1Node;
  instance?: { shutdown?: boolean };
  failing?: Partial<Record<FakeMethod, Error>>;
  want: LifecycleAction["kind"];
  calls: FakeMethod[];
}

const cases: Case[] = [
  {
    name: "ready node without taint: nothing, no provider call",
    node: node(true),
    instance: {},
    want: "none",
    calls: [],
  },
  {
    name: "ready node with shutdown taint: remove it",
    node: node(true, true),
    instance: {},
    want: "removeShutdownTaint",
    calls: [],
  },
  { name: "NotReady, instance gone: delete", node: node(false), want: "delete", calls: ["instanceExists"] },
  {
    name: "Unknown readiness, instance gone: delete",
    node: node("Unknown"),
    want: "delete",
    calls: ["instanceExists"],
  },
  {
    name: "NotReady, running: nothing",
    node: node(false),
    instance: {},
    want: "none",
    calls: ["instanceExists", "instanceShutdown"],
  },
  {
    name: "NotReady, shut down: add taint",
    node: node(false),
    instance: { shutdown: true },
    want: "addShutdownTaint",
    calls: ["instanceExists", "instanceShutdown"],
  },
  {
    name: "NotReady, shut down, already tainted: nothing",
    node: node(false, true),
    instance: { shutdown: true },
    want: "none",
    calls: ["instanceExists", "instanceShutdown"],
  },
  {
    name: "exists check fails: keep (unknown), never delete",
    node: node(false),
    failing: { instanceExists: new Error("API returned 503") },
    want: "unknown",
    calls: ["instanceExists"],
  },
  {
    name: "shutdown check fails: keep (unknown)",
    node: node(false),
    instance: {},
    failing: { instanceShutdown: new Error("timeout") },
    want: "unknown",
    calls: ["instanceExists", "instanceShutdown"],
  },
  {
    name: "foreign node: not managed",
    node: node(false, false, "aws:///i-123"),
    want: "notManaged",
    calls: ["instanceExists"],
  },
  {
    name: "NodeNotManagedError from provider: not managed",
    node: node(false),
    failing: { instanceExists: new NodeNotManagedError("not ours") },
    want: "notManaged",
    calls: ["instanceExists"],
  },
];

for (const c of cases) {
  Deno.test(`decideLifecycle(): ${c.name}`, async () => {
    const provider = new FakeProvider();
    if (c.instance) provider.setInstance("n1", c.instance);
    for (const [method, err] of Object.entries(c.failing ?? {})) provider.fail(method as FakeMethod, err);
    const action = await decideLifecycle(c.node, provider.instances);
    assert.equal(action.kind, c.want);
    assert.deepEqual(provider.calls.map((call) => call.method), c.calls);
  });
}

Deno.test("decideLifecycle() keeps the node when instanceExists answers neither true nor false", async () => {
  const action = await decideLifecycle(node(false), {
    instanceExists: () => Promise.resolve(undefined as unknown as boolean),
    instanceShutdown: () => Promise.resolve(false),
    instanceMetadata: () => Promise.reject(new Error("unused")),
  });
  assert.equal(action.kind, "unknown");
});
