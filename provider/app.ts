/**
 * `ccm run`, the whole start-up in one file, in the order it happens:
 *
 * 1. {@linkcode runCommand}: the flags become {@linkcode RunOptions}; SIGINT/SIGTERM abort a signal.
 * 2. {@linkcode runController}: logging, then the provider from the registry and `--cloud-config`
 *    ({@linkcode createProvider}). Everything that can be wrong in the configuration fails here, before the
 *    cluster is touched.
 * 3. {@linkcode runFramework}: Kubernetes clients, the metrics registry, health endpoints and the secure port,
 *    the Event recorder, informers, then leader election.
 * 4. On the leader: `provider.initialize()` returns the provider's parts; the framework builds its controllers
 *    on them ({@linkcode frameworkControllers}), waits for the informer caches and runs them beside the
 *    provider's own (`controller_manager.ts`).
 * 5. Shutdown in reverse order: controllers finish in-flight reconciles (bounded), the lease is released so a
 *    standby takes over at once, pending Events are written, then the server stops; the run resolves. Losing
 *    the lease stops the controllers at once and the run rejects (the process exits non-zero, like upstream).
 *
 * @module
 */
import { Command } from "commander";
import { getLogger, type Logger } from "@logtape/logtape";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { CloudProvider, CloudServices, Controller } from "./cloud.ts";
import { ConfigError, LeaseFenceError } from "./errors.ts";
import { configureLogging } from "../util/log.ts";
import type { Clock } from "../util/clock.ts";
import { runNativeMemoryTrimmer } from "../util/native_memory.ts";
import { addRunFlags, FlagError, runOptionsFromCommand } from "./flags.ts";
import type { RunOptions } from "./options.ts";
import { getCloudProviderFactory } from "./registry.ts";
import { ControllerStops, MANAGER_NAME, runControllers } from "./controller_manager.ts";
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
import { coreV1EventSink, KubeEventRecorder } from "./event_recorder.ts";
import { HealthChecks, type NamedCheck } from "./health.ts";
import { createKubeClients, type KubeClients } from "./kube/client.ts";
import { SenderPool } from "./kube/sender_pool.ts";
import { type InformerFactory, SharedInformerFactory } from "./kube/informer_factory.ts";
import { registerRequestMetrics } from "./kube/request_metrics.ts";
import { RequestStats } from "./kube/transport.ts";
import { LeaderElector } from "./leader_election.ts";
import { leaseLock } from "./lease_lock.ts";
import { type HealthEndpoints, type RunningServer, startServer } from "./server.ts";
import { VERSION } from "./version.ts";
import { errorMessage } from "../util/errors.ts";

// 1. The command.

/** Builds the `run` subcommand: parses the upstream flag set and runs the cloud controller manager. */
export function runCommand(): Command {
  const command = addRunFlags(new Command("run"))
    .description("Run the cloud controller manager, the in-cluster daemon (default command)")
    .usage("[flags]")
    .action(async () => {
      let options: RunOptions;
      try {
        options = runOptionsFromCommand(command);
      } catch (err) {
        if (err instanceof FlagError) {
          command.error(`error: ${err.message}`, { exitCode: 2, code: "ccm.flags" });
        }
        throw err;
      }
      await withShutdownSignal((signal) => runController(options, { signal }));
    });
  return command;
}

/** Runs `fn` with a signal aborted on SIGINT or SIGTERM (SIGINT only on Windows), then removes the handlers. */
async function withShutdownSignal(fn: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort(new Error("Received a shutdown signal"));
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    await fn(controller.signal);
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
}

// 2. Logging and the provider.

