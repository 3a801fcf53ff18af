/**
 * The cloud node lifecycle controller (`cloud-node-lifecycle-controller`): every `--node-monitor-period` it
 * looks at every node; NotReady nodes whose instance the provider confirms gone are deleted (Event first),
 * shut-down instances get the `node.cloudprovider.kubernetes.io/shutdown` taint, and Ready nodes lose it.
 *
 * A provider error is never taken as "gone": the node is kept, the error logged, and a Warning Event recorded
 * (at most once per node per `warnIntervalMs`).
 *
 * @module
 */
import type { V1Node, V1Taint } from "@kubernetes/client-node";
import { getLogger, type Logger } from "@logtape/logtape";
import type { Controller, ControllerRunContext, InstancesV2 } from "../cloud.ts";
import { type Clock, systemClock } from "../../util/clock.ts";
import { runPeriodically } from "../../util/periodic.ts";
import { forEachConcurrently } from "../../util/worker_pool.ts";
import type { EventRecorder } from "../events.ts";
import { isConflict, isNotFound } from "../kube/errors.ts";
import type { Informer } from "../kube/informer_factory.ts";
import type { NodeWriter } from "./kube_writers.ts";
import { decideLifecycle, type LifecycleAction } from "./lifecycle_logic.ts";
import { isUninitialized } from "./node_init.ts";
import { TAINT_SHUTDOWN } from "./well_known.ts";
import { errorMessage } from "../../util/errors.ts";

/** Canonical name; also the Event source component. */
export const CLOUD_NODE_LIFECYCLE_CONTROLLER = "cloud-node-lifecycle-controller";

/** Reason of the Warning recorded when the provider cannot tell whether a NotReady node's instance exists. */
export const REASON_INSTANCE_CHECK_FAILED = "InstanceCheckFailed";

/** Options for {@linkcode CloudNodeLifecycleController}. */
export interface CloudNodeLifecycleControllerOptions {
  instances: InstancesV2;
  nodes: Informer<V1Node>;
  writer: NodeWriter;
  recorder: EventRecorder;
  /** `--node-monitor-period`. */
  periodMs: number;
  /** Minimum time between two provider-error Warnings for one node; default 10 minutes. */
  warnIntervalMs?: number;
  /** Nodes checked in parallel; default 4. */
  concurrency?: number;
  clock?: Clock;
  logger?: Logger;
}

/** See the module documentation. */
export class CloudNodeLifecycleController implements Controller {
  readonly name = CLOUD_NODE_LIFECYCLE_CONTROLLER;
  readonly #o: CloudNodeLifecycleControllerOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  /** Node name → time of the last provider-error Warning. */
  readonly #lastWarning = new Map<string, number>();

  constructor(options: CloudNodeLifecycleControllerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? getLogger(["ccm", CLOUD_NODE_LIFECYCLE_CONTROLLER]);
  }

  /** Monitors nodes every period until `ctx.signal` aborts; a pass in progress is finished first. */
  async run(ctx: ControllerRunContext): Promise<void> {
    await runPeriodically(() => this.monitorNodes(ctx.syncSignal, ctx.signal), {
      periodMs: this.#o.periodMs,
      signal: ctx.signal,
      clock: this.#clock,
      onError: (err) => this.#logger.error("Failed to monitor nodes", { err }),
    });
  }

  /** One pass over all cached nodes; stops starting new nodes when `stop` aborts. */
  async monitorNodes(signal?: AbortSignal, stop?: AbortSignal): Promise<void> {
    const nodes = this.#o.nodes.list();
    const present = new Set(nodes.map((n) => n.metadata?.name ?? ""));
    for (const name of this.#lastWarning.keys()) if (!present.has(name)) this.#lastWarning.delete(name);
    await forEachConcurrently(nodes, async (node) => {
      const action = await decideLifecycle(node, this.#o.instances, signal);
      await this.#apply(node, action);
    }, { concurrency: this.#o.concurrency ?? 4, signal: stop });
  }

  async #apply(node: V1Node, action: LifecycleAction): Promise<void> {
    const name = node.metadata?.name ?? "";
    switch (action.kind) {
      case "none":
      case "notManaged":
        return;
      case "unknown":
        this.#providerError(node, action.step, action.err);
        return;
      case "delete":
        return await this.#deleteNode(node);
      case "addShutdownTaint": {
        const taint: V1Taint = { key: TAINT_SHUTDOWN, effect: "NoSchedule" };
        await this.#patchTaints(node, [...(node.spec?.taints ?? []), taint], "Added shutdown taint to node");
        return;
      }
      case "removeShutdownTaint": {
        const taints = (node.spec?.taints ?? []).filter((t) => t.key !== TAINT_SHUTDOWN);
        await this.#patchTaints(node, taints, "Removed shutdown taint from node");
        return;
      }
      default:
        this.#logger.error("Unknown lifecycle action", { node: name, action });
    }
  }

  async #deleteNode(node: V1Node): Promise<void> {
    const name = node.metadata?.name ?? "";
    this.#logger.info("Deleting node because its instance no longer exists", { v: 2, node: name });
    this.#o.recorder.event(
      node,
      "Normal",
      "DeletingNode",
      `Deleting node ${name} because it does not exist in the cloud provider`,
    );
    try {
      await this.#o.writer.delete(name, node.metadata?.uid);
      this.#logger.info("Deleted node", { node: name });
    } catch (err) {
      if (isNotFound(err)) return;
      const message = errorMessage(err);
      this.#logger.error("Failed to delete node", { node: name, err: message });
      this.#o.recorder.event(
        node,
        "Warning",
        "DeletingNodeFailed",
        `Error deleting node ${name}: ${message}`,
      );
    }
  }

  async #patchTaints(node: V1Node, taints: V1Taint[], done: string): Promise<void> {
    const name = node.metadata?.name ?? "";
    try {
      // The resourceVersion precondition keeps taints added meanwhile by others; a conflict is retried next period.
      await this.#o.writer.patch(name, {
        metadata: { resourceVersion: node.metadata?.resourceVersion },
        spec: { taints: taints.length === 0 ? null : taints },
      });
      this.#logger.info(done, { v: 2, node: name });
    } catch (err) {
      if (isNotFound(err)) return;
      if (isConflict(err)) {
        this.#logger.debug("Node changed while updating taints; retrying next period", { node: name });
        return;
      }
      this.#logger.error("Failed to update node taints", { node: name, err: errorMessage(err) });
    }
  }

  #providerError(node: V1Node, step: "exists" | "shutdown", err: unknown): void {
    const name = node.metadata?.name ?? "";
    const what = step === "exists" ? "whether its instance exists" : "whether its instance is shut down";
    const reason = errorMessage(err);
    if (isUninitialized(node)) {
      // Still joining (kubelets register NotReady, usually before the cloud node controller has set a
      // providerID to check by): that controller reports its own failures, so no Warning here.
      this.#logger.info(`Kept uninitialized node: cannot tell ${what}`, { v: 2, node: name, err: reason });
      return;
    }
    this.#logger.error(`Kept node: cannot tell ${what}`, { node: name, err });
    const now = this.#clock.now();
    const last = this.#lastWarning.get(name);
    if (last !== undefined && now - last < (this.#o.warnIntervalMs ?? 600_000)) return;
    this.#lastWarning.set(name, now);
    this.#o.recorder.event(
      node,
      "Warning",
      REASON_INSTANCE_CHECK_FAILED,
      `Kept NotReady node ${name}: the cloud provider could not tell ${what}: ${reason}`,
    );
  }
}
