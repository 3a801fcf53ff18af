/**
 * `loadbalancer-janitor`: periodic, level-triggered clean-up of what missed Service events leave behind (for
 * example Services deleted while no CCM was running, or finalizers removed by hand):
 * - the implementation's garbage collection (MetalLB pools and peers of Services or Nodes that are gone);
 * - the orphan sweep (`METAL_EIP_ORPHAN_SWEEP`): reservations tagged with our usage and cluster tags whose
 *   Service no longer exists (or no longer wants a load balancer from us and has no cleanup finalizer) are
 *   released.
 *
 * Never on ambiguity: nothing runs before the Service informer has synced; a reservation is released only after
 * it was seen orphaned on two passes at least one interval apart; any API error skips the sweep. Releases are
 * logged and recorded as Events on the `kube-system` Namespace (the cluster's identity).
 *
 * @module
 */
import type { V1Namespace, V1Node, V1Service } from "@kubernetes/client-node";
import { getLogger, type Logger } from "@logtape/logtape";
import { Counter, type Registry } from "prom-client";
import {
  type Controller,
  type ControllerRunContext,
  type EventRecorder,
  getOrCreateCounter,
  hasFinalizer,
  wantsLoadBalancer,
} from "../../provider/mod.ts";
import { type Clock, systemClock } from "../../util/clock.ts";
import { runPeriodically } from "../../util/periodic.ts";
import type { Informer } from "../../provider/kube/mod.ts";
import type { IpReservation } from "../api/types.ts";
import type { ElasticIps } from "./eip.ts";
import type { LoadBalancerImplementation } from "./implementation.ts";
import type { ReservationCache } from "./reservation_cache.ts";
import { clusterTag, SERVICE_TAG_PREFIX, serviceTag, USAGE_TAG } from "./tags.ts";
import { errorMessage } from "../../util/errors.ts";

/** Controller name (logs, metrics, `/healthz`). */
export const LOAD_BALANCER_JANITOR = "loadbalancer-janitor";

/** Default time between passes. */
export const DEFAULT_JANITOR_INTERVAL_MS = 5 * 60_000;

/** Event reasons on the `kube-system` Namespace. */
export const JANITOR_EVENT_REASONS = Object.freeze({
  orphanReleased: "EIPOrphanReleased",
  orphanReleaseFailed: "EIPOrphanReleaseFailed",
});

/** Options of {@linkcode LoadBalancerJanitor}. */
export interface LoadBalancerJanitorOptions {
  implementation: LoadBalancerImplementation;
  services: Informer<V1Service>;
  nodes: Informer<V1Node>;
  /** `spec.loadBalancerClass` values we handle besides unset. */
  classes?: readonly string[];
  /** Set to sweep orphaned reservations (needs `eips` and `reservations`). */
  orphanSweep: boolean;
  eips?: ElasticIps;
  reservations?: ReservationCache;
  /** UID of `kube-system`; the `cluster=` tag. */
  clusterId: string;
  /** Default {@linkcode DEFAULT_JANITOR_INTERVAL_MS}. */
  intervalMs?: number;
  recorder?: EventRecorder;
  metrics?: Registry;
  clock?: Clock;
  logger?: Logger;
}

/** See the module documentation. */
export class LoadBalancerJanitor implements Controller {
  readonly name = LOAD_BALANCER_JANITOR;
  #o: LoadBalancerJanitorOptions;
  #clock: Clock;
  #logger: Logger;
  #intervalMs: number;
  /** Orphan candidates and when they were first seen orphaned. */
  #suspects = new Map<string, number>();
  #sweeps: Counter<"result"> | undefined;
  #gcs: Counter<"result"> | undefined;

