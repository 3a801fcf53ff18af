/**
 * What the leader runs: provider initialization, the framework controllers selected by `--controllers`, the
 * provider's own loops, their health checks and metrics — and a bounded graceful stop.
 *
 * `app.ts` wraps this with Kubernetes clients, serving and leader election.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import { Gauge, type Registry } from "prom-client";
import type { CloudProvider, CloudServices, Controller, ControllerRunContext } from "./cloud.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { CLOUD_NODE_CONTROLLER, CloudNodeController } from "./controllers/cloud_node.ts";
import {
  CLOUD_NODE_LIFECYCLE_CONTROLLER,
  CloudNodeLifecycleController,
} from "./controllers/cloud_node_lifecycle.ts";
import {
  coreV1NodeWriter,
  coreV1ServiceWriter,
  type NodeWriter,
  type ServiceWriter,
} from "./controllers/kube_writers.ts";
import { SERVICE_LB_CONTROLLER, ServiceController } from "./controllers/service.ts";
import type { EventRecorder } from "./events.ts";
import type { HealthEndpoints } from "./server.ts";
import type { InformerFactory } from "./kube/informer_factory.ts";
import type { KubeClients } from "./kube/client.ts";
import type { RunOptions } from "./options.ts";

/** Manager name in `running_managed_controllers{manager}`. */
export const MANAGER_NAME = "cloud-controller-manager";

/** An {@linkcode EventRecorder} that can hand out per-controller views (see `KubeEventRecorder`). */
export interface ComponentEventRecorder extends EventRecorder {
  forComponent?(component: string): EventRecorder;
}

/** Input of {@linkcode runControllers}. */
export interface RunControllersOptions {
  provider: CloudProvider;
  options: RunOptions;
  kube: KubeClients;
  informers: InformerFactory;
  recorder: ComponentEventRecorder;
  registry: Registry;
  /** Where controllers add their ping (`/healthz`) and the provider its checks (`/readyz`). */
  health?: HealthEndpoints;
  /** Aborted to stop gracefully: no new work, in-flight reconciles finish (bounded by `shutdownTimeoutMs`). */
  signal: AbortSignal;
  /** Aborted to stop at once, abandoning in-flight work (lost leadership). */
  hardSignal?: AbortSignal;
  /** How long a graceful stop waits for in-flight work; default 20 s. */
  shutdownTimeoutMs?: number;
  /** The write fence handed to the provider (see `CloudInitContext.fence`). */
  fence?: () => void;
  /**
   * A client of a controller's own (own limiter budget), as upstream gives each controller one; default
   * `kube` for all.
   */
  kubeFor?: (controller: string) => KubeClients;
  /** Default: adapters over each controller's client (`kubeFor`). */
  writers?: { nodes: NodeWriter; services: ServiceWriter };
  clock?: Clock;
  logger?: Logger;
}

/**
 * Initializes the provider, waits for the informer caches, runs the selected controllers and the provider's
 * loops until `signal` aborts, then stops them.
 *
 * @throws {Error} When the provider fails to initialize, the caches never sync before a stop, or a controller
 *   fails fatally.
 */