/** Dependencies of {@linkcode runController}, injectable for tests. */
export interface RunControllerDeps {
  /** Process environment. @default Deno.env.toObject() */
  env?: Record<string, string | undefined>;
  /** Reads the `--cloud-config` file. @default Deno.readTextFile */
  readTextFile?: (path: string) => Promise<string>;
  /** Receives log lines instead of stderr. */
  logWrite?: (line: string) => void;
  /** Aborted on SIGINT/SIGTERM; the controllers stop and the promise resolves. */
  signal?: AbortSignal;
  /** Runs the framework once the provider is built. @default {@linkcode runFramework} */
  runFramework?: (o: RunFrameworkOptions) => Promise<void>;
}

/**
 * Runs the cloud controller manager until `signal` aborts.
 *
 * @throws {Error} When the provider is unknown, its configuration is invalid or unreadable, or a controller
 *   fails fatally; the message says what to fix. Secrets are never part of it.
 */
export async function runController(options: RunOptions, deps: RunControllerDeps = {}): Promise<void> {
  await configureLogging({
    format: options.loggingFormat,
    verbosity: options.verbosity,
    write: deps.logWrite,
  });
  const logger = getLogger(["ccm", "app"]);
  const { ignoredFlags, ...effective } = options;
  logger.info("Starting cloud controller manager", { version: VERSION, options: effective });
  for (const { flag, reason } of ignoredFlags) {
    logger.info("Ignored flag {flag}: {reason}", { flag, reason });
  }
  const provider = await createProvider(options, deps);
  logger.info("Created cloud provider {provider}", { provider: provider.providerName });
  const trimStop = new AbortController();
  const trimming = runNativeMemoryTrimmer({ signal: trimStop.signal, logger });
  try {
    await (deps.runFramework ?? runFramework)({
      provider,
      options,
      signal: deps.signal ?? new AbortController().signal,
    });
  } finally {
    trimStop.abort();
    await trimming;
  }
}

/**
 * Looks up the `--cloud-provider` factory, reads `--cloud-config` and builds the provider (which validates its
 * configuration).
 *
 * @throws {Error} Listing the registered providers when the name is unknown.
 * @throws {ConfigError} When the file cannot be read or the provider rejects its configuration.
 */
export async function createProvider(
  options: RunOptions,
  deps: RunControllerDeps = {},
): Promise<CloudProvider> {
  const factory = getCloudProviderFactory(options.cloudProvider);
  const path = options.cloudConfig;
  let configFile: string | undefined;
  if (path !== "") {
    try {
      configFile = await (deps.readTextFile ?? Deno.readTextFile)(path);
    } catch (err) {
      throw new ConfigError(
        `Cannot read --cloud-config file '${path}': ${errorMessage(err)}; ` +
          "check the path, and that the Secret holding it is mounted",
        { cause: err },
      );
    }
  }
  try {
    return await factory({
      configFile,
      configPath: path === "" ? undefined : path,
      env: deps.env ?? Deno.env.toObject(),
      logger: getLogger(["ccm", options.cloudProvider]),
      version: VERSION,
    });
  } catch (err) {
    const message = `Cannot start cloud provider '${options.cloudProvider}': ${errorMessage(err)}`;
    throw err instanceof ConfigError
      ? new ConfigError(message, { cause: err })
      : new Error(message, { cause: err });
  }
}

// 3. The framework around the controllers.

/** Informers that can be started and stopped (the shared informer factory of `provider/kube`). */
export interface RunnableInformerFactory extends InformerFactory {
  /**
   * Starts list+watch of every informer created so far, and of later ones, until `signal` aborts; the promise
   * settles once they all stopped.
   */
  start(signal: AbortSignal): Promise<void> | void;
}

/** Leader election as the framework uses it. */
export interface Elector {
  /** Campaigns until this replica holds the lease; rejects when `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<void>;
  /** Aborted when this replica stops leading (renewal failed). Meaningful after {@linkcode acquire}. */
  readonly lost: AbortSignal;
  /** Gives the lease up so a standby takes over without waiting for it to expire. */
  release(): Promise<void>;
  /** `/healthz/leaderElection`: fails when this replica leads but has not renewed for too long. */
  readonly check: NamedCheck;
  /** Whether this replica may write now (fencing; see `LeaderElector.holdsLease`); absent means yes. */
  holdsLease?(): boolean;
}

