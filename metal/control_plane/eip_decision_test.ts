import assert from "node:assert/strict";
import { decideEip, type EipDecision, type EipDecisionInput, type EipNode } from "./eip_decision.ts";

const T0 = Date.UTC(2026, 0, 1);

function node(name: string, fields: Partial<EipNode> = {}): EipNode {
  const n = Number(name.replace(/\D/g, "")) || 0;
  return {
    name,
    deviceId: `dev-${name}`,
    createdAt: T0 + n * 1000,
    unschedulable: false,
    deleting: false,
    health: "healthy",
    healthDetail: "HTTP 200",
    failures: 0,
    ...fields,
  };
}

const unhealthy = { health: "unhealthy", healthDetail: "HTTP 500", failures: 2 } as const;
const on = (...names: string[]) => names.map((n, i) => ({ id: `asg-${i}`, deviceId: `dev-${n}` }));

/** A compact view of a decision for table comparisons. */
function summary(d: EipDecision): string {
  switch (d.action) {
    case "keep":
      return `keep ${d.holder}${d.note ? " (failing)" : ""}`;
    case "wait":
      return `wait${d.holder ? ` ${d.holder}` : ""}`;
    case "move":
      return `move ${d.from.join("+") || "-"} -> ${d.target.name} (${d.cause}${d.repair ? ", repair" : ""})` +
        ` unassign ${d.unassign.map((a) => a.id).join(",") || "-"}`;
    case "repair":
      return `repair keep ${d.holder} unassign ${d.unassign.map((a) => a.id).join(",")}`;
    case "stay":
      return `stay${d.holder ? ` ${d.holder}` : ""} (${d.cause})`;
  }
}

Deno.test("decideEip: single holder", async (t) => {
  const cases: Array<{ name: string; input: Omit<EipDecisionInput, "address">; want: string }> = [
    {
      name: "a healthy holder is kept even when an older node exists (a new leader adopts it)",
      input: { assignments: on("cp2"), nodes: [node("cp1"), node("cp2"), node("cp3")] },
      want: "keep cp2",
    },
    {
      name: "a holder failing fewer times than the threshold is kept",
      input: {
        assignments: on("cp2"),
        nodes: [node("cp1"), node("cp2", { health: "failing", failures: 1, healthDetail: "HTTP 500" })],
      },
      want: "keep cp2 (failing)",
    },
    {
      name: "a holder not checked yet is not judged",
      input: { assignments: on("cp2"), nodes: [node("cp1"), node("cp2", { health: "unknown" })] },
      want: "wait cp2",
    },
    {
      name: "an unhealthy holder moves to the oldest healthy node, never back to itself",
      input: { assignments: on("cp1"), nodes: [node("cp3"), node("cp1", unhealthy), node("cp2")] },
      want: "move cp1 -> cp2 (unhealthy) unassign asg-0",
    },
    {
      name: "ties on creation time are broken by name",
      input: {
        assignments: on("cp1"),
        nodes: [node("cp1", unhealthy), node("b", { createdAt: T0 }), node("a", { createdAt: T0 })],
      },
      want: "move cp1 -> a (unhealthy) unassign asg-0",
    },
    {
      name: "candidates must be healthy, initialized and not being deleted",
      input: {
        assignments: on("cp1"),
        nodes: [
          node("cp1", unhealthy),
          node("cp2", { health: "failing", failures: 1 }),
          node("cp3", { deviceId: undefined }),
          node("cp4", { deleting: true }),
          node("cp5", { health: "unknown" }),
          node("cp6"),
        ],
      },
      want: "move cp1 -> cp6 (unhealthy) unassign asg-0",
    },
    {
      name: "schedulable candidates are preferred over older cordoned ones",
      input: {
        assignments: on("cp1"),
        nodes: [node("cp1", unhealthy), node("cp2", { unschedulable: true }), node("cp3")],
      },
      want: "move cp1 -> cp3 (unhealthy) unassign asg-0",
    },
    {
      name: "an unhealthy holder moves to a cordoned node when nothing else is healthy",
      input: {
        assignments: on("cp1"),
        nodes: [node("cp1", unhealthy), node("cp2", { unschedulable: true })],
      },
      want: "move cp1 -> cp2 (unhealthy) unassign asg-0",
    },
    {
      name: "a cordoned holder moves to a schedulable healthy node",
      input: { assignments: on("cp1"), nodes: [node("cp1", { unschedulable: true }), node("cp2")] },
      want: "move cp1 -> cp2 (unschedulable) unassign asg-0",
    },
    {
      name: "a cordoned holder does not move to another cordoned node",
      input: {
        assignments: on("cp1"),
        nodes: [node("cp1", { unschedulable: true }), node("cp2", { unschedulable: true })],
      },
      want: "stay cp1 (unschedulable)",
    },
    {
      name: "a holder being deleted moves",
      input: { assignments: on("cp1"), nodes: [node("cp1", { deleting: true }), node("cp2")] },
      want: "move cp1 -> cp2 (deleting) unassign asg-0",
    },
    {
      name: "a holder that is no control-plane node (Node deleted) loses the EIP",
      input: { assignments: on("gone"), nodes: [node("cp1"), node("cp2")] },
      want: "move device dev-gone -> cp1 (not-control-plane) unassign asg-0",
    },
    {
      name: "an unknown holder is left alone while some node has no providerID yet",
      input: { assignments: on("gone"), nodes: [node("cp1"), node("cp2", { deviceId: undefined })] },
      want: "wait",
    },
    {
      name: "all other nodes unhealthy: the EIP stays on its unhealthy holder",
      input: {
        assignments: on("cp1"),
        nodes: [node("cp1", unhealthy), node("cp2", unhealthy), node("cp3", unhealthy)],
      },
      want: "stay cp1 (unhealthy)",
    },
    {
      name: "the only control-plane node keeps the EIP even when unhealthy",
      input: { assignments: on("cp1"), nodes: [node("cp1", unhealthy)] },
      want: "stay cp1 (unhealthy)",
    },
  ];
  for (const c of cases) {
    await t.step(
      c.name,
      () => assert.equal(summary(decideEip({ address: "203.0.113.10", ...c.input })), c.want),
    );
  }
});

