/**
 * What to do with the control-plane EIP, as a pure function of its assignments and the control-plane nodes'
 * state. Fixed against upstream (docs/upstream.md#control-plane-eip): the current (unhealthy) holder is never
 * re-picked, candidates are chosen deterministically (healthy, schedulable, not being deleted, oldest first,
 * then by name), more than one assignment is repaired instead of being a hard error, and a holder is only
 * moved away from once it is really unhealthy — so a new leader adopts the current assignment.
 *
 * @module
 */
import type { HealthState } from "./health_tracker.ts";
import { compareNodes } from "./nodes.ts";

/** A control-plane node as the decision sees it. */
export interface EipNode {
  name: string;
  /** Device behind the node; `undefined` while the node has no providerID. */
  deviceId?: string;
  createdAt: number;
  unschedulable: boolean;
  deleting: boolean;
  /** Health of this node as an EIP holder (for the current holder, possibly of the EIP path). */
  health: HealthState;
  /** Last health-check outcome, for messages (`HTTP 500 from https://…`). */
  healthDetail: string;
  /** Consecutive failed checks. */
  failures: number;
}

/** One assignment of the EIP to a device. */
export interface EipAssignment {
  /** Assignment id (`DELETE /ips/{id}` removes it). */
  id: string;
  /** Device id from the assignment's `assigned_to` link. */
  deviceId: string;
}

/** Input of {@linkcode decideEip}. */
export interface EipDecisionInput {
  /** The EIP, for messages. */
  address: string;
  assignments: readonly EipAssignment[];
  /** Every control-plane node. */
  nodes: readonly EipNode[];
}

/** Why the EIP should get a new holder. */
export type MoveCause = "unassigned" | "unhealthy" | "unschedulable" | "deleting" | "not-control-plane";

/** A node the EIP can be assigned to. */
export type EipTarget = EipNode & { deviceId: string };

/** The decision. `reason` is a sentence fragment for Events and logs. */
export type EipDecision =
  /** Nothing to do; `note` says why a failing holder is kept for now. */
  | { action: "keep"; holder: string; note?: string }
  /** Not enough information yet (holder not checked, nodes not initialized). */
  | { action: "wait"; holder?: string; reason: string }
  /** Unassign `unassign` (may be empty), then assign the EIP to `target`. */
  | {
    action: "move";
    target: EipTarget;
    unassign: EipAssignment[];
    /** Previous holders (node names, or `device <id>` when no node matches). */
    from: string[];
    cause: MoveCause;
    reason: string;
    /** The EIP had more than one assignment. */
    repair: boolean;
  }
  /** The EIP had several assignments: keep `holder`'s, unassign the others. */
  | { action: "repair"; holder: string; unassign: EipAssignment[]; reason: string }
  /** The EIP should move but no node can take it: it stays (Warning Event). */
  | { action: "stay"; holder?: string; cause: MoveCause; reason: string };

/** Decides what to do with the EIP; see the module documentation. */
export function decideEip(input: EipDecisionInput): EipDecision {
  const nodes = [...input.nodes].sort(compareNodes);
  const byDevice = new Map(nodes.filter((n) => n.deviceId).map((n) => [n.deviceId!, n]));
  const { assignments } = input;

  if (assignments.length === 0) {
    return moveOrStay(nodes, {
      cause: "unassigned",
      why: "it is not assigned to any device",
      allowCordoned: true,
    });
  }
  if (assignments.length > 1) return repair(nodes, byDevice, input);

  const held = assignments[0]!;
  const holder = byDevice.get(held.deviceId);
  if (!holder) {
    const uninitialized = nodes.filter((n) => !n.deviceId).map((n) => n.name);
    if (uninitialized.length > 0) {
      return {
        action: "wait",
        reason:
          `device ${held.deviceId} holds it but matches no control-plane node; waiting for nodes without a ` +
          `providerID (${uninitialized.join(", ")}) to be initialized`,
      };
    }
    return moveOrStay(nodes, {
      cause: "not-control-plane",
      why: `device ${held.deviceId} holding it is not a control-plane node`,
      allowCordoned: true,
      unassign: [held],
      from: [`device ${held.deviceId}`],
    });
  }
  const from = { unassign: [held], from: [holder.name], holder: holder.name };
  if (holder.deleting) {
    return moveOrStay(nodes, {
      cause: "deleting",
      why: `node ${holder.name} is being deleted`,
      allowCordoned: true,
      ...from,
    });
  }
  if (holder.health === "unhealthy") {
    return moveOrStay(nodes, {
      cause: "unhealthy",
      why: `node ${holder.name} failed ${holder.failures} consecutive health checks (${holder.healthDetail})`,
      allowCordoned: true,
      ...from,
    });
  }
  if (holder.unschedulable) {
    return moveOrStay(nodes, {
      cause: "unschedulable",
      why: `node ${holder.name} is cordoned`,
      allowCordoned: false,
      ...from,
    });
  }
  if (holder.health === "unknown") {
    return {
      action: "wait",
      holder: holder.name,
      reason: `node ${holder.name} has not been health-checked yet`,
    };
  }
  if (holder.health === "failing") {
    return {
      action: "keep",
      holder: holder.name,
      note:
        `node ${holder.name} failed ${holder.failures} consecutive health check(s) (${holder.healthDetail})`,
    };
  }
  return { action: "keep", holder: holder.name };
}

