/**
 * The control-plane EIP manager's work on one pass: find the reservation tagged `METAL_EIP_TAG`, check the
 * holder through the EIP when `METAL_EIP_HEALTH_CHECK_USE_HOST_IP` is off, decide ({@linkcode decideEip}) and
 * carry the decision out through the Metal API, with Events, logs and metrics.
 *
 * A move unassigns first and then assigns (the API refuses a second assignment of the same address); once the
 * unassignment is done the assignment is finished even if leadership is lost meanwhile. A crash in between
 * leaves the EIP unassigned, which the next pass (of any leader) repairs by assigning it.
 *
 * @module
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "@logtape/logtape";
import type { Clock } from "../../util/clock.ts";
import type { EventRecorder } from "../../provider/mod.ts";
import type { MetalClient } from "../api/client.ts";
import { isDefinitelyNotFound } from "../api/errors.ts";
import type { IpReservation } from "../api/types.ts";
import { decideEip, type EipAssignment, type EipDecision, type EipNode } from "./eip_decision.ts";
import type { ControlPlaneMetrics } from "./metrics.ts";
import type { NodeHealth } from "./node_health.ts";
import type { ControlPlaneNode } from "./nodes.ts";
import { errorMessage } from "../../util/errors.ts";

/** The Metal API calls the EIP manager makes. */
export type EipMetal = Pick<
  MetalClient,
  "listIpReservations" | "getIpReservation" | "assignIp" | "unassignIp"
>;

/** Event reasons, on the external Service and the Nodes involved. */
export const EIP_EVENT_REASONS = Object.freeze({
  assigned: "ControlPlaneEIPAssigned",
  moved: "ControlPlaneEIPMoved",
  unhealthy: "ControlPlaneEIPUnhealthy",
  notMoved: "ControlPlaneEIPNotMoved",
  repaired: "ControlPlaneEIPRepaired",
  moveFailed: "ControlPlaneEIPMoveFailed",
});

/** Options of {@linkcode EipManager}. */
export interface EipManagerOptions {
  /** `METAL_EIP_TAG`. */
  tag: string;
  projectId: string;
  /** `METAL_EIP_HEALTH_CHECK_USE_HOST_IP`: judge the holder on its own address instead of through the EIP. */
  useHostIp: boolean;
  metal: EipMetal;
  health: NodeHealth;
  recorder: EventRecorder;
  metrics: ControlPlaneMetrics;
  clock: Clock;
  logger: Logger;
  /** After a move, the EIP path of the new holder is not judged for this long (routing takes a moment). */
  settleMs: number;
  /** The external Service (for Events); the live object when known. */
  externalService: () => KubernetesObject;
}

/** Input of {@linkcode EipManager.reconcile}. */
export interface EipPass {
  reservation: IpReservation;
  nodes: readonly ControlPlaneNode[];
  /** API server port, when known (the EIP path is only checked with one). */
  port?: number;
  /** A periodic pass (checks the EIP path); event-driven passes reuse the last results. */
  tick: boolean;
  signal?: AbortSignal;
}

/** See the module documentation. */
export class EipManager {
  readonly #o: EipManagerOptions;
  #reservationId: string | undefined;
  #settleUntil = 0;
  /** Last Warning/log about a decision, so a standing problem is reported once, not every pass. */
  #lastReport = "";

  constructor(options: EipManagerOptions) {
    this.#o = options;
  }

