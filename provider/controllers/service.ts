/**
 * The service controller (`service-lb-controller`): Services of type LoadBalancer whose `loadBalancerClass` is
 * unset or the provider's get the cleanup finalizer, a load balancer (EnsureLoadBalancer) and their status;
 * Services that stop wanting one, or are deleted, have it removed; node-set changes update every load balancer.
 * Semantics and Event reasons as upstream k8s.io/cloud-provider.
 *
 * Differences from upstream, on purpose:
 * - cleanup calls EnsureLoadBalancerDeleted whenever the Service carries our finalizer, even when
 *   GetLoadBalancer says nothing exists, so resources a provider cannot look up are still released;
 * - finalizer removal and status clearing are one patch; with a provider that releases orphans
 *   (`LoadBalancer.releasesOrphans`), adding the finalizer and writing the first status are one patch too,
 *   after ensuring (a Service deleted meanwhile is cleaned up from the cache, as one that never had it; a crash
 *   in between leaves resources the next sync adopts or the provider's sweep releases);
 * - with a provider that offers `ensureLoadBalancerConcurrently`, its own write to the Service (an announcer's
 *   annotations) and the status write run at the same time; the sync succeeds only when both landed;
 * - `--concurrent-service-syncs` bounds the Services in load balancer calls at once, not the syncs in flight: up
 *   to {@linkcode SERVICE_SYNCS_IN_FLIGHT} syncs run, so one Service's Kubernetes writes (finalizer, status) go
 *   out while the next one's load balancer is ensured — with one worker upstream waits out every round trip in
 *   a row, which while a thousand Nodes join a busy API server was most of a Service's time;
 * - a node sync compares each Service's own last node set (names and providerIDs) and uses the newest Service
 *   spec; ensure and update of one Service never run at the same time;
 * - a `RetryError` is requeued after its delay without a SyncLoadBalancerFailed Warning (it is not a failure);
 * - a failure the provider marks transient (the cloud API's 5xx, 429, timeouts) backs off to 30 s, not 300 s,
 *   so every Service converges within a minute of an outage's end;
 * - an informer resync (`--min-resync-period`) reconciles every managed Service again (level-triggered), so
 *   a load balancer removed behind our back is re-created.
 *
 * @module
 */
import type { V1LoadBalancerStatus, V1Node, V1Service } from "@kubernetes/client-node";
import { getLogger, type Logger } from "@logtape/logtape";
import pLimit, { type LimitFunction } from "p-limit";
import type { Counter, Histogram, Registry } from "prom-client";
import type { Controller, ControllerRunContext, EnsuredLoadBalancer, LoadBalancer } from "../cloud.ts";
import { type Clock, systemClock } from "../../util/clock.ts";
import { forEachConcurrently } from "../../util/worker_pool.ts";
import { RetryError } from "../errors.ts";
import { getOrCreateCounter, getOrCreateHistogram } from "../metrics.ts";
import type { EventRecorder } from "../events.ts";
import { isNotFound } from "../kube/errors.ts";
import type { Informer } from "../kube/informer_factory.ts";
import { SERVICE_TRANSIENT_MAX_BACKOFF_MS, serviceRateLimiter } from "../rate_limiter.ts";
import { runWorkers } from "../workers.ts";
import { WorkQueue } from "../workqueue.ts";
import type { ServiceWriter } from "./kube_writers.ts";
import {
  eligibleNodes,
  hasFinalizer,
  loadBalancerStatusEqual,
  needsCleanup,
  nodeChangeMatters,
  nodeSetKey,
  serviceChange,
  wantsLoadBalancer,
} from "./service_logic.ts";
import { FINALIZER_LB_CLEANUP } from "./well_known.ts";
import { errorMessage } from "../../util/errors.ts";

/** Canonical name; also the Event source component and the work-queue name. */
export const SERVICE_LB_CONTROLLER = "service-lb-controller";

