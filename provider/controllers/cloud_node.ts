/**
 * The cloud node controller (`cloud-node-controller`): initializes nodes tainted
 * `node.cloudprovider.kubernetes.io/uninitialized` from the provider's instance metadata, keeps GA topology
 * labels in step with beta ones, and refreshes node addresses every `--node-status-update-frequency`.
 *
 * Reads come from the informer cache; initializing a node costs one status patch (addresses) and one patch
 * (providerID, labels, taint removal) guarded by the cached `resourceVersion`.
 *
 * @module
 */
import type { V1Node } from "@kubernetes/client-node";
import { getLogger, type Logger } from "@logtape/logtape";
import type { Histogram, Registry } from "prom-client";
import type { Controller, ControllerRunContext, InstancesV2 } from "../cloud.ts";
import { type Clock, systemClock } from "../../util/clock.ts";
import { runPeriodically } from "../../util/periodic.ts";
import { forEachConcurrently } from "../../util/worker_pool.ts";
import { NodeNotManagedError } from "../errors.ts";
import { getOrCreateHistogram } from "../metrics.ts";
import type { EventRecorder } from "../events.ts";
import { isConflict, isNotFound } from "../kube/errors.ts";
import type { Informer } from "../kube/informer_factory.ts";
import { jsonMeta } from "../kube/json_types.ts";
import { nodeRateLimiter } from "../rate_limiter.ts";
import { runWorkers } from "../workers.ts";
import { WorkQueue } from "../workqueue.ts";
import type { NodeWriter } from "./kube_writers.ts";
import { addressesChanged, desiredNodeAddresses } from "./node_addresses.ts";
import { isUninitialized, planLabelReconcile, planNodeInit } from "./node_init.ts";
import { errorMessage } from "../../util/errors.ts";

/** Canonical name; also the Event source component and the work-queue name. */
export const CLOUD_NODE_CONTROLLER = "cloud-node-controller";

/** Options for {@linkcode CloudNodeController}. */
export interface CloudNodeControllerOptions {
  instances: InstancesV2;
  nodes: Informer<V1Node>;
  writer: NodeWriter;
  recorder: EventRecorder;
  /** `--concurrent-node-syncs`. */
  workers: number;
  /** `--concurrent-node-status-updates`; 0 means `workers`. */
  statusUpdateWorkers: number;
  /** `--node-status-update-frequency`. */
  statusUpdateFrequencyMs: number;
  registry?: Registry;
  clock?: Clock;
  logger?: Logger;
}

/** Conflicts tolerated per initialization before the key is requeued with backoff. */
const CONFLICT_RETRIES = 5;

/** See the module documentation. */
export class CloudNodeController implements Controller {
  readonly name = CLOUD_NODE_CONTROLLER;
  readonly #o: CloudNodeControllerOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics?: { taintRemovalDelay: Histogram; initialSyncDelay: Histogram };
  /** Resource versions our own init writes produced, per node, until the cache shows the node initialized. */
  readonly #ownWrites = new Map<string, Set<string>>();

  constructor(options: CloudNodeControllerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? getLogger(["ccm", CLOUD_NODE_CONTROLLER]);
    if (options.registry !== undefined) this.#metrics = nodeMetrics(options.registry);
  }

  /** Runs the work queue and the periodic address refresh until `ctx.signal` aborts. */
  async run(ctx: ControllerRunContext): Promise<void> {
    const queue = new WorkQueue({
      name: CLOUD_NODE_CONTROLLER,
      registry: this.#o.registry,
      clock: this.#clock,
      rateLimiter: nodeRateLimiter({ clock: this.#clock }),
    });
    const key = (node: V1Node) => node.metadata?.name ?? "";
    const removeHandlers = this.#o.nodes.addHandlers({
      add: (node) => queue.add(key(node)),
      update: (_old, node) => queue.add(key(node)),
    });
    try {
      await Promise.all([
        runWorkers({
          queue,
          workers: this.#o.workers,
          sync: (name, signal) => this.syncNode(name, signal),
          logger: this.#logger,
          signal: ctx.signal,
          syncSignal: ctx.syncSignal,
          registry: this.#o.registry,
          controller: CLOUD_NODE_CONTROLLER,
          clock: this.#clock,
        }),
        this.#refreshLoop(ctx),
      ]);
    } finally {
      removeHandlers();
      queue.shutDown();
    }
  }

