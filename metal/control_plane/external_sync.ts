/**
 * Keeps the external Service and EndpointSlice in step with `default/kubernetes` and the EIP: builds the
 * wanted objects and applies only what the informer caches show is missing or different.
 *
 * An external Service from before {@linkcode EXTERNAL_SERVICE_LOAD_BALANCER_CLASS} (the class cannot be added to
 * a LoadBalancer Service) is deleted and created again. And the status is not fought over: when another
 * controller keeps changing the ingress right after ccm set it, each rewrite waits twice as long as the last
 * (1 s up to 5 min), with a warning naming the other writers.
 *
 * @module
 */
import type { V1ConfigMap, V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import type { Logger } from "@logtape/logtape";
import { type Clock, systemClock } from "../../util/clock.ts";
import type { Informer } from "../../provider/kube/mod.ts";
import { Backoff } from "../../util/backoff.ts";
import { isKubernetesEndpointSlice } from "./api_server_port.ts";
import {
  alreadyApplied,
  externalEndpointSlice,
  externalService,
  externalServiceStatus,
} from "./external_objects.ts";
import {
  CONTROL_PLANE_FIELD_MANAGER,
  EXTERNAL_SERVICE_LOAD_BALANCER_CLASS,
  EXTERNAL_SERVICE_NAME,
  EXTERNAL_SERVICE_NAMESPACE,
  KUBERNETES_SERVICE,
} from "./names.ts";

/** What the managers write to (and read from) Kubernetes; tests substitute their own. */
export interface ControlPlaneKube {
  applyService(body: V1Service, signal?: AbortSignal): Promise<V1Service>;
  applyServiceStatus(body: V1Service, signal?: AbortSignal): Promise<V1Service>;
  applyEndpointSlice(body: V1EndpointSlice, signal?: AbortSignal): Promise<V1EndpointSlice>;
  /** Deletes the Service if it still has `uid` (a precondition); a missing Service is not an error. */
  deleteService(namespace: string, name: string, uid: string, signal?: AbortSignal): Promise<void>;
  /** Resolves `undefined` when the ConfigMap does not exist. */
  readConfigMap(namespace: string, name: string, signal?: AbortSignal): Promise<V1ConfigMap | undefined>;
}

/** `namespace/name` of the external Service and EndpointSlice in the informer caches. */
export const EXTERNAL_KEY = `${EXTERNAL_SERVICE_NAMESPACE}/${EXTERNAL_SERVICE_NAME}`;
/** `namespace/name` of Service `default/kubernetes`. */
export const KUBERNETES_KEY = `${KUBERNETES_SERVICE.namespace}/${KUBERNETES_SERVICE.name}`;

/** Options of {@linkcode ExternalObjectsSync}. */
export interface ExternalObjectsSyncOptions {
  kube: ControlPlaneKube;
  services: Informer<V1Service>;
  endpointSlices: Informer<V1EndpointSlice>;
  logger: Logger;
  clock?: Clock;
}

/** First wait before rewriting a status another controller changed again. */
export const STATUS_FIGHT_FIRST_BACKOFF_MS = 1_000;
/** Longest wait before rewriting it. */
export const STATUS_FIGHT_MAX_BACKOFF_MS = 300_000;
/** A status that stayed ours this long ends a fight (the backoff starts over). */
const STATUS_FIGHT_RESET_MS = 60_000;

/** See the module documentation. */
export class ExternalObjectsSync {
  readonly #o: ExternalObjectsSyncOptions;
  readonly #clock: Clock;
  /** Whether the last status write is still to be seen (undone or not) by a later sync. */
  #wroteStatus = false;
  #lastStatusWriteAt = 0;
  /** Consecutive status writes that another controller undid. */
  #overwrites = 0;
  /** Waits before rewriting, from the second undone write on (no jitter: there is one writer to step back). */
  readonly #backoff = new Backoff({
    initialMs: STATUS_FIGHT_FIRST_BACKOFF_MS,
    maxMs: STATUS_FIGHT_MAX_BACKOFF_MS,
  });
  /** No status write before this time (epoch ms). */
  #notBefore = 0;
  #deletedUid: string | undefined;

  constructor(options: ExternalObjectsSyncOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Applies the Service (with `eip` as its load balancer IP and ingress) when `eip` is known and
   * `default/kubernetes` exists, and the EndpointSlice when `default/kubernetes` has slices.
   */
  async sync(eip: string | undefined, signal?: AbortSignal): Promise<void> {
    const { kube, services, endpointSlices, logger } = this.#o;
    const kubernetes = services.get(KUBERNETES_KEY);
    if (eip && kubernetes) {
      let live = services.get(EXTERNAL_KEY);
      if (live && await this.#recreating(live, signal)) return;
      const spec = externalService(kubernetes, eip);
      if (!alreadyApplied(spec, live)) {
        live = await kube.applyService(spec, signal);
        logger.info("Applied Service {service} for control-plane EIP {eip}", { service: EXTERNAL_KEY, eip });
      }
      const status = externalServiceStatus(eip);
      if (!alreadyApplied(status, live)) {
        if (this.#mayWriteStatus(live)) {
          await kube.applyServiceStatus(status, signal);
          this.#wroteStatus = true;
          this.#lastStatusWriteAt = this.#clock.now();
          logger.info("Set the ingress of Service {service} to {eip}", { v: 2, service: EXTERNAL_KEY, eip });
        }
      } else if (this.#clock.now() - this.#lastStatusWriteAt >= STATUS_FIGHT_RESET_MS) {
        this.#overwrites = 0;
        this.#backoff.reset();
        this.#notBefore = 0;
      }
    }
    const slice = externalEndpointSlice(endpointSlices.list().filter(isKubernetesEndpointSlice));
    if (slice && !alreadyApplied(slice, endpointSlices.get(EXTERNAL_KEY))) {
      await kube.applyEndpointSlice(slice, signal);
      logger.info("Applied EndpointSlice {slice} with {count} API server endpoint(s)", {
        v: 2,
        slice: EXTERNAL_KEY,
        count: slice.endpoints?.length ?? 0,
      });
    }
  }

  /**
   * Deletes an external Service without our load balancer class (it cannot be added in place); `true` while
   * that Service is still there, so nothing is applied to it.
   */
  async #recreating(live: V1Service, signal?: AbortSignal): Promise<boolean> {
    if (
      live.spec?.type !== "LoadBalancer" ||
      live.spec.loadBalancerClass === EXTERNAL_SERVICE_LOAD_BALANCER_CLASS
    ) {
      return false;
    }
    const uid = live.metadata?.uid ?? "";
    if (live.metadata?.deletionTimestamp || uid === this.#deletedUid) return true;
    await this.#o.kube.deleteService(EXTERNAL_SERVICE_NAMESPACE, EXTERNAL_SERVICE_NAME, uid, signal);
    this.#deletedUid = uid;
    this.#o.logger.info(
      "Deleted Service {service} to create it again with loadBalancerClass {class} (immutable), so MetalLB " +
        "and kube-vip leave it alone",
      { service: EXTERNAL_KEY, class: EXTERNAL_SERVICE_LOAD_BALANCER_CLASS },
    );
    return true;
  }

  /** Whether the status may be written now; counts and backs off rewrites another controller undoes. */
  #mayWriteStatus(live: V1Service | undefined): boolean {
    const now = this.#clock.now();
    if (this.#wroteStatus) {
      // Our last write was seen undone: someone else changed the ingress.
      this.#wroteStatus = false;
      this.#overwrites++;
      if (this.#overwrites >= 2) {
        const backoff = this.#backoff.next();
        this.#notBefore = now + backoff;
        const others = [
          ...new Set(
            (live?.metadata?.managedFields ?? [])
              .filter((f) => f.subresource === "status" && f.manager !== CONTROL_PLANE_FIELD_MANAGER)
              .map((f) => f.manager ?? "?"),
          ),
        ];
        this.#o.logger.warn(
          "The ingress of Service {service} was changed by another controller ({others}) right after ccm set " +
            "it, {count} times in a row; writing it again in {backoffMs} ms. Make the other load balancer " +
            "controller ignore this Service (loadBalancerClass {class})",
          {
            service: EXTERNAL_KEY,
            others: others.join(", ") || "unknown",
            count: this.#overwrites,
            backoffMs: backoff,
            class: EXTERNAL_SERVICE_LOAD_BALANCER_CLASS,
          },
        );
      }
    }
    return now >= this.#notBefore;
  }
}
