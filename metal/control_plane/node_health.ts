/**
 * Health of the control-plane API servers, shared by the EIP and load balancer managers: each node is checked
 * on its own addresses (ExternalIPs, then InternalIPs; the first healthy answer wins), and the EIP holder may
 * also be checked through the EIP itself. Results feed a {@linkcode HealthTracker} and the metrics.
 *
 * @module
 */
import type { Clock } from "../../util/clock.ts";
import type { HealthProber } from "./health_probe.ts";
import { type HealthRecord, HealthTracker, type ProbeResult } from "./health_tracker.ts";
import type { ControlPlaneMetrics } from "./metrics.ts";
import { type ControlPlaneNode, healthzUrl } from "./nodes.ts";

/** Tracker key of the EIP path. */
const EIP_KEY = "eip";
const hostKey = (node: string) => `host/${node}`;

/** Options of {@linkcode NodeHealth}. */
export interface NodeHealthOptions {
  prober: HealthProber;
  /** Consecutive failures before a node (or the EIP path) counts as unhealthy. */
  failureThreshold: number;
  metrics: ControlPlaneMetrics;
  clock: Clock;
}

/** See the module documentation. */
export class NodeHealth {
  readonly #prober: HealthProber;
  readonly #tracker: HealthTracker;
  readonly #metrics: ControlPlaneMetrics;
  readonly #clock: Clock;
  /** Node whose EIP-path results the tracker holds. */
  #eipHolder: string | undefined;

  constructor(options: NodeHealthOptions) {
    this.#prober = options.prober;
    this.#tracker = new HealthTracker(options.failureThreshold);
    this.#metrics = options.metrics;
    this.#clock = options.clock;
  }

  /**
   * Checks `nodes` on their own addresses at `port`, in parallel; with `onlyUnchecked`, only nodes never
   * checked (new ones). Forgets nodes that are no longer listed.
   */
  async checkNodes(
    nodes: readonly ControlPlaneNode[],
    port: number,
    options: { onlyUnchecked?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    this.#tracker.retain(new Set([...nodes.map((n) => hostKey(n.name)), EIP_KEY]));
    if (this.#eipHolder !== undefined && !nodes.some((n) => n.name === this.#eipHolder)) this.forgetEip();
    const due = options.onlyUnchecked ? nodes.filter((n) => !this.#tracker.get(hostKey(n.name))) : nodes;
    await Promise.all(due.map(async (node) => {
      const result = await this.#checkAddresses(node, port, options.signal);
      if (options.signal?.aborted) return;
      this.#tracker.record(hostKey(node.name), result, this.#clock.now());
    }));
    this.#metrics.healthyNodes.set(nodes.filter((n) => this.host(n.name)?.state === "healthy").length);
  }

  /** Checks the EIP path (`https://<eip>:<port>/healthz`) on behalf of its holder `node`. */
  async checkEip(node: string, eip: string, port: number, signal?: AbortSignal): Promise<void> {
    if (this.#eipHolder !== node) this.forgetEip();
    const url = healthzUrl(eip, port);
    const outcome = await this.#prober.probe(url, signal);
    this.#observe(node, "eip", outcome.ok, outcome.seconds);
    if (signal?.aborted) return;
    this.#eipHolder = node;
    const detail = `${outcome.detail} from ${url}`;
    this.#tracker.record(EIP_KEY, { ok: outcome.ok, detail, url, address: eip }, this.#clock.now());
  }

  /** What is known of `node`'s own API server. */
  host(node: string): HealthRecord | undefined {
    return this.#tracker.get(hostKey(node));
  }

  /** What is known of the EIP path while `node` holds the EIP. */
  eip(node: string): HealthRecord | undefined {
    return this.#eipHolder === node ? this.#tracker.get(EIP_KEY) : undefined;
  }

  /** Forgets EIP-path results (the EIP moved, so they describe another node). */
  forgetEip(): void {
    this.#tracker.forget(EIP_KEY);
    this.#eipHolder = undefined;
  }

  async #checkAddresses(node: ControlPlaneNode, port: number, signal?: AbortSignal): Promise<ProbeResult> {
    if (node.addresses.length === 0) {
      return { ok: false, detail: "the node has no ExternalIP or InternalIP address", url: "" };
    }
    const failures: string[] = [];
    let lastUrl = "";
    for (const address of node.addresses) {
      lastUrl = healthzUrl(address, port);
      const outcome = await this.#prober.probe(lastUrl, signal);
      this.#observe(node.name, "host", outcome.ok, outcome.seconds);
      if (outcome.ok) return { ok: true, detail: `${outcome.detail} from ${lastUrl}`, url: lastUrl, address };
      failures.push(`${outcome.detail} from ${lastUrl}`);
      if (signal?.aborted) break;
    }
    return { ok: false, detail: failures.join(", "), url: lastUrl };
  }

  #observe(node: string, path: "host" | "eip", ok: boolean, seconds: number): void {
    const result = ok ? "success" : "failure";
    this.#metrics.healthChecks.inc({ node, path, result });
    this.#metrics.healthCheckDuration.observe({ path, result }, seconds);
  }
}
