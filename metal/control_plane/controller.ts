/**
 * The control-plane endpoint controller (`control-plane-endpoint`), a provider loop that runs only on the
 * leader. One loop serves both upstream managers, so they share one set of health checks and can never fight:
 * - EIP manager (`METAL_EIP_TAG`): the EIP sits on a healthy control-plane node; the external Service and
 *   EndpointSlice follow `default/kubernetes` and the EIP;
 * - load balancer manager (`METAL_LOAD_BALANCER_ID`): the load balancer's pool follows the healthy nodes.
 *   It manages the pool directly; no Service is created for it (upstream's external Service with
 *   `equinix.com/loadbalancerID` made the Service controller rewrite the same pool with every node's NodePort).
 *
 * Level-triggered: every period all control-plane API servers are checked and everything is reconciled; node,
 * Service and EndpointSlice changes trigger an extra pass soon after (new nodes are checked at once, known
 * ones keep their last result, so events never speed up the failure count).
 *
 * @module
 */
import type { V1EndpointSlice, V1Node, V1Service } from "@kubernetes/client-node";
import type { Informer, InformerFactory, KubeConfig } from "../../provider/kube/mod.ts";
import { getLogger, type Logger } from "@logtape/logtape";
import type { Registry } from "prom-client";
import { type Clock, systemClock } from "../../util/clock.ts";
import type { Controller, ControllerRunContext, EventRecorder } from "../../provider/mod.ts";
import { isKubernetesEndpointSlice, resolveApiServerPort } from "./api_server_port.ts";
import { ClusterCa } from "./cluster_ca.ts";
import { EipManager, type EipMetal } from "./eip_manager.ts";
import { EXTERNAL_KEY, ExternalObjectsSync, KUBERNETES_KEY } from "./external_sync.ts";
import { type HealthProber, HttpsHealthProber } from "./health_probe.ts";
import type { ControlPlaneKube } from "./external_sync.ts";
import { LoadBalancerManager } from "./load_balancer_manager.ts";
import type { ControlPlaneLbaas } from "./load_balancer_pool.ts";
import { controlPlaneMetrics } from "./metrics.ts";
import { EXTERNAL_SERVICE_NAME, EXTERNAL_SERVICE_NAMESPACE } from "./names.ts";
import { NodeHealth } from "./node_health.ts";
import { controlPlaneNodes, isControlPlaneNode } from "./nodes.ts";
import { errorMessage } from "../../util/errors.ts";

/** Timing knobs; defaults in {@linkcode DEFAULT_CONTROL_PLANE_TIMING}. */
export interface ControlPlaneTiming {
  /** Period of the health checks and full reconciliation. */
  periodMs: number;
  /** Consecutive failed checks before a node (or the EIP path) counts as unhealthy. */
  failureThreshold: number;
  /** Delay between a watched change and the pass it triggers (changes in a burst share one pass). */
  eventDelayMs: number;
  /** Deadline of one health check. */
  probeTimeoutMs: number;
  /** After a move, how long the new holder is not judged through the EIP (only without USE_HOST_IP). */
  eipSettleMs: number;
  /** How often the cluster CA is re-read. */
  caRefreshMs: number;
}

/** Defaults: checks every 10 s (upstream resynced every 60 s), act after 2 failures in a row. */
export const DEFAULT_CONTROL_PLANE_TIMING: Readonly<ControlPlaneTiming> = Object.freeze({
  periodMs: 10_000,
  failureThreshold: 2,
  eventDelayMs: 250,
  probeTimeoutMs: 5_000,
  eipSettleMs: 30_000,
  caRefreshMs: 300_000,
});

/** Options of {@linkcode ControlPlaneEndpointController}. */
export interface ControlPlaneEndpointOptions {
  /** EIP management (`METAL_EIP_TAG` set). */
  eip?: { tag: string; projectId: string; useHostIp: boolean; metal: EipMetal };
  /** Control-plane load balancer management (`METAL_LOAD_BALANCER_ID` set). */
  loadBalancer?: { id: string; client: ControlPlaneLbaas };
  /** `METAL_API_SERVER_PORT`; 0 uses `default/kubernetes`. */
  apiServerPort: number;
  informers: InformerFactory;
  kube: ControlPlaneKube;
  /** The CCM's kubeconfig, a source of the cluster CA for TLS verification of the health checks. */
  kubeConfig?: KubeConfig;
  /** Replaces the HTTPS health check (tests). */
  prober?: HealthProber;
  recorder: EventRecorder;
  metrics?: Registry;
  clock?: Clock;
  logger?: Logger;
  timing?: Partial<ControlPlaneTiming>;
}

/** Name of the provider loop (logs, metrics, `/healthz`). */
export const CONTROL_PLANE_CONTROLLER_NAME = "control-plane-endpoint";