  /**
   * The reservation tagged `METAL_EIP_TAG`, with its assignments. Once found it is re-read by id (one small
   * call) instead of listing every reservation of the project.
   *
   * @throws {Error} When no reservation carries the tag, or the API fails.
   */
  async lookup(signal?: AbortSignal): Promise<IpReservation> {
    const { metal, tag } = this.#o;
    if (this.#reservationId) {
      try {
        const r = await metal.getIpReservation(this.#reservationId, { include: ["assignments"], signal });
        if (r.tags.includes(tag)) return r;
      } catch (err) {
        if (!isDefinitelyNotFound(err)) throw err;
      }
      this.#reservationId = undefined;
    }
    const all = await metal.listIpReservations(this.#o.projectId, { includeAssignments: true, signal });
    const tagged = all.filter((r) => r.tags.includes(tag));
    const first = tagged[0];
    if (!first) {
      throw new Error(
        `No IP reservation in project "${this.#o.projectId}" has the tag "${tag}"; reserve an elastic IP with ` +
          "that tag or correct METAL_EIP_TAG",
      );
    }
    if (tagged.length > 1) {
      this.#o.logger.warn(
        "Several IP reservations have the control-plane EIP tag {tag}; using the first, {id}",
        {
          tag,
          id: first.id,
          ignored: tagged.slice(1).map((r) => r.id),
        },
      );
    }
    this.#reservationId = first.id;
    return first;
  }

  /** Decides and acts on one pass; returns the decision. */
  async reconcile(pass: EipPass): Promise<EipDecision> {
    const { health, useHostIp, clock } = this.#o;
    const eip = pass.reservation.address;
    const assignments = assignmentsOf(pass.reservation);
    const holder = assignments.length === 1
      ? pass.nodes.find((n) => n.deviceId === assignments[0]!.deviceId)
      : undefined;
    if (pass.tick && !useHostIp && pass.port && holder && clock.now() >= this.#settleUntil) {
      await health.checkEip(holder.name, eip, pass.port, pass.signal);
    }
    const nodes = pass.nodes.map((n): EipNode => {
      const record = (!useHostIp && n === holder ? health.eip(n.name) : undefined) ?? health.host(n.name);
      return {
        name: n.name,
        deviceId: n.deviceId,
        createdAt: n.createdAt,
        unschedulable: n.unschedulable,
        deleting: n.deleting,
        health: record?.state ?? "unknown",
        healthDetail: record?.last.detail ?? "not health-checked yet",
        failures: record?.consecutiveFailures ?? 0,
      };
    });
    const decision = decideEip({ address: eip, assignments, nodes });
    this.#setHolder(holder?.name, eip);
    await this.#act(decision, eip, pass);
    return decision;
  }

  async #act(d: EipDecision, eip: string, pass: EipPass): Promise<void> {
    const { logger } = this.#o;
    switch (d.action) {
      case "keep":
        this.#report(
          d.note ? `keep-failing ${d.holder}` : `keep ${d.holder}`,
          () =>
            logger.info("Control-plane EIP {eip} is on node {node}", {
              v: 2,
              eip,
              node: d.holder,
              note: d.note,
            }),
        );
        return;
      case "wait":
        this.#report(
          `wait ${d.reason}`,
          () => logger.info("Left control-plane EIP {eip} alone: {reason}", { v: 2, eip, reason: d.reason }),
        );
        return;
      case "stay":
        return this.#stay(d, eip, pass);
      case "repair":
        return await this.#repair(d, eip, pass);
      case "move":
        return await this.#move(d, eip, pass);
    }
  }

  #stay(d: Extract<EipDecision, { action: "stay" }>, eip: string, pass: EipPass): void {
    const reason = d.cause === "unhealthy" ? EIP_EVENT_REASONS.unhealthy : EIP_EVENT_REASONS.notMoved;
    const where = d.holder ? `stays on node ${d.holder}` : "stays unassigned";
    const message = `Control-plane elastic IP ${eip} ${where}: ${d.reason}`;
    // Reported once per holder and cause: the details (failure counts) change every check.
    this.#report(`stay ${d.cause} ${d.holder ?? ""}`, () => {
      this.#o.recorder.warn(this.#o.externalService(), reason, message);
      const node = pass.nodes.find((n) => n.name === d.holder);
      if (node) this.#o.recorder.event(node.node, "Warning", reason, message);
    });
  }

  async #repair(d: Extract<EipDecision, { action: "repair" }>, eip: string, pass: EipPass): Promise<void> {
    try {
      for (const a of d.unassign) await this.#unassign(a, pass.signal);
    } catch (err) {
      this.#failed(`repair the assignments of control-plane elastic IP ${eip}`, err);
      return;
    }
    this.#lastReport = "";
    this.#o.health.forgetEip();
    this.#o.metrics.failovers.inc({ cause: "repaired" });
    const message = `Repaired control-plane elastic IP ${eip}: ${d.reason}`;
    this.#o.recorder.warn(this.#o.externalService(), EIP_EVENT_REASONS.repaired, message);
    const node = pass.nodes.find((n) => n.name === d.holder);
    if (node) this.#o.recorder.event(node.node, "Warning", EIP_EVENT_REASONS.repaired, message);
    this.#setHolder(d.holder, eip);
  }

  async #move(d: Extract<EipDecision, { action: "move" }>, eip: string, pass: EipPass): Promise<void> {
    const { metal, recorder, clock, logger } = this.#o;
    try {
      for (const a of d.unassign) await this.#unassign(a, pass.signal);
    } catch (err) {
      this.#failed(`unassign control-plane elastic IP ${eip} from ${d.from.join(", ")}`, err);
      return;
    }
    try {
      // No signal: once unassigned, finish the move even if leadership is lost meanwhile.
      await metal.assignIp(d.target.deviceId, eip);
    } catch (err) {
      this.#failed(`assign control-plane elastic IP ${eip} to node ${d.target.name}`, err);
      return;
    }
    this.#lastReport = "";
    this.#settleUntil = clock.now() + this.#o.settleMs;
    this.#o.health.forgetEip();
    this.#o.metrics.failovers.inc({ cause: d.cause });
    this.#setHolder(d.target.name, eip);
    const reason = d.from.length > 0 ? EIP_EVENT_REASONS.moved : EIP_EVENT_REASONS.assigned;
    const message = d.from.length > 0
      ? `Moved control-plane elastic IP ${eip} from ${
        d.from.join(", ")
      } to node ${d.target.name}: ${d.reason}`
      : `Assigned control-plane elastic IP ${eip} to node ${d.target.name}: ${d.reason}`;
    logger.info(message, { eip, node: d.target.name, from: d.from, cause: d.cause });
    recorder.event(this.#o.externalService(), "Normal", reason, message);
    for (const n of pass.nodes) {
      if (n.name === d.target.name || d.from.includes(n.name)) {
        recorder.event(n.node, "Normal", reason, message);
      }
    }
    if (d.repair) recorder.warn(this.#o.externalService(), EIP_EVENT_REASONS.repaired, message);
  }

  async #unassign(a: EipAssignment, signal?: AbortSignal): Promise<void> {
    try {
      await this.#o.metal.unassignIp(a.id, { signal });
    } catch (err) {
      if (!isDefinitelyNotFound(err)) throw err;
    }
  }

  #failed(what: string, err: unknown): void {
    this.#lastReport = "";
    this.#o.recorder.warn(
      this.#o.externalService(),
      EIP_EVENT_REASONS.moveFailed,
      `Failed to ${what}: ${errorMessage(err)}; retrying on the next check`,
    );
  }

  /** Runs `report` when `key` differs from the last one reported. */
  #report(key: string, report: () => void): void {
    if (key === this.#lastReport) return;
    this.#lastReport = key;
    report();
  }

  #setHolder(node: string | undefined, eip: string): void {
    this.#o.metrics.eipHolder.reset();
    if (node) this.#o.metrics.eipHolder.set({ node, address: eip }, 1);
  }
}

/** The reservation's assignments with the device each points at (`assigned_to.href` ends in the device id). */
export function assignmentsOf(reservation: IpReservation): EipAssignment[] {
  return reservation.assignments.map((a) => {
    const deviceId = a.assignedTo?.split("/").filter(Boolean).at(-1);
    if (!a.id || !deviceId) {
      throw new Error(
        `Assignment of elastic IP ${reservation.address} (reservation "${reservation.id}") has no id or device ` +
          "link; cannot tell which device holds it",
      );
    }
    return { id: a.id, deviceId };
  });
}
