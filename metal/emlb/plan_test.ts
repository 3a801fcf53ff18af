import assert from "node:assert/strict";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import type { LoadBalancer, Origin } from "./lbaas_client.ts";
import { desiredPorts, planLoadBalancer, planOrigins } from "./plan.ts";
import { locationIdFor, UnknownMetroError } from "./locations.ts";

function node(name: string, external: string[], internal = ["10.0.0.1"]): V1Node {
  return {
    metadata: { name },
    status: {
      addresses: [
        ...internal.map((address) => ({ type: "InternalIP", address })),
        ...external.map((address) => ({ type: "ExternalIP", address })),
        { type: "Hostname", address: name },
      ],
    },
  };
}

function service(ports: Array<{ port: number; nodePort?: number; protocol?: string }>): V1Service {
  return { metadata: { name: "web", namespace: "default" }, spec: { ports } };
}

Deno.test("desiredPorts: every node's ExternalIPs at each port's NodePort; equal numbers collapse", () => {
  const nodes = [node("a", ["147.0.0.1", "147.0.0.2"]), node("b", ["147.0.0.3"]), node("c", [])];
  const got = desiredPorts(
    service([
      { port: 80, nodePort: 30080 },
      { port: 443, nodePort: 30443 },
      { port: 53, nodePort: 30053, protocol: "TCP" },
      { port: 53, nodePort: 30054, protocol: "UDP" },
      { port: 9, nodePort: undefined },
    ]),
    nodes,
  );
  assert.deepEqual([...got.keys()], [80, 443, 53]);
  assert.deepEqual(got.get(80), [
    { ip: "147.0.0.1", port: 30080 },
    { ip: "147.0.0.2", port: 30080 },
    { ip: "147.0.0.3", port: 30080 },
  ]);
  assert.deepEqual(got.get(53)?.map((t) => t.port), [30054, 30054, 30054]);
});

const origin = (id: string, target: string, port: number): Origin => ({ id, target, "port_number": port });

Deno.test("planOrigins keeps unchanged origins, adds missing ones, deletes extra and duplicates", () => {
  const targets = [{ ip: "1.1.1.1", port: 30080 }, { ip: "2.2.2.2", port: 30080 }, {
    ip: "3.3.3.3",
    port: 30080,
  }];
  const plan = planOrigins([
    origin("o1", "1.1.1.1", 30080),
    origin("o2", "9.9.9.9", 30080),
    origin("o3", "2.2.2.2", 31000),
    origin("o4", "1.1.1.1", 30080),
  ], targets);
  assert.deepEqual(plan, {
    create: [{ ip: "2.2.2.2", port: 30080, index: 1 }, { ip: "3.3.3.3", port: 30080, index: 2 }],
    delete: ["o2", "o3", "o4"],
  });
  assert.deepEqual(planOrigins([origin("o1", "1.1.1.1", 30080)], [{ ip: "1.1.1.1", port: 30080 }]), {
    create: [],
    delete: [],
  });
});

Deno.test("planLoadBalancer: keeps wanted ports, deletes unwanted, creates new", () => {
  const lb: LoadBalancer = {
    id: "lb",
    ports: [
      { id: "p80", number: 80 },
      { id: "p22", number: 22 },
      { id: "p443", number: 443 },
      { id: "p80b", number: 80 },
    ],
    pools: [[{ id: "pool80", name: "n-pool-80" }], [{ id: "pool22" }], [], [{ id: "pool80b" }]],
  };
  const t = [{ ip: "1.1.1.1", port: 30000 }];
  const plan = planLoadBalancer(lb, new Map([[80, t], [443, t], [8080, t]]), "n");
  assert.deepEqual(plan, {
    deletePorts: [
      { portId: "p22", poolIds: ["pool22"] },
      { portId: "p443", poolIds: [] },
      { portId: "p80b", poolIds: ["pool80b"] },
    ],
    syncPools: [{ poolId: "pool80", poolName: "n-pool-80", targets: t }],
    createPorts: [{ number: 443, targets: t }, { number: 8080, targets: t }],
  });
});

Deno.test("planLoadBalancer falls back to the port's pool_ids when pools is absent", () => {
  const plan = planLoadBalancer(
    { id: "lb", ports: [{ id: "p", number: 80, "pool_ids": ["x"] }] },
    new Map([[80, []]]),
    "n",
  );
  assert.deepEqual(plan.syncPools, [{ poolId: "x", poolName: "n-pool-80", targets: [] }]);
});

Deno.test("locationIdFor maps da/ny/sv (any case) and names the valid metros otherwise", () => {
  assert.equal(locationIdFor("da"), "lctnloc--uxs0GLeAELHKV8GxO_AI");
  assert.equal(locationIdFor("NY"), "lctnloc-Vy-1Qpw31mPi6RJQwVf9A");
  assert.equal(locationIdFor("sv"), "lctnloc-H5rl2M2VL5dcFmdxhbEKx");
  assert.throws(
    () => locationIdFor("am"),
    (err: unknown) =>
      err instanceof UnknownMetroError && err.message.includes('"am"') &&
      err.message.includes('"da", "ny", "sv"'),
  );
});
