/**
 * `bgp-node-controller`: keeps BGP level-triggered on every Node the BGP node selector picks — session
 * enabled, annotations matching the current neighbour data, stale peer indexes removed — and removes the peer
 * annotations of Nodes that are no longer selected. Upstream wrote annotations once, only while ensuring a
 * Service (docs/upstream.md#node-annotations-kept-current). Runs on the leader, in the modes that announce
 * with BGP.
 *
 * Every resync period it first checks the project for changes (BGP configuration, session list: two calls,
 * see {@linkcode BgpNodeManager.checkProject}), then reconciles every Node from cached data: an idle cluster
 * costs two Metal calls per period however many nodes it has.
 *
 * @module
 */
import type { V1Node } from "@kubernetes/client-node";
import { getLogger, type Logger } from "@logtape/logtape";
import type { Registry } from "prom-client";
import {
  type Controller,
  type ControllerRunContext,
  RetryError,
  runWorkers,
  WorkQueue,
} from "../../provider/mod.ts";
import { type Clock, systemClock } from "../../util/clock.ts";
import { runPeriodically } from "../../util/periodic.ts";
import type { Informer } from "../../provider/kube/mod.ts";
import type { LabelSelector } from "../../util/label_selector.ts";
import { ownDeviceId } from "../provider_id.ts";
import type { BgpNodeManager } from "./node_bgp.ts";

/** Controller name (logs, metrics, `/healthz`). */
export const BGP_NODE_CONTROLLER = "bgp-node-controller";

/** Default period after which every Node is checked again and its neighbour data re-read. */
export const DEFAULT_BGP_RESYNC_MS = 5 * 60_000;

/** How long to wait before asking again for neighbour data the API does not have yet. */
const NEIGHBOR_RETRY_MS = 30_000;

/** Options of {@linkcode BgpNodeController}. */
export interface BgpNodeControllerOptions {
  manager: BgpNodeManager;
  nodes: Informer<V1Node>;
  /** `METAL_BGP_NODE_SELECTOR`. */
  selector: LabelSelector;
  /** Default {@linkcode DEFAULT_BGP_RESYNC_MS}. */
  resyncMs?: number;
  /** Nodes reconciled at once; default 2. */
  workers?: number;
  registry?: Registry;
  clock?: Clock;
  logger?: Logger;
}

/** See the module documentation. */
export class BgpNodeController implements Controller {
  readonly name = BGP_NODE_CONTROLLER;
  #o: BgpNodeControllerOptions;
  #clock: Clock;
  #logger: Logger;
  #resyncMs: number;

  constructor(options: BgpNodeControllerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? getLogger(["ccm", BGP_NODE_CONTROLLER]);
    this.#resyncMs = options.resyncMs ?? DEFAULT_BGP_RESYNC_MS;
  }

  async run({ signal }: ControllerRunContext): Promise<void> {
    const queue = new WorkQueue({ name: "bgp-node", clock: this.#clock, registry: this.#o.registry });
    const enqueue = (node: V1Node) => queue.add(node.metadata?.name ?? "");
    const removeHandlers = this.#o.nodes.addHandlers({
      add: enqueue,
      update: (old, node) => {
        if (relevantChange(old, node)) enqueue(node);
      },
      delete: (node) => {
        const deviceId = ownDeviceId(node.spec?.providerID);
        if (deviceId !== undefined) this.#o.manager.forgetDevice(deviceId);
      },
    });
    // The first check records the project's state (later ones compare with it) and the sessions that exist, so
    // a restart does not ask for every node's session again.
    await this.#checkProject(signal);
    const resync = runPeriodically(async () => {
      await this.#checkProject(signal);
      for (const node of this.#o.nodes.list()) enqueue(node);
    }, { periodMs: this.#resyncMs, signal, clock: this.#clock, immediate: false });
    try {
      await runWorkers({
        queue,
        workers: this.#o.workers ?? 2,
        sync: (name, syncSignal) => this.syncNode(name, syncSignal),
        logger: this.#logger,
        signal,
        registry: this.#o.registry,
        controller: BGP_NODE_CONTROLLER,
        clock: this.#clock,
      });
    } finally {
      removeHandlers();
      queue.shutDown();
      await resync;
    }
  }

  /** Reconciles one Node by name. */
  async syncNode(name: string, signal?: AbortSignal): Promise<void> {
    const node = this.#o.nodes.get(name);
    if (node === undefined) return;
    if (!this.#o.selector.matches(node.metadata?.labels)) {
      await this.#o.manager.clearNode(node, signal);
      return;
    }
    // Not initialized yet (the cloud node controller sets the providerID), or another provider's node.
    if (!node.spec?.providerID || ownDeviceId(node.spec?.providerID) === undefined) return;
    const peer = await this.#o.manager.ensureNode(node, { signal });
    if (peer === undefined) {
      throw new RetryError(`Waiting for BGP neighbour data of node "${name}"`, NEIGHBOR_RETRY_MS);
    }
  }

  async #checkProject(signal: AbortSignal): Promise<void> {
    try {
      await this.#o.manager.checkProject(signal);
    } catch (err) {
      if (signal.aborted) return;
      // Cached data stays in use; the next period checks again.
      this.#logger.warn("Failed to check the project's BGP configuration and sessions", { err });
    }
  }
}

/** Changes that can change what the Node needs: labels (selector), providerID, our annotations. */
function relevantChange(old: V1Node, node: V1Node): boolean {
  return JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(node.metadata?.labels ?? {}) ||
    old.spec?.providerID !== node.spec?.providerID ||
    JSON.stringify(old.metadata?.annotations ?? {}) !== JSON.stringify(node.metadata?.annotations ?? {});
}