  /** Initializes one node, or reconciles its labels when it is already initialized. */
  async syncNode(name: string, signal?: AbortSignal): Promise<void> {
    const node = this.#o.nodes.get(name);
    if (node === undefined) {
      this.#ownWrites.delete(name);
      return;
    }
    if (!isUninitialized(node)) {
      this.#ownWrites.delete(name);
      await this.#reconcileLabels(node);
      return;
    }
    // Still tainted in a version we wrote ourselves (the status patch): the cache has not caught up with our
    // final patch yet, whose event is on its way. Initializing again would only cost a conflict.
    if (this.#ownWrites.get(name)?.has(node.metadata?.resourceVersion ?? "")) return;
    let meta;
    try {
      meta = await this.#o.instances.instanceMetadata(node, signal);
    } catch (err) {
      if (err instanceof NodeNotManagedError) {
        this.#logger.debug("Skipped node managed by another provider", { node: name });
        return;
      }
      throw new Error(`failed to get instance metadata for node "${name}": ${errorMessage(err)}`, {
        cause: err,
      });
    }
    this.#metrics?.initialSyncDelay.observe(this.#ageSeconds(node));
    let current = node;
    const written = new Set<string>();
    for (let attempt = 1;; attempt++) {
      const plan = planNodeInit(current, meta);
      try {
        if (plan.addresses !== undefined) {
          // Addresses first, so the node is never schedulable without them.
          const updated = await this.#o.writer.patchStatus(name, { status: { addresses: plan.addresses } });
          plan.patch.metadata.resourceVersion = updated.metadata?.resourceVersion;
          written.add(updated.metadata?.resourceVersion ?? "");
        }
        const final = await this.#o.writer.patch(name, plan.patch);
        written.add(final.metadata?.resourceVersion ?? "");
        this.#ownWrites.set(name, written);
        break;
      } catch (err) {
        if (isNotFound(err)) return; // deleted meanwhile
        if (!isConflict(err) || attempt >= CONFLICT_RETRIES) {
          throw new Error(`failed to initialize node "${name}": ${errorMessage(err)}`, { cause: err });
        }
        current = await this.#o.writer.get(name);
        if (!isUninitialized(current)) return; // someone else finished it
      }
    }
    this.#metrics?.taintRemovalDelay.observe(this.#ageSeconds(node));
    this.#logger.info("Initialized node", { v: 2, node: name, providerID: meta.providerID });
    this.#o.recorder.event(node, "Normal", "Synced", "Node synced successfully");
  }

  /**
   * Refreshes the addresses of every initialized node once; returns how many were patched. `signal` aborts
   * provider calls; `stop` only stops starting new nodes (graceful shutdown finishes the nodes in progress).
   */
  async refreshAddresses(signal?: AbortSignal, stop?: AbortSignal): Promise<number> {
    const nodes = this.#o.nodes.list().filter((n) => !isUninitialized(n));
    const stopSignals = [signal, stop].filter((s) => s !== undefined);
    let patched = 0;
    await forEachConcurrently(nodes, async (node) => {
      if (await this.#refreshNode(node, signal)) patched++;
    }, {
      concurrency: this.#o.statusUpdateWorkers || this.#o.workers,
      signal: stopSignals.length > 0 ? AbortSignal.any(stopSignals) : undefined,
    });
    return patched;
  }

  async #refreshNode(node: V1Node, signal?: AbortSignal): Promise<boolean> {
    const name = node.metadata?.name ?? "";
    try {
      const meta = await this.#o.instances.instanceMetadata(node, signal);
      const desired = desiredNodeAddresses(node, meta.nodeAddresses);
      if (desired === undefined || !addressesChanged(node.status?.addresses ?? [], desired)) return false;
      await this.#o.writer.patchStatus(name, { status: { addresses: desired } });
      this.#logger.info("Updated node addresses", { v: 2, node: name });
      return true;
    } catch (err) {
      if (err instanceof NodeNotManagedError || isNotFound(err)) return false;
      this.#logger.error("Failed to update node addresses", { node: name, err });
      return false;
    }
  }

  async #refreshLoop(ctx: ControllerRunContext): Promise<void> {
    // Like upstream's wait.Until: once at start, then every period. A pass can be long while the provider fails
    // (every node waits for its retries): it stops starting nodes on shutdown.
    await runPeriodically(() => this.refreshAddresses(ctx.syncSignal, ctx.signal), {
      periodMs: this.#o.statusUpdateFrequencyMs,
      signal: ctx.signal,
      clock: this.#clock,
      onError: (err) => this.#logger.error("Failed to refresh node addresses", { err }),
    });
  }

  async #reconcileLabels(node: V1Node): Promise<void> {
    const labels = planLabelReconcile(node);
    if (labels === undefined) return;
    const name = node.metadata?.name ?? "";
    try {
      await this.#o.writer.patch(name, {
        metadata: { labels, resourceVersion: node.metadata?.resourceVersion },
      });
      this.#logger.info("Reconciled node labels", { v: 2, node: name, labels });
    } catch (err) {
      if (isNotFound(err)) return;
      // A conflict means the cache is behind; the newer version is queued already.
      if (isConflict(err)) return;
      throw new Error(`failed to reconcile labels of node "${name}": ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  #ageSeconds(node: V1Node): number {
    const created = jsonMeta(node).creationTimestamp;
    return created === undefined ? 0 : Math.max(0, (this.#clock.now() - new Date(created).getTime()) / 1000);
  }
}

/** Upstream node controller histograms (buckets 1 s × 4^n, 6 buckets). */
function nodeMetrics(registry: Registry): { taintRemovalDelay: Histogram; initialSyncDelay: Histogram } {
  const buckets = Array.from({ length: 6 }, (_, i) => 4 ** i);
  return {
    taintRemovalDelay: getOrCreateHistogram(registry, {
      name: "node_controller_cloud_provider_taint_removal_delay_seconds",
      help:
        "Number of seconds after node creation when NodeController removed the cloud-provider taint of a " +
        "single node",
      buckets,
    }),
    initialSyncDelay: getOrCreateHistogram(registry, {
      name: "node_controller_initial_node_sync_delay_seconds",
      help:
        "Number of seconds after node creation when NodeController finished the initial synchronization " +
        "of a single node",
      buckets,
    }),
  };
}