/** See the module documentation. */
export class ControlPlaneEndpointController implements Controller {
  readonly name = CONTROL_PLANE_CONTROLLER_NAME;
  readonly #o: ControlPlaneEndpointOptions;
  readonly #timing: ControlPlaneTiming;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #nodes: Informer<V1Node>;
  readonly #services: Informer<V1Service>;
  readonly #slices: Informer<V1EndpointSlice>;
  /** Source of the CA the default health check verifies with (none with an injected prober). */
  readonly #ca?: ClusterCa;
  readonly #health: NodeHealth;
  readonly #eip?: EipManager;
  readonly #external?: ExternalObjectsSync;
  readonly #lb?: LoadBalancerManager;
  /** Problems by area, so each is logged once (and its end too). */
  readonly #problems = new Map<string, string>();
  #eipAddress: string | undefined;
  #wake: (() => void) | undefined;
  #pending = { full: false, external: false };

  constructor(options: ControlPlaneEndpointOptions) {
    this.#o = options;
    this.#timing = { ...DEFAULT_CONTROL_PLANE_TIMING, ...options.timing };
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? getLogger(["ccm", "metal", "control-plane"]);
    // Created now, so the framework waits for their caches before starting provider loops.
    this.#nodes = options.informers.nodes();
    this.#services = options.informers.services();
    this.#slices = options.informers.endpointSlices();
    const metrics = controlPlaneMetrics(options.metrics);
    let prober = options.prober;
    if (!prober) {
      const ca = new ClusterCa({
        kubeConfig: options.kubeConfig,
        readConfigMap: (ns, name, signal) => options.kube.readConfigMap(ns, name, signal),
        logger: this.#logger,
      });
      this.#ca = ca;
      prober = new HttpsHealthProber({
        timeoutMs: this.#timing.probeTimeoutMs,
        caCertificates: () => ca.certificates(),
      });
    }
    this.#health = new NodeHealth({
      prober,
      failureThreshold: this.#timing.failureThreshold,
      metrics,
      clock: this.#clock,
    });
    if (options.eip) {
      this.#eip = new EipManager({
        ...options.eip,
        health: this.#health,
        recorder: options.recorder,
        metrics,
        clock: this.#clock,
        logger: this.#logger,
        settleMs: this.#timing.eipSettleMs,
        externalService: () =>
          this.#services.get(EXTERNAL_KEY) ??
            {
              apiVersion: "v1",
              kind: "Service",
              metadata: { name: EXTERNAL_SERVICE_NAME, namespace: EXTERNAL_SERVICE_NAMESPACE },
            },
      });
      this.#external = new ExternalObjectsSync({
        kube: options.kube,
        services: this.#services,
        endpointSlices: this.#slices,
        logger: this.#logger,
        clock: this.#clock,
      });
    }
    if (options.loadBalancer) {
      this.#lb = new LoadBalancerManager({
        loadBalancerId: options.loadBalancer.id,
        client: options.loadBalancer.client,
        health: this.#health,
        metrics,
        logger: this.#logger,
      });
    }
  }

  /** The timing in effect (defaults merged with the options). */
  get timing(): Readonly<ControlPlaneTiming> {
    return this.#timing;
  }

  /** Runs until `ctx.signal` aborts. */
  async run({ signal }: ControllerRunContext): Promise<void> {
    await this.#o.informers.waitForSync(signal);
    const removers = [
      this.#nodes.addHandlers({
        add: (n) => isControlPlaneNode(n) && this.#kick("full"),
        update: (old, n) => nodeFingerprint(old) !== nodeFingerprint(n) && this.#kick("full"),
        delete: (n) => isControlPlaneNode(n) && this.#kick("full"),
      }),
      this.#services.addHandlers(this.#watchKeys([KUBERNETES_KEY, EXTERNAL_KEY])),
      this.#slices.addHandlers({
        add: (s) => this.#sliceChanged(s),
        update: (_, s) => this.#sliceChanged(s),
        delete: (s) => this.#sliceChanged(s),
      }),
    ];
    this.#logger.info("Started control-plane endpoint management", {
      eipTag: this.#o.eip?.tag,
      loadBalancerId: this.#o.loadBalancer?.id,
      periodMs: this.#timing.periodMs,
      failureThreshold: this.#timing.failureThreshold,
    });
    try {
      let nextTick = this.#clock.now();
      let nextCaRefresh = this.#clock.now();
      while (!signal.aborted) {
        const tick = this.#clock.now() >= nextTick;
        if (tick) nextTick = this.#clock.now() + this.#timing.periodMs;
        if (tick && this.#clock.now() >= nextCaRefresh) {
          nextCaRefresh = this.#clock.now() + this.#timing.caRefreshMs;
          await this.#ca?.refresh(signal);
        }
        const pending = this.#pending;
        this.#pending = { full: false, external: false };
        await this.#pass({ tick, full: tick || pending.full, signal });
        await this.#idle(nextTick - this.#clock.now(), signal);
      }
    } finally {
      for (const remove of removers) remove();
    }
  }

  /** Waits until the next period or a triggered pass (after the event delay). */
  async #idle(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const wait = new AbortController();
    const stop = () => wait.abort();
    signal.addEventListener("abort", stop, { once: true });
    const woken = new Promise<void>((resolve) => this.#wake = resolve);
    if (this.#pending.full || this.#pending.external) this.#wake?.();
    try {
      await Promise.race([
        this.#clock.sleep(Math.max(0, ms), wait.signal),
        woken.then(() =>
          this.#clock.sleep(Math.min(this.#timing.eventDelayMs, Math.max(0, ms)), wait.signal)
        ),
      ]);
    } catch {
      // aborted: shutting down
    } finally {
      this.#wake = undefined;
      signal.removeEventListener("abort", stop);
      wait.abort();
    }
  }

  #kick(kind: "full" | "external"): void {
    this.#pending[kind] = true;
    this.#wake?.();
  }

  #watchKeys(keys: string[]) {
    const changed = (s: V1Service) =>
      keys.includes(`${s.metadata?.namespace}/${s.metadata?.name}`) && this.#kick("external");
    return { add: changed, update: (_: V1Service, s: V1Service) => changed(s), delete: changed };
  }

  #sliceChanged(s: V1EndpointSlice): void {
    const key = `${s.metadata?.namespace}/${s.metadata?.name}`;
    if (isKubernetesEndpointSlice(s) || key === EXTERNAL_KEY) this.#kick("external");
  }

  /** One pass; `full` reconciles the EIP and load balancer, otherwise only the external objects. */
  async #pass(p: { tick: boolean; full: boolean; signal: AbortSignal }): Promise<void> {
    const { signal } = p;
    if (!p.full) {
      if (!this.#eipAddress) p.full = true;
      else return await this.#attempt("external", () => this.#external?.sync(this.#eipAddress, signal));
    }
    const reservation = this.#eip
      ? await this.#attempt("reservation", () => this.#eip!.lookup(signal))
      : undefined;
    if (reservation) this.#eipAddress = reservation.address;
    const nodes = controlPlaneNodes(this.#nodes.list(), this.#eipAddress);
    const port = resolveApiServerPort({
      configured: this.#o.apiServerPort,
      service: this.#services.get(KUBERNETES_KEY),
      slices: this.#slices.list().filter(isKubernetesEndpointSlice),
    });
    this.#problem("port", port.ok ? undefined : port.problem);
    if (port.ok) {
      await this.#health.checkNodes(nodes, port.port, { onlyUnchecked: !p.tick, signal });
    }
    if (signal.aborted) return;
    if (this.#eip && reservation && port.ok) {
      await this.#attempt(
        "eip",
        () => this.#eip!.reconcile({ reservation, nodes, port: port.port, tick: p.tick, signal }),
      );
    }
    if (this.#external) await this.#attempt("external", () => this.#external!.sync(this.#eipAddress, signal));
    if (this.#lb && port.ok) {
      await this.#attempt(
        "load-balancer",
        () => this.#lb!.reconcile({ nodes, port: port.port, force: p.tick, signal }),
      );
    }
  }

  /** Runs `fn`; logs a failure once per distinct message (and when it clears). */
  async #attempt<T>(area: string, fn: () => Promise<T> | T): Promise<T | undefined> {
    try {
      const out = await fn();
      this.#problem(area, undefined);
      return out;
    } catch (err) {
      if (this.#problem(area, errorMessage(err))) {
        this.#logger.warn("Control-plane endpoint {area} failed; retrying on the next check: {message}", {
          area,
          message: errorMessage(err),
          err,
        });
      }
      return undefined;
    }
  }

  /** Records the problem of `area` (`undefined` = none); returns whether it is new. Logs port problems itself. */
  #problem(area: string, message: string | undefined): boolean {
    const last = this.#problems.get(area);
    if (message === last) return false;
    if (message === undefined) {
      this.#problems.delete(area);
      this.#logger.info("Control-plane endpoint {area} recovered", { area });
      return false;
    }
    this.#problems.set(area, message);
    if (area === "port") this.#logger.warn("Cannot health-check the control plane: {message}", { message });
    return true;
  }
}

/** What of a node matters to the managers; a change of it triggers a pass. */
function nodeFingerprint(node: V1Node): string {
  if (!isControlPlaneNode(node)) return "";
  return JSON.stringify([
    node.spec?.providerID,
    node.spec?.unschedulable === true,
    node.metadata?.deletionTimestamp !== undefined && node.metadata.deletionTimestamp !== null,
    node.status?.addresses,
  ]);
}