interface MoveRequest {
  cause: MoveCause;
  /** Why the EIP must move, for messages. */
  why: string;
  /** Whether a cordoned node may take it (when the holder is not merely cordoned). */
  allowCordoned: boolean;
  unassign?: EipAssignment[];
  from?: string[];
  holder?: string;
  repair?: boolean;
}

function moveOrStay(nodes: readonly EipNode[], req: MoveRequest): EipDecision {
  const exclude = new Set(req.from ?? []);
  const target = pickTarget(nodes, exclude, req.allowCordoned);
  if (target) {
    return {
      action: "move",
      target,
      unassign: req.unassign ?? [],
      from: req.from ?? [],
      cause: req.cause,
      reason: req.why,
      repair: req.repair ?? false,
    };
  }
  const others = nodes.filter((n) => !exclude.has(n.name));
  const why = others.length === 0
    ? "there is no other control-plane node"
    : others.map((n) => `${n.name}: ${unfitReason(n, req.allowCordoned)}`).join("; ");
  return {
    action: "stay",
    holder: req.holder,
    cause: req.cause,
    reason: `${req.why}, but no healthy control-plane node can take it (${why})`,
  };
}

/** The best node to hold the EIP: healthy, initialized, not being deleted, schedulable if possible, oldest. */
function pickTarget(
  nodes: readonly EipNode[],
  exclude: ReadonlySet<string>,
  allowCordoned: boolean,
): EipTarget | undefined {
  const fit = nodes.filter((n): n is EipTarget =>
    n.health === "healthy" && !!n.deviceId && !n.deleting && !exclude.has(n.name)
  );
  return fit.find((n) => !n.unschedulable) ?? (allowCordoned ? fit[0] : undefined);
}

function unfitReason(node: EipNode, allowCordoned: boolean): string {
  if (node.deleting) return "being deleted";
  if (!node.deviceId) return "no providerID";
  if (node.health === "unknown") return "not health-checked yet";
  if (node.health !== "healthy") return node.healthDetail;
  if (node.unschedulable && !allowCordoned) return "cordoned";
  return "unavailable";
}

function repair(
  nodes: readonly EipNode[],
  byDevice: ReadonlyMap<string, EipNode>,
  input: EipDecisionInput,
): EipDecision {
  const holders = input.assignments.map((a) => ({ assignment: a, node: byDevice.get(a.deviceId) }));
  const names = holders.map((h) => h.node?.name ?? `device ${h.assignment.deviceId}`);
  const what = `it has ${holders.length} assignments (${names.join(", ")})`;
  const rank = (h: (typeof holders)[number]) =>
    !h.node || h.node.deleting ? 3 : h.node.health === "healthy" ? (h.node.unschedulable ? 1 : 0) : 2;
  const ranked = [...holders].sort((a, b) =>
    rank(a) - rank(b) || (a.node && b.node ? compareNodes(a.node, b.node) : a.node ? -1 : b.node ? 1 : 0)
  );
  const best = ranked[0]!;
  const unassignOthers = (keep: typeof best) => input.assignments.filter((a) => a !== keep.assignment);
  if (best.node && rank(best) <= 1) {
    return {
      action: "repair",
      holder: best.node.name,
      unassign: unassignOthers(best),
      reason: `${what}; kept node ${best.node.name}, the healthy one`,
    };
  }
  const moved = moveOrStay(nodes, {
    cause: "unhealthy",
    why: `${what} and none is healthy`,
    allowCordoned: true,
    unassign: [...input.assignments],
    from: names,
    repair: true,
  });
  if (moved.action === "move") return moved;
  // Nobody healthy anywhere: at least end the ambiguous routing, keeping the most plausible holder.
  const keepName = best.node?.name ?? `device ${best.assignment.deviceId}`;
  return {
    action: "repair",
    holder: keepName,
    unassign: unassignOthers(best),
    reason: `${what} and no control-plane node is healthy; kept ${keepName}`,
  };
}
