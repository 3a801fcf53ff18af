/**
 * The running framework around the controllers: Kubernetes clients, metrics registry, health endpoints and
 * the secure port, the event recorder, informers and leader election — started in order and stopped in
 * reverse order. `app.ts` calls {@linkcode runFramework} once the provider is built.
 *
 * Shutdown (SIGTERM/SIGINT): controllers stop taking work and finish in-flight reconciles (bounded), the lease
 * is released so a standby takes over at once, pending Events are written, then the server stops; resolves.
 * Losing the lease: controllers are stopped at once and the promise rejects (the process exits non-zero, like
 * upstream).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { CloudProvider } from "./cloud.ts";
import { LeaseFenceError } from "./errors.ts";
import { MANAGER_NAME, runControllers, type RunControllersOptions } from "./controller_manager.ts";
import { coreV1EventSink, KubeEventRecorder } from "./event_recorder.ts";
import { HealthChecks, type NamedCheck } from "./health.ts";
import type { KubeClients } from "./kube/client.ts";
import { registerRequestMetrics } from "./kube/request_metrics.ts";
import { RequestStats } from "./kube/transport.ts";
import type { InformerFactory } from "./kube/informer_factory.ts";
import type { RunOptions } from "./options.ts";
import { type HealthEndpoints, type RunningServer, startServer } from "./server.ts";

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
  parts: FrameworkParts;
  /** Graceful stop bound for in-flight reconciles; default 20 s. */
  shutdownTimeoutMs?: number;
  /** Extra options for the controllers (tests). */
  controllers?: Partial<Pick<RunControllersOptions, "writers" | "clock">>;
  /** Called once serving, with the bound port (tests). */
  onServing?(server: RunningServer): void;
}

/**
 * Runs the framework until `signal` aborts (resolves) or leadership is lost (rejects).
 *
 * @throws {Error} When serving cannot start, the provider cannot initialize, or the lease is lost.
 */
export async function runFramework(o: RunFrameworkOptions): Promise<void> {
  const { options, signal, parts } = o;
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
      logger.info("Waiting to acquire the leader lease", {
        lease: `${options.leaderElectResourceNamespace}/${options.leaderElectResourceName}`,
      });
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
    await runControllers({
      provider: o.provider,
      options,
      kube,
      kubeFor: (controller) => client(controller, kubeFence),
      informers,
      recorder,
      registry,
      health,
      signal,
      hardSignal: lost,
      shutdownTimeoutMs: o.shutdownTimeoutMs,
      fence,
      ...o.controllers,
    });
    await Promise.race([syncWatch, Promise.resolve()]);
    if (lost?.aborted) {
      throw new Error(
        `Lost the leader lease ${options.leaderElectResourceNamespace}/${options.leaderElectResourceName}; ` +
          "stopped all controllers so another replica can take over",
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