/** The pieces {@linkcode runFramework} builds; tests replace them. */
export interface FrameworkParts {
  /**
   * A rate-limited client with its own `--kube-api-qps`/`--kube-api-burst` budget. Called once per user, as
   * upstream's ClientBuilder gives each controller, leader election and the event sink a client of its own:
   * Service status writes never queue behind a thousand node writes, nor lease renewals behind either.
   */
  kube(options: RunOptions, role: KubeClientRole): KubeClients;
  informers(kube: KubeClients, options: RunOptions): RunnableInformerFactory;
  elector(kube: KubeClients, options: RunOptions, registry: Registry): Elector;
}

/** Which client {@linkcode FrameworkParts.kube} builds. */
export interface KubeClientRole {
  /** Who uses it (`cloud-node-controller`, `leader-election`…): appended to the user agent, as client-go does. */
  name: string;
  /** Request counts shared by every client, behind the `rest_client_*` metrics. */
  stats: RequestStats;
  /** Called before every write; throwing cancels it (the leader-election write fence). */
  beforeWrite?: (url: URL) => void;
}

/** Input of {@linkcode runFramework}. */
export interface RunFrameworkOptions {
  provider: CloudProvider;
  options: RunOptions;
  /** Aborted on SIGTERM/SIGINT. */
  signal: AbortSignal;
  /** Replaces parts of the framework (tests). @default {@linkcode defaultFrameworkParts} */
  parts?: Partial<FrameworkParts>;
  /** Graceful stop bound for in-flight reconciles; default 20 s. */
  shutdownTimeoutMs?: number;
  /** Replaces the framework controllers' Kubernetes writers and clock (tests). */
  controllers?: { writers?: ControllerWriters; clock?: Clock };
  /** Called once serving, with the bound port (tests). */
  onServing?(server: RunningServer): void;
}

/**
 * Runs the framework until `signal` aborts (resolves) or leadership is lost (rejects).
 *
 * @throws {Error} When serving cannot start, the provider cannot initialize, the caches never sync before a
 *   stop, a framework controller fails, or the lease is lost.
 */