/** Options for {@linkcode ServiceController}. */
export interface ServiceControllerOptions {
  balancer: LoadBalancer;
  services: Informer<V1Service>;
  nodes: Informer<V1Node>;
  writer: ServiceWriter;
  recorder: EventRecorder;
  /** `--cluster-name`, passed to every load balancer call. */
  clusterName: string;
  /** `--concurrent-service-syncs`: Services in load balancer calls at once; also the parallelism of node syncs. */
  workers: number;
  registry?: Registry;
  clock?: Clock;
  logger?: Logger;
}

interface Cached {
  /** The Service as last synced (kept after deletion for the no-finalizer cleanup path). */
  service: V1Service;
  /** {@linkcode nodeSetKey} of the nodes the load balancer was last given. */
  nodes?: string;
  /** The last load balancer status this controller wrote, and the Service version its patch produced. */
  written?: { uid: string; resourceVersion: string; status: V1LoadBalancerStatus; at: number };
}

/**
 * After writing a Service's status, a sync that sees an older version without it (the informer has not caught
 * up with the write yet: the requeue caused by the finalizer and provider patches usually runs first) waits this
 * long for the write to show instead of writing the same status again — at the default `--kube-api-qps` 20 that
 * second write was a third of the Service path's writes. A status someone else changed is rewritten after it.
 */
export const STATUS_SETTLE_MS = 5_000;

/**
 * Service syncs in flight at once by default. Only `workers` of them are in load balancer calls; the others add
 * finalizers and write statuses meanwhile, limited by the Kubernetes client's QPS (at 20/s and 100–350 ms a
 * patch on a busy API server, about seven keep the limiter busy).
 */
export const SERVICE_SYNCS_IN_FLIGHT = 16;

const NODE_SYNC_KEY = "node-sync";

/** `written` of a provider that writes nothing of its own. */
const settled = Promise.resolve();

/**
 * Node events are batched for this long before one node sync: a burst of joining nodes (each initialization is
 * an event that changes the eligible set) costs one sync per batch, not one per node — with 5,000 nodes a sync
 * per event took a third of the CPU during initialization, even with no load balancer to update.
 */
export const NODE_SYNC_BATCH_MS = 1000;

/** See the module documentation. */
export class ServiceController implements Controller {
  readonly name = SERVICE_LB_CONTROLLER;
  readonly #o: ServiceControllerOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #cache = new Map<string, Cached>();
  readonly #locks = new Map<string, Promise<void>>();
  readonly #metrics?: ServiceMetrics;
  /** Turns at the load balancer: `workers` Service syncs in provider calls at once, first come first served. */
  readonly #turns: LimitFunction;

  constructor(options: ServiceControllerOptions) {
    this.#o = options;
    this.#turns = pLimit(Math.max(1, options.workers));
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? getLogger(["ccm", SERVICE_LB_CONTROLLER]);
    if (options.registry !== undefined) this.#metrics = serviceMetrics(options.registry);
  }

