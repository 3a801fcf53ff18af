/**
 * The control-plane load balancer manager's work on one pass (`METAL_LOAD_BALANCER_ID`): the pool follows the
 * healthy control-plane nodes. A node leaves the pool only once it is unhealthy (the failure threshold, as
 * for the EIP) and joins as soon as it answers; cordoned nodes leave while any schedulable node is healthy.
 * With no healthy node at all the pool is left as it is — an empty pool would not help anyone.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ControlPlaneMetrics } from "./metrics.ts";
import type { NodeHealth } from "./node_health.ts";
import type { ControlPlaneNode } from "./nodes.ts";
import { type ControlPlaneLbaas, syncControlPlanePool } from "./load_balancer_pool.ts";

/** Options of {@linkcode LoadBalancerManager}. */
export interface LoadBalancerManagerOptions {
  /** `METAL_LOAD_BALANCER_ID`. */
  loadBalancerId: string;
  client: ControlPlaneLbaas;
  health: NodeHealth;
  metrics: ControlPlaneMetrics;
  logger: Logger;
}

/** See the module documentation. */
export class LoadBalancerManager {
  readonly #o: LoadBalancerManagerOptions;
  /** Last address each node answered healthy on. */
  #lastGood = new Map<string, string>();
  /** Members of the last successful sync (`port|addresses`). */
  #synced = "";
  #warned = false;

  constructor(options: LoadBalancerManagerOptions) {
    this.#o = options;
  }

  /** The addresses the pool should have, in node preference order. */
  members(nodes: readonly ControlPlaneNode[]): { address: string; schedulable: boolean }[] {
    const names = new Set(nodes.map((n) => n.name));
    for (const name of [...this.#lastGood.keys()]) if (!names.has(name)) this.#lastGood.delete(name);
    const members: { address: string; schedulable: boolean }[] = [];
    for (const node of nodes) {
      const record = this.#o.health.host(node.name);
      if (record?.state === "healthy" && record.last.address) {
        this.#lastGood.set(node.name, record.last.address);
      }
      const address = this.#lastGood.get(node.name);
      const inPool = record?.state === "healthy" || record?.state === "failing";
      if (!node.deleting && inPool && address) members.push({ address, schedulable: !node.unschedulable });
    }
    return members.some((m) => m.schedulable) ? members.filter((m) => m.schedulable) : members;
  }

  /** Syncs the pool when the members changed, or always with `force` (periodic passes repair drift). */
  async reconcile(
    pass: { nodes: readonly ControlPlaneNode[]; port: number; force: boolean; signal?: AbortSignal },
  ): Promise<void> {
    const { loadBalancerId, logger } = this.#o;
    const addresses = this.members(pass.nodes).map((m) => m.address);
    if (addresses.length === 0) {
      if (!this.#warned) {
        this.#warned = true;
        logger.warn(
          "No control-plane node is healthy; left the pool of load balancer {loadBalancerId} as it is",
          { loadBalancerId, nodes: pass.nodes.map((n) => n.name) },
        );
      }
      return;
    }
    this.#warned = false;
    const key = `${pass.port}|${addresses.join(",")}`;
    if (!pass.force && key === this.#synced) return;
    const result = await syncControlPlanePool({
      client: this.#o.client,
      loadBalancerId,
      port: pass.port,
      addresses,
      signal: pass.signal,
    });
    this.#synced = key;
    this.#o.metrics.lbOrigins.set(result.origins);
    if (result.createdPort || result.added.length > 0 || result.removed.length > 0) {
      logger.info("Updated the control-plane pool of load balancer {loadBalancerId}", {
        loadBalancerId,
        port: pass.port,
        added: result.added,
        removed: result.removed,
        createdPort: result.createdPort,
      });
    }
  }
}