export async function runFramework(o: RunFrameworkOptions): Promise<void> {
  const { options, signal } = o;
  const parts = { ...defaultFrameworkParts(), ...o.parts };
  const logger = getLogger(["ccm", "app"]);
  const registry = new Registry();
  // process_* (CPU seconds, resident memory, open fds, start time) as the Go CCM's process collector serves them,
  // plus the runtime's heap and event-loop metrics (nodejs_*, the counterpart of go_*).
  collectDefaultMetrics({ register: registry });
  const health: HealthEndpoints = {
    healthz: new HealthChecks("healthz"),
    livez: new HealthChecks("livez"),
    readyz: new HealthChecks("readyz"),
  };
  let phase: "standby" | "syncing" | "running" = "standby";
  // A standby has nothing to sync; only a leader whose caches are not filled yet is not ready.
  health.readyz.add({
    name: "informer-sync",
    check: () => {
      if (phase === "syncing") throw new Error("informer caches have not synced yet");
    },
  });

  // Fencing: once leading, no write leaves this process unless the lease is surely still ours. Lease
  // requests pass (the elector renews through this client); Events have their own client.
  let elector: Elector | undefined;
  const lease = `${options.leaderElectResourceNamespace}/${options.leaderElectResourceName}`;
  const fence = () => {
    if (elector?.holdsLease && !elector.holdsLease()) {
      throw new LeaseFenceError(
        `Not writing: this replica may no longer hold the leader lease ${lease} (not renewed within the ` +
          "renew deadline, for example after a pause); another replica may be leading",
      );
    }
  };
  const kubeFence = (url: URL) => {
    if (!url.pathname.includes("/apis/coordination.k8s.io/")) fence();
  };
  await using clients = new AsyncDisposableStack();
  const requests = new RequestStats();
  registerRequestMetrics(registry, requests);
  const client = (name: string, beforeWrite?: (url: URL) => void) =>
    clients.use(parts.kube(options, { name, stats: requests, beforeWrite }));
  // The provider's writes and the informers' lists and watches.
  const kube = client(MANAGER_NAME, kubeFence);
  const serverStop = new AbortController();
  let server: RunningServer | undefined;
  if (options.securePort !== 0) {
    server = await startServer({
      bindAddress: options.bindAddress,
      port: options.securePort,
      tlsCertFile: options.tlsCertFile,
      tlsPrivateKeyFile: options.tlsPrivateKeyFile,
      registry,
      health,
      signal: serverStop.signal,
    });
    o.onServing?.(server);
  }
  // Events never wait behind (or delay) controller writes: a thousand Synced Events would otherwise cost a
  // thousand node writes' worth of the limiter.
  const eventKube = client("events");
  const recorder = new KubeEventRecorder({ sink: coreV1EventSink(eventKube.core), component: MANAGER_NAME });
  const informers = parts.informers(kube, options);
  const informerStop = new AbortController();
  let informersRunning: Promise<void> | void = undefined;

  try {
    let lost: AbortSignal | undefined;
    if (options.leaderElect) {
      // Renewals never wait behind controller writes (at 20 qps a join burst queues minutes of them).
      elector = parts.elector(client("leader-election"), options, registry);
      health.healthz.add(elector.check);
      health.livez.add(elector.check);
      logger.info("Waiting to acquire the leader lease", { lease });
      try {
        await elector.acquire(signal);
      } catch (err) {
        if (signal.aborted) {
          logger.info("Stopped while standing by");
          return;
        }
        throw err;
      }
      lost = elector.lost;
      logger.info("Became leader; starting controllers");
    }
    phase = "syncing";
    informersRunning = informers.start(informerStop.signal);
    const syncWatch = informers.waitForSync(informerStop.signal).then(() => {
      if (phase === "syncing") phase = "running";
    }, () => {});

    // 4. Leading: the provider's parts, the framework's controllers on them, then both run until a stop.
    const managerLogger = getLogger(["ccm", "controller-manager"]);
    const kubeFor = (controller: string) => client(controller, kubeFence);
    using stops = new ControllerStops(signal, lost);
    managerLogger.info("Initializing cloud provider", { provider: o.provider.providerName });
    let services: CloudServices;
    try {
      services = await o.provider.initialize({
        kube,
        kubeFor,
        informers,
        recorder,
        metrics: registry,
        signal: stops.signal,
        logger: getLogger(["ccm", o.provider.providerName]),
        fence,
      });
    } catch (err) {
      throw new Error(
        `Cannot initialize cloud provider '${o.provider.providerName}': ${errorMessage(err)}`,
        { cause: err },
      );
    }
    const controllers = frameworkControllers(services, {
      options,
      informers,
      recorder,
      registry,
      kubeFor,
      logger: managerLogger,
      ...o.controllers,
    });
    const removeChecks = (services.healthChecks ?? []).map((check) => health.readyz.add(check));
    try {
      // Informers are created by frameworkControllers (and the provider); now wait for their first list.
      let synced = true;
      try {
        await informers.waitForSync(stops.signal);
      } catch (err) {
        if (!stops.signal.aborted) throw err;
        synced = false;
      }
      if (synced) {
        managerLogger.info("Informer caches synced");
        await runControllers({
          controllers,
          providerControllers: services.controllers,
          stops,
          registry,
          health,
          shutdownTimeoutMs: o.shutdownTimeoutMs,
          clock: o.controllers?.clock,
          logger: managerLogger,
        });
      }
    } finally {
      for (const remove of removeChecks) remove();
    }

    await Promise.race([syncWatch, Promise.resolve()]);
    if (lost?.aborted) {
      throw new Error(
        `Lost the leader lease ${lease}; stopped all controllers so another replica can take over`,
        { cause: lost.reason },
      );
    }
    if (elector !== undefined) {
      await elector.release().then(
        () => logger.info("Released the leader lease"),
        (err) =>
          logger.warn("Failed to release the leader lease; a standby takes over when it expires", { err }),
      );
    }
  } finally {
    informerStop.abort();
    await Promise.resolve(informersRunning).catch((err) =>
      logger.warn("Informers stopped with an error", { err })
    );
    await recorder.close();
    serverStop.abort();
    await server?.finished;
    logger.info("Stopped cloud controller manager");
  }
}