  get #classes(): readonly string[] {
    return this.#o.balancer.loadBalancerClasses ?? [];
  }

  /** Runs service workers and the node-sync worker until `ctx.signal` aborts and in-flight work is done. */
  async run(ctx: ControllerRunContext): Promise<void> {
    const { registry } = this.#o;
    const clock = this.#clock;
    const services = new WorkQueue({
      name: "service",
      registry,
      clock,
      rateLimiter: serviceRateLimiter({ clock }),
    });
    const nodeSync = new WorkQueue({
      name: "node",
      registry,
      clock,
      rateLimiter: serviceRateLimiter({ clock }),
    });
    const removeServiceHandlers = this.#o.services.addHandlers({
      add: (svc) => {
        if (wantsLoadBalancer(svc, this.#classes) || needsCleanup(svc, this.#classes)) {
          services.add(keyOf(svc));
        }
      },
      update: (old, svc) => {
        // A resync replays the same object: level-triggered, every managed Service is reconciled again.
        const resync = old.metadata?.resourceVersion === svc.metadata?.resourceVersion;
        const change = serviceChange(old, svc, this.#classes);
        if (change?.message !== undefined) {
          this.#o.recorder.event(svc, "Normal", change.reason, change.message);
        }
        const managed = wantsLoadBalancer(svc, this.#classes) || needsCleanup(svc, this.#classes);
        if (change !== undefined || needsCleanup(svc, this.#classes) || (resync && managed)) {
          services.add(keyOf(svc));
        }
      },
      delete: (svc) => {
        if (this.#cache.has(keyOf(svc))) services.add(keyOf(svc));
      },
    });
    const removeNodeHandlers = this.#o.nodes.addHandlers({
      add: () => nodeSync.addAfter(NODE_SYNC_KEY, NODE_SYNC_BATCH_MS),
      update: (old, node) => {
        if (nodeChangeMatters(old, node)) nodeSync.addAfter(NODE_SYNC_KEY, NODE_SYNC_BATCH_MS);
      },
      delete: () => nodeSync.addAfter(NODE_SYNC_KEY, NODE_SYNC_BATCH_MS),
    });
    const common = { logger: this.#logger, signal: ctx.signal, syncSignal: ctx.syncSignal, registry, clock };
    try {
      await Promise.all([
        runWorkers({
          ...common,
          queue: services,
          workers: Math.max(this.#o.workers, SERVICE_SYNCS_IN_FLIGHT),
          controller: SERVICE_LB_CONTROLLER,
          transientMaxBackoffMs: SERVICE_TRANSIENT_MAX_BACKOFF_MS,
          sync: async (key, signal) => {
            const after = await this.syncService(key, signal);
            if (after !== undefined) services.addAfter(key, after);
          },
        }),
        runWorkers({
          ...common,
          queue: nodeSync,
          workers: 1,
          controller: SERVICE_LB_CONTROLLER,
          sync: async (_key, signal) => {
            for (const key of await this.syncNodes(signal)) services.add(key);
          },
        }),
      ]);
    } finally {
      removeServiceHandlers();
      removeNodeHandlers();
    }
  }

  /**
   * Reconciles one Service by key `namespace/name`; resolves with the delay after which the provider wants it
   * synced again (`LoadBalancer.recheckAfterMs`), if any.
   */
  syncService(key: string, signal?: AbortSignal): Promise<number | undefined> {
    return this.#withLock(key, async () => {
      const service = this.#o.services.get(key);
      if (service === undefined) {
        const cached = this.#cache.get(key);
        if (cached !== undefined) {
          this.#logger.info("Service was deleted; cleaning up its load balancer", { v: 2, service: key });
          await this.#deleteWithoutFinalizer(cached.service, signal);
          this.#cache.delete(key);
        }
        return;
      }
      const cached = this.#cache.get(key);
      if (cached !== undefined && cached.service.metadata?.uid !== service.metadata?.uid) {
        // Deleted and re-created while we were not looking; only possible without our finalizer.
        await this.#deleteWithoutFinalizer(cached.service, signal);
        this.#cache.delete(key);
      }
      this.#cache.set(key, { ...this.#cache.get(key), service });
      try {
        if (!wantsLoadBalancer(service, this.#classes) || needsCleanup(service, this.#classes)) {
          await this.#cleanup(key, service, signal);
          this.#cache.delete(key);
        } else {
          const settle = await this.#ensure(key, service, signal);
          const recheck = this.#o.balancer.recheckAfterMs?.(service);
          return settle === undefined ? recheck : Math.min(settle, recheck ?? settle);
        }
      } catch (err) {
        if (!(err instanceof RetryError)) {
          this.#o.recorder.event(
            service,
            "Warning",
            "SyncLoadBalancerFailed",
            `Error syncing load balancer: ${errorMessage(err)}`,
          );
        }
        throw err;
      }
    });
  }

  /** Ensures the load balancer and writes its status; returns when to look again while a write settles. */
  async #ensure(key: string, service: V1Service, signal?: AbortSignal): Promise<number | undefined> {
    this.#logger.info("Ensuring load balancer", { v: 2, service: key });
    this.#o.recorder.event(service, "Normal", "EnsuringLoadBalancer", "Ensuring load balancer");
    // Added with the status when the provider releases orphans, else before creating anything, so the Service
    // cannot go away without its load balancer being released.
    const finalizerWithStatus = !hasFinalizer(service) && this.#o.balancer.releasesOrphans === true;
    if (!hasFinalizer(service) && !finalizerWithStatus) {
      await this.#patch(service, { metadata: { finalizers: [FINALIZER_LB_CLEANUP] } }, "strategic").catch(
        (err) => {
          throw new Error(`failed to add load balancer cleanup finalizer: ${errorMessage(err)}`, {
            cause: err,
          });
        },
      );
    }
    const nodes = eligibleNodes(this.#o.nodes.list());
    if (nodes.length === 0) {
      this.#o.recorder.event(
        service,
        "Warning",
        "UnAvailableLoadBalancer",
        "There are no available nodes for LoadBalancer",
      );
    }
    const failed = (err: unknown) => {
      if (err instanceof RetryError) return err;
      return new Error(`failed to ensure load balancer: ${errorMessage(err)}`, { cause: err });
    };
    let ensured: EnsuredLoadBalancer;
    try {
      const { balancer, clusterName } = this.#o;
      ensured = await this.#turns(async () =>
        balancer.ensureLoadBalancerConcurrently
          ? await balancer.ensureLoadBalancerConcurrently(clusterName, service, nodes, signal)
          : {
            status: await balancer.ensureLoadBalancer(clusterName, service, nodes, signal),
            written: settled,
          }
      );
    } catch (err) {
      throw failed(err);
    }
    // The provider's own write to the Service lands while the status is written.
    const [statusResult, writtenResult] = await Promise.allSettled([
      this.#writeStatus(key, service, nodes, ensured.status, finalizerWithStatus),
      ensured.written,
    ]);
    if (writtenResult.status === "rejected") throw failed(writtenResult.reason);
    this.#o.recorder.event(service, "Normal", "EnsuredLoadBalancer", "Ensured load balancer");
    if (statusResult.status === "rejected") throw statusResult.reason;
    return statusResult.value;
  }

  /** Writes the status (and the finalizer when it rides along); returns when to look again while one settles. */
  async #writeStatus(
    key: string,
    service: V1Service,
    nodes: V1Node[],
    status: V1LoadBalancerStatus | undefined,
    finalizerWithStatus: boolean,
  ): Promise<number | undefined> {
    if (status === undefined || status === null) {
      throw new Error("service status returned by EnsureLoadBalancer is nil");
    }
    const entry: Cached = { service, nodes: nodeSetKey(nodes), written: this.#cache.get(key)?.written };
    this.#cache.set(key, entry);
    const written = entry.written;
    const statusEqual = loadBalancerStatusEqual(service.status?.loadBalancer, status);
    if (statusEqual && !finalizerWithStatus) return undefined;
    const now = this.#clock.now();
    if (
      written !== undefined && written.uid === service.metadata?.uid &&
      written.resourceVersion !== service.metadata?.resourceVersion &&
      loadBalancerStatusEqual(written.status, status) && now - written.at < STATUS_SETTLE_MS
    ) {
      this.#logger.debug("Status written moments ago has not reached the cache yet", { service: key });
      return STATUS_SETTLE_MS - (now - written.at);
    }
    const statusPatch = { loadBalancer: { ingress: status.ingress ?? null } };
    // A strategic merge patch adds the finalizer to the list (a merge patch would replace it).
    const write = finalizerWithStatus
      ? this.#patch(
        service,
        { metadata: { finalizers: [FINALIZER_LB_CLEANUP] }, status: statusPatch },
        "strategic",
      )
      : this.#patch(service, { status: statusPatch }, "merge");
    const updated = await write.catch((err) => {
      if (isNotFound(err)) return undefined;
      const what = finalizerWithStatus
        ? "add load balancer cleanup finalizer and update status"
        : "update load balancer status";
      throw new Error(`failed to ${what}: ${errorMessage(err)}`, { cause: err });
    });
    const resourceVersion = updated?.metadata?.resourceVersion;
    if (resourceVersion !== undefined) {
      entry.written = { uid: service.metadata?.uid ?? "", resourceVersion, status, at: now };
    }
    return undefined;
  }

  async #cleanup(key: string, service: V1Service, signal?: AbortSignal): Promise<void> {
    const { balancer, clusterName, recorder } = this.#o;
    let exists: boolean;
    try {
      exists = (await this.#turns(() => balancer.getLoadBalancer(clusterName, service, signal))).exists;
    } catch (err) {
      if (err instanceof RetryError) throw err;
      throw new Error(`failed to check if load balancer exists before cleanup: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    const owned = hasFinalizer(service);
    if (exists || owned) {
      this.#logger.info("Deleting load balancer", { v: 2, service: key });
      recorder.event(service, "Normal", "DeletingLoadBalancer", "Deleting load balancer");
      try {
        await this.#turns(() => balancer.ensureLoadBalancerDeleted(clusterName, service, signal));
      } catch (err) {
        if (err instanceof RetryError) throw err;
        throw new Error(`failed to delete load balancer: ${errorMessage(err)}`, { cause: err });
      }
    }
    const patch: Record<string, unknown> = {};
    if (owned) patch.metadata = { [`$deleteFromPrimitiveList/finalizers`]: [FINALIZER_LB_CLEANUP] };
    if (!loadBalancerStatusEqual(service.status?.loadBalancer, {})) {
      patch.status = { loadBalancer: { ingress: null } };
    }
    if (Object.keys(patch).length > 0) {
      try {
        await this.#patch(service, patch, "strategic");
      } catch (err) {
        if (!isNotFound(err)) {
          throw new Error(`failed to remove load balancer cleanup finalizer: ${errorMessage(err)}`, {
            cause: err,
          });
        }
      }
    }
    if (exists || owned) {
      this.#logger.info("Deleted load balancer", { service: key });
      recorder.event(service, "Normal", "DeletedLoadBalancer", "Deleted load balancer");
    }
  }

  /** Upstream `processLoadBalancerDelete`: for Services that disappeared without our finalizer. */
  async #deleteWithoutFinalizer(service: V1Service, signal?: AbortSignal): Promise<void> {
    if (!wantsLoadBalancer(service, this.#classes)) return;
    const { recorder } = this.#o;
    recorder.event(service, "Normal", "DeletingLoadBalancer", "Deleting load balancer");
    try {
      await this.#turns(() =>
        this.#o.balancer.ensureLoadBalancerDeleted(this.#o.clusterName, service, signal)
      );
    } catch (err) {
      recorder.event(
        service,
        "Warning",
        "DeleteLoadBalancerFailed",
        `Error deleting load balancer: ${errorMessage(err)}`,
      );
      throw err;
    }
    recorder.event(service, "Normal", "DeletedLoadBalancer", "Deleted load balancer");
  }

  /**
   * Gives every ensured load balancer whose node set changed the current eligible nodes (upstream
   * `syncNodes`). Returns the keys of Services to retry with a full sync.
   */
  async syncNodes(signal?: AbortSignal): Promise<string[]> {
    const start = this.#clock.now();
    // No load balancer has a node set yet: nothing to compare (ensures read the nodes themselves).
    if (![...this.#cache.values()].some((c) => c.nodes !== undefined)) return [];
    const nodes = eligibleNodes(this.#o.nodes.list());
    const wanted = nodeSetKey(nodes);
    const keys = [...this.#cache.entries()]
      .filter(([, c]) => c.nodes !== undefined && c.nodes !== wanted)
      .map(([key]) => key);
    const retry: string[] = [];
    await forEachConcurrently(keys, async (key) => {
      if (!(await this.#updateHosts(key, nodes, wanted, signal))) retry.push(key);
    }, { concurrency: this.#o.workers, signal });
    this.#metrics?.nodeSyncLatency.observe((this.#clock.now() - start) / 1000);
    if (keys.length > 0) {
      this.#logger.info("Updated load balancers with the new node set", {
        v: 2,
        updated: keys.length - retry.length,
        total: keys.length,
      });
    }
    return retry;
  }

  /** Returns false when the Service must be retried. */
  #updateHosts(key: string, nodes: V1Node[], wanted: string, signal?: AbortSignal): Promise<boolean> {
    return this.#withLock(key, async () => {
      const cached = this.#cache.get(key);
      // Use the newest spec (the cached copy may be older) and skip Services that stopped wanting one.
      const service = this.#o.services.get(key);
      if (cached === undefined || cached.nodes === wanted || service === undefined) return true;
      if (!wantsLoadBalancer(service, this.#classes) || needsCleanup(service, this.#classes)) return true;
      const start = this.#clock.now();
      this.#metrics?.syncTotal.inc();
      try {
        await this.#o.balancer.updateLoadBalancer(this.#o.clusterName, service, nodes, signal);
        cached.nodes = wanted;
        if (nodes.length === 0) {
          this.#o.recorder.event(
            service,
            "Warning",
            "UnAvailableLoadBalancer",
            "There are no available nodes for LoadBalancer",
          );
        } else {
          this.#o.recorder.event(
            service,
            "Normal",
            "UpdatedLoadBalancer",
            "Updated load balancer with new hosts",
          );
        }
        return true;
      } catch (err) {
        this.#metrics?.nodeSyncErrors.inc();
        // Only a failure if the load balancer still exists.
        try {
          if (!(await this.#o.balancer.getLoadBalancer(this.#o.clusterName, service, signal)).exists) {
            return true;
          }
        } catch (lookupErr) {
          this.#logger.error("Failed to check if load balancer exists", { service: key, err: lookupErr });
        }
        const names = nodes.map((n) => n.metadata?.name).join(" ");
        this.#logger.error("Failed to update load balancer hosts", { service: key, err });
        this.#o.recorder.event(
          service,
          "Warning",
          "UpdateLoadBalancerFailed",
          `Error updating load balancer with new hosts [${names}]: ${errorMessage(err)}`,
        );
        return false;
      } finally {
        this.#metrics?.updateHostLatency.observe((this.#clock.now() - start) / 1000);
      }
    });
  }

  #patch(service: V1Service, body: unknown, kind: "merge" | "strategic"): Promise<V1Service> {
    const { namespace = "", name = "" } = service.metadata ?? {};
    return this.#o.writer.patchStatus(namespace, name, body, kind);
  }

  /** Runs `fn` after any earlier work on `key` (ensure and node update never overlap for one Service). */
  async #withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => release = resolve);
    const chained = previous.then(() => mine);
    this.#locks.set(key, chained);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#locks.get(key) === chained) this.#locks.delete(key);
    }
  }
}

function keyOf(service: V1Service): string {
  return `${service.metadata?.namespace ?? ""}/${service.metadata?.name ?? ""}`;
}

interface ServiceMetrics {
  syncTotal: Counter;
  nodeSyncErrors: Counter;
  nodeSyncLatency: Histogram;
  updateHostLatency: Histogram;
}

/** Upstream service controller metrics (buckets 1 s × 2^n, 15 buckets). */
function serviceMetrics(registry: Registry): ServiceMetrics {
  const buckets = Array.from({ length: 15 }, (_, i) => 2 ** i);
  return {
    syncTotal: getOrCreateCounter(registry, {
      name: "service_controller_loadbalancer_sync_total",
      help: "A metric counting the amount of times any load balancer has been configured, as an effect of " +
        "service/node changes on the cluster",
    }),
    nodeSyncErrors: getOrCreateCounter(registry, {
      name: "service_controller_nodesync_error_total",
      help:
        "A metric counting the amount of times any load balancer has been configured and errored, as an " +
        "effect of node changes on the cluster",
    }),
    nodeSyncLatency: getOrCreateHistogram(registry, {
      name: "service_controller_nodesync_latency_seconds",
      help:
        "A metric measuring the latency for nodesync which updates loadbalancer hosts on cluster node updates",
      buckets,
    }),
    updateHostLatency: getOrCreateHistogram(registry, {
      name: "service_controller_update_loadbalancer_host_latency_seconds",
      help: "A metric measuring the latency for updating each load balancer hosts",
      buckets,
    }),
  };
}