export async function runControllers(o: RunControllersOptions): Promise<void> {
  const logger = o.logger ?? getLogger(["ccm", "controller-manager"]);
  const clock = o.clock ?? systemClock;
  const stop = new AbortController();
  const hard = new AbortController();
  const onStop = () => stop.abort(o.signal.reason);
  const onHard = () => {
    stop.abort(o.hardSignal?.reason);
    hard.abort(o.hardSignal?.reason);
  };
  o.signal.addEventListener("abort", onStop, { once: true });
  o.hardSignal?.addEventListener("abort", onHard, { once: true });
  if (o.signal.aborted) onStop();
  if (o.hardSignal?.aborted) onHard();
  const cleanups: Array<() => void> = [];

  try {
    logger.info("Initializing cloud provider", { provider: o.provider.providerName });
    let services: CloudServices;
    try {
      services = await o.provider.initialize({
        kube: o.kube,
        kubeFor: o.kubeFor,
        informers: o.informers,
        recorder: o.recorder,
        metrics: o.registry,
        signal: stop.signal,
        logger: getLogger(["ccm", o.provider.providerName]),
        fence: o.fence,
      });
    } catch (err) {
      throw new Error(
        `Cannot initialize cloud provider '${o.provider.providerName}': ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }

    const controllers = buildControllers(o, services, logger);
    for (const check of services.healthChecks ?? []) {
      cleanups.push(o.health?.readyz.add(check) ?? (() => {}));
    }
    // Informers are created by buildControllers (and the provider); now wait for their first list.
    try {
      await o.informers.waitForSync(stop.signal);
    } catch (err) {
      if (stop.signal.aborted) return;
      throw err;
    }
    logger.info("Informer caches synced");

    const running = runningGauge(o.registry);
    const ctx = { signal: stop.signal, syncSignal: hard.signal };
    const runs: Promise<void>[] = [];
    for (const controller of controllers) {
      logger.info("Starting controller", { controller: controller.name });
      running.set({ name: controller.name, manager: MANAGER_NAME }, 1);
      cleanups.push(o.health?.healthz.add({ name: controller.name, check: () => {} }) ?? (() => {}));
      runs.push(
        controller.run(ctx).then(
          () => {
            running.set({ name: controller.name, manager: MANAGER_NAME }, 0);
            logger.info("Stopped controller", { controller: controller.name });
          },
          (err) => {
            running.set({ name: controller.name, manager: MANAGER_NAME }, 0);
            throw new Error(`Controller '${controller.name}' failed: ${(err as Error).message}`, {
              cause: err,
            });
          },
        ),
      );
    }
    for (const pc of services.controllers ?? []) {
      logger.info("Starting provider controller", { controller: pc.name });
      running.set({ name: pc.name, manager: MANAGER_NAME }, 1);
      cleanups.push(o.health?.healthz.add({ name: pc.name, check: () => {} }) ?? (() => {}));
      runs.push(
        runProviderController(pc, ctx, clock, logger).finally(() => {
          running.set({ name: pc.name, manager: MANAGER_NAME }, 0);
        }),
      );
    }

    // A failing controller stops everything (the process exits and is restarted), like upstream's fatal exit.
    let fatal: Error | undefined;
    for (const run of runs) {
      run.catch((err) => {
        fatal ??= err;
        stop.abort(err);
      });
    }
    if (!stop.signal.aborted) {
      await new Promise<void>((resolve) =>
        stop.signal.addEventListener("abort", () => resolve(), { once: true })
      );
    }

    if (!hard.signal.aborted) logger.info("Stopping controllers; waiting for in-flight work");
    const timeoutMs = o.shutdownTimeoutMs ?? 20_000;
    const cancelTimer = new AbortController();
    const finished = await Promise.race([
      Promise.allSettled(runs).then(() => true),
      clock.sleep(timeoutMs, cancelTimer.signal).then(() => false, () => true),
    ]);
    cancelTimer.abort();
    if (!finished) {
      logger.warn("Abandoned in-flight work after the shutdown timeout", { timeoutMs });
      hard.abort(new Error("Shutdown timeout"));
    }
    if (fatal !== undefined) throw fatal;
  } finally {
    for (const cleanup of cleanups) cleanup();
    o.signal.removeEventListener("abort", onStop);
    o.hardSignal?.removeEventListener("abort", onHard);
  }
}

/** Builds the enabled framework controllers the provider supports, logging why others do not start. */
function buildControllers(o: RunControllersOptions, services: CloudServices, logger: Logger): Controller[] {
  const { options, informers } = o;
  const recorderFor = (name: string) => o.recorder.forComponent?.(name) ?? o.recorder;
  const kubeFor = o.kubeFor ?? (() => o.kube);
  const nodeWriter = (controller: string) => o.writers?.nodes ?? coreV1NodeWriter(kubeFor(controller).core);
  const enabled = new Set<string>(options.controllers);
  const controllers: Controller[] = [];
  const instances = services.instances;
  const needInstances = [CLOUD_NODE_CONTROLLER, CLOUD_NODE_LIFECYCLE_CONTROLLER].filter((n) =>
    enabled.has(n)
  );
  if (instances === undefined && needInstances.length > 0) {
    logger.warn("Skipped controllers: the cloud provider does not support instances", {
      controllers: needInstances,
    });
  }
  if (instances !== undefined && enabled.has(CLOUD_NODE_CONTROLLER)) {
    controllers.push(
      new CloudNodeController({
        instances,
        nodes: informers.nodes(),
        writer: nodeWriter(CLOUD_NODE_CONTROLLER),
        recorder: recorderFor(CLOUD_NODE_CONTROLLER),
        workers: options.concurrentNodeSyncs,
        statusUpdateWorkers: options.concurrentNodeStatusUpdates,
        statusUpdateFrequencyMs: options.nodeStatusUpdateFrequencyMs,
        registry: o.registry,
        clock: o.clock,
      }),
    );
  }
  if (instances !== undefined && enabled.has(CLOUD_NODE_LIFECYCLE_CONTROLLER)) {
    controllers.push(
      new CloudNodeLifecycleController({
        instances,
        nodes: informers.nodes(),
        writer: nodeWriter(CLOUD_NODE_LIFECYCLE_CONTROLLER),
        recorder: recorderFor(CLOUD_NODE_LIFECYCLE_CONTROLLER),
        periodMs: options.nodeMonitorPeriodMs,
        clock: o.clock,
      }),
    );
  }
  if (enabled.has(SERVICE_LB_CONTROLLER)) {
    const balancer = services.loadBalancer;
    if (balancer === undefined) {
      logger.error(
        "Failed to start service controller: the cloud provider does not support external load balancers",
      );
    } else {
      controllers.push(
        new ServiceController({
          balancer,
          services: informers.services(),
          nodes: informers.nodes(),
          writer: o.writers?.services ?? coreV1ServiceWriter(kubeFor(SERVICE_LB_CONTROLLER).core),
          recorder: recorderFor(SERVICE_LB_CONTROLLER),
          clusterName: options.clusterName,
          workers: options.concurrentServiceSyncs,
          registry: o.registry,
          clock: o.clock,
        }),
      );
    }
  }
  if (enabled.has("node-route-controller")) {
    logger.warn(
      "Skipped node-route-controller: the cloud provider does not support routes; disable it with --controllers=*,-route",
    );
  }
  return controllers;
}

/** Runs a provider loop until `ctx.signal` aborts, restarting it with backoff (1 s → 60 s) when it rejects. */
export async function runProviderController(
  pc: Controller,
  ctx: ControllerRunContext,
  clock: Clock = systemClock,
  logger: Logger = getLogger(["ccm", "controller-manager"]),
): Promise<void> {
  const { signal } = ctx;
  let delayMs = 1_000;
  while (!signal.aborted) {
    const started = clock.now();
    try {
      await pc.run(ctx);
      if (signal.aborted) return;
      logger.warn("Provider controller returned before shutdown; restarting", { controller: pc.name });
    } catch (err) {
      if (signal.aborted) return;
      logger.error("Provider controller failed; restarting", {
        controller: pc.name,
        retryInMs: delayMs,
        err,
      });
    }
    // A loop that ran for a while earns a fresh backoff.
    if (clock.now() - started > 60_000) delayMs = 1_000;
    try {
      await clock.sleep(delayMs, signal);
    } catch {
      return;
    }
    delayMs = Math.min(delayMs * 2, 60_000);
  }
}

const gauges = new WeakMap<Registry, Gauge<"name" | "manager">>();

/** `running_managed_controllers{name,manager}`: 1 while a controller runs (upstream controller-manager metric). */
export function runningGauge(registry: Registry): Gauge<"name" | "manager"> {
  let gauge = gauges.get(registry);
  if (gauge === undefined) {
    gauge = new Gauge({
      name: "running_managed_controllers",
      help: "Indicates where instances of a controller are currently running",
      labelNames: ["name", "manager"] as const,
      registers: [registry],
    });
    gauges.set(registry, gauge);
  }
  return gauge;
}