/** The framework controllers' Kubernetes writers. */
export interface ControllerWriters {
  nodes: NodeWriter;
  services: ServiceWriter;
}

/** What {@linkcode frameworkControllers} builds the controllers from. */
interface FrameworkControllersOptions {
  options: RunOptions;
  informers: InformerFactory;
  recorder: KubeEventRecorder;
  registry: Registry;
  /** A Kubernetes client of the controller's own (own limiter budget), as upstream gives each controller. */
  kubeFor: (controller: string) => KubeClients;
  /** Default: adapters over each controller's client. */
  writers?: ControllerWriters;
  clock?: Clock;
  logger: Logger;
}

/**
 * The framework controllers `--controllers` enables and the provider supports; logs why the others do not
 * start.
 */
function frameworkControllers(services: CloudServices, o: FrameworkControllersOptions): Controller[] {
  const { options, informers, logger } = o;
  const nodeWriter = (controller: string) => o.writers?.nodes ?? coreV1NodeWriter(o.kubeFor(controller).core);
  const enabled = new Set<string>(options.controllers);
  const controllers: Controller[] = [];
  const { instances, loadBalancer } = services;
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
        recorder: o.recorder.forComponent(CLOUD_NODE_CONTROLLER),
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
        recorder: o.recorder.forComponent(CLOUD_NODE_LIFECYCLE_CONTROLLER),
        periodMs: options.nodeMonitorPeriodMs,
        clock: o.clock,
      }),
    );
  }
  if (enabled.has(SERVICE_LB_CONTROLLER)) {
    if (loadBalancer === undefined) {
      logger.error(
        "Failed to start service controller: the cloud provider does not support external load balancers",
      );
    } else {
      controllers.push(
        new ServiceController({
          balancer: loadBalancer,
          services: informers.services(),
          nodes: informers.nodes(),
          writer: o.writers?.services ?? coreV1ServiceWriter(o.kubeFor(SERVICE_LB_CONTROLLER).core),
          recorder: o.recorder.forComponent(SERVICE_LB_CONTROLLER),
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

/**
 * The real framework parts: rate-limited clients, shared informers resynced every `--min-resync-period`
 * (randomized as upstream) and Lease-based leader election from the `--leader-elect-*` flags.
 */
export function defaultFrameworkParts(
  // One connection pool for all the controllers' clients, as client-go's transport cache does.
  senders: SenderPool = new SenderPool(),
): FrameworkParts {
  return {
    kube: (options, role) =>
      createKubeClients({
        senders,
        kubeconfig: options.kubeconfig,
        master: options.master,
        qps: options.kubeApiQps,
        burst: options.kubeApiBurst,
        userAgent: `ccm/${VERSION}/${role.name}`,
        stats: role.stats,
        beforeWrite: role.beforeWrite,
      }),
    informers: (kube, options) =>
      new SharedInformerFactory({ kube, minResyncPeriodMs: options.minResyncPeriodMs }),
    elector: (kube, options, registry) =>
      new LeaderElector({
        lock: leaseLock(kube, {
          namespace: options.leaderElectResourceNamespace,
          name: options.leaderElectResourceName,
        }),
        leaseDurationMs: options.leaderElectLeaseDurationMs,
        renewDeadlineMs: options.leaderElectRenewDeadlineMs,
        retryPeriodMs: options.leaderElectRetryPeriodMs,
        registry,
      }),
  };
}