Deno.test("decideEip: no assignment", async (t) => {
  const cases: Array<{ name: string; nodes: EipNode[]; want: string }> = [
    {
      name: "assigned to the oldest healthy node",
      nodes: [node("cp3"), node("cp2"), node("cp1", unhealthy)],
      want: "move - -> cp2 (unassigned) unassign -",
    },
    {
      name: "a cordoned node when it is the only healthy one",
      nodes: [node("cp1", unhealthy), node("cp2", { unschedulable: true })],
      want: "move - -> cp2 (unassigned) unassign -",
    },
    {
      name: "nobody healthy: stays unassigned",
      nodes: [node("cp1", unhealthy), node("cp2", { health: "unknown" })],
      want: "stay (unassigned)",
    },
    { name: "no control-plane node at all", nodes: [], want: "stay (unassigned)" },
  ];
  for (const c of cases) {
    await t.step(
      c.name,
      () =>
        assert.equal(
          summary(decideEip({ address: "203.0.113.10", assignments: [], nodes: c.nodes })),
          c.want,
        ),
    );
  }
});

Deno.test("decideEip: more than one assignment is repaired", async (t) => {
  const cases: Array<{ name: string; input: Omit<EipDecisionInput, "address">; want: string }> = [
    {
      name: "keeps the healthy holder and unassigns the unhealthy one",
      input: { assignments: on("cp1", "cp2"), nodes: [node("cp1", unhealthy), node("cp2"), node("cp3")] },
      want: "repair keep cp2 unassign asg-0",
    },
    {
      name: "two healthy holders: keeps the preferred (oldest) one",
      input: { assignments: on("cp2", "cp1"), nodes: [node("cp1"), node("cp2")] },
      want: "repair keep cp1 unassign asg-0",
    },
    {
      name: "prefers a schedulable holder over a cordoned one",
      input: { assignments: on("cp1", "cp2"), nodes: [node("cp1", { unschedulable: true }), node("cp2")] },
      want: "repair keep cp2 unassign asg-0",
    },
    {
      name: "drops an assignment to a device that is no control-plane node",
      input: { assignments: on("gone", "cp1"), nodes: [node("cp1")] },
      want: "repair keep cp1 unassign asg-0",
    },
    {
      name: "no healthy holder: moves to a healthy node, unassigning all",
      input: {
        assignments: on("cp1", "cp2"),
        nodes: [node("cp1", unhealthy), node("cp2", unhealthy), node("cp3")],
      },
      want: "move cp1+cp2 -> cp3 (unhealthy, repair) unassign asg-0,asg-1",
    },
    {
      name: "nobody healthy at all: keeps one holder and unassigns the rest",
      input: { assignments: on("cp2", "cp1"), nodes: [node("cp1", unhealthy), node("cp2", unhealthy)] },
      want: "repair keep cp1 unassign asg-0",
    },
  ];
  for (const c of cases) {
    await t.step(
      c.name,
      () => assert.equal(summary(decideEip({ address: "203.0.113.10", ...c.input })), c.want),
    );
  }
});

Deno.test("decideEip explains why the EIP stays", () => {
  const d = decideEip({
    address: "203.0.113.10",
    assignments: on("cp1"),
    nodes: [
      node("cp1", unhealthy),
      node("cp2", { health: "unhealthy", failures: 3, healthDetail: "connection refused" }),
      node("cp3", { deviceId: undefined }),
      node("cp4", { deleting: true }),
    ],
  });
  assert.equal(d.action, "stay");
  assert.equal(
    d.action === "stay" && d.reason,
    "node cp1 failed 2 consecutive health checks (HTTP 500), but no healthy control-plane node can take it " +
      "(cp2: connection refused; cp3: no providerID; cp4: being deleted)",
  );
});

Deno.test("decideEip does not depend on the order nodes are listed in", () => {
  const nodes = [node("cp1", unhealthy), node("cp2"), node("cp3"), node("cp4")];
  const want = summary(decideEip({ address: "x", assignments: on("cp1"), nodes }));
  for (const order of [[3, 2, 1, 0], [2, 0, 3, 1], [1, 3, 0, 2]]) {
    assert.equal(
      summary(decideEip({ address: "x", assignments: on("cp1"), nodes: order.map((i) => nodes[i]!) })),
      want,
    );
  }
});