  constructor(options: LoadBalancerJanitorOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? getLogger(["ccm", LOAD_BALANCER_JANITOR]);
    this.#intervalMs = options.intervalMs ?? DEFAULT_JANITOR_INTERVAL_MS;
    const registry = options.metrics;
    if (registry) {
      this.#sweeps = getOrCreateCounter(registry, {
        name: "ccm_equinixmetal_eip_orphan_sweeps_total",
        help:
          "Elastic IP orphan sweeps, by result (success, error, or skipped while the Service cache is not synced)",
        labelNames: ["result"] as const,
      });
      this.#gcs = getOrCreateCounter(registry, {
        name: "ccm_equinixmetal_loadbalancer_gc_total",
        help: "Load balancer implementation garbage collections, by result (success or error)",
        labelNames: ["result"] as const,
      });
    }
  }

  async run({ signal }: ControllerRunContext): Promise<void> {
    await runPeriodically(() => this.pass(signal), {
      periodMs: this.#intervalMs,
      signal,
      clock: this.#clock,
    });
  }

  /** One pass: garbage collection, then the sweep. Failures are logged and counted, never thrown. */
  async pass(signal?: AbortSignal): Promise<void> {
    if (!this.#o.services.hasSynced() || !this.#o.nodes.hasSynced()) {
      this.#sweeps?.inc({ result: "skipped" });
      this.#logger.debug("Skipped clean-up pass: the Service or Node cache has not synced yet");
      return;
    }
    if (this.#o.implementation.garbageCollect) {
      const classes = this.#o.classes ?? [];
      const services = this.#o.services.list().filter((s) => wantsLoadBalancer(s, classes));
      try {
        await this.#o.implementation.garbageCollect({ services, nodes: this.#o.nodes.list() }, signal);
        this.#gcs?.inc({ result: "success" });
      } catch (err) {
        this.#gcs?.inc({ result: "error" });
        this.#logger.warn("Failed to garbage-collect load balancer objects", {
          implementation: this.#o.implementation.name,
          err,
        });
      }
    }
    if (this.#o.orphanSweep && this.#o.eips && this.#o.reservations) await this.sweep(signal);
  }

  /** The orphan sweep alone. */
  async sweep(signal?: AbortSignal): Promise<void> {
    let reservations: readonly IpReservation[];
    try {
      // Fresh: never decide on a list older than this pass.
      reservations = await this.#o.reservations!.list({ signal, maxAgeMs: 0 });
    } catch (err) {
      this.#sweeps?.inc({ result: "error" });
      this.#logger.warn("Skipped the elastic IP orphan sweep: cannot list reservations", { err });
      return;
    }
    const now = this.#clock.now();
    const orphans = this.#orphans(reservations);
    for (const id of [...this.#suspects.keys()]) {
      if (!orphans.some((r) => r.id === id)) this.#suspects.delete(id);
    }
    let failed = false;
    for (const reservation of orphans) {
      const firstSeen = this.#suspects.get(reservation.id);
      if (firstSeen === undefined) {
        this.#suspects.set(reservation.id, now);
        this.#logger.info("Found an elastic IP whose Service is gone; releasing it on the next pass", {
          address: reservation.address,
          reservationId: reservation.id,
        });
        continue;
      }
      if (now - firstSeen < this.#intervalMs) continue;
      try {
        await this.#o.eips!.release(reservation, { reason: "orphan", signal });
        this.#suspects.delete(reservation.id);
        this.#o.recorder?.event(
          this.#namespace(),
          "Normal",
          JANITOR_EVENT_REASONS.orphanReleased,
          `Released elastic IP ${reservation.address} (reservation '${reservation.id}'): its Service no longer exists`,
        );
      } catch (err) {
        failed = true;
        this.#o.recorder?.warn(
          this.#namespace(),
          JANITOR_EVENT_REASONS.orphanReleaseFailed,
          errorMessage(err),
        );
      }
    }
    this.#sweeps?.inc({ result: failed ? "error" : "success" });
  }

  /** Reservations tagged as ours whose Service does not exist or no longer wants a load balancer from us. */
  #orphans(reservations: readonly IpReservation[]): IpReservation[] {
    const cluster = clusterTag(this.#o.clusterId);
    const classes = this.#o.classes ?? [];
    const live = new Set<string>();
    for (const service of this.#o.services.list()) {
      if (!wantsLoadBalancer(service, classes) && !hasFinalizer(service)) continue;
      live.add(serviceTag(service.metadata?.namespace ?? "", service.metadata?.name ?? ""));
    }
    return reservations.filter((r) => {
      if (!r.tags.includes(USAGE_TAG) || !r.tags.includes(cluster)) return false;
      const serviceTags = r.tags.filter((t) => t.startsWith(SERVICE_TAG_PREFIX));
      return serviceTags.length > 0 && !serviceTags.some((t) => live.has(t));
    });
  }

  #namespace(): V1Namespace {
    return { apiVersion: "v1", kind: "Namespace", metadata: { name: "kube-system", uid: this.#o.clusterId } };
  }
}
