/**
 * Service elastic IPs: where to reserve one (upstream's metal/loadbalancers.go order), finding a Service's
 * reservation by its tags before ever reserving (so a crash between reserving and recording the status never
 * makes a second one), reserving with upstream's request body, and releasing. Every failure a user can act on
 * is a Warning Event on the Service and a metric.
 *
 * A reserve whose outcome is unknown (timeout, connection lost, 5xx) may still complete on the API's side
 * later. For {@linkcode LATE_RESERVE_WINDOW_MS} after it, every look at the Service's reservations uses a list
 * started by that look (never a cached one that may predate the late completion, which would reserve a second
 * address), and {@linkcode ElasticIps.recheckAfterMs} asks for the Service to be synced again every
 * {@linkcode LATE_RESERVE_RECHECK_MS}: a completion that lands after the retry reserved another address is
 * then found and released as a duplicate within seconds, not at the next resync or janitor pass.
 *
 * @module
 */
import type { V1Service } from "@kubernetes/client-node";
import { getLogger, type Logger } from "@logtape/logtape";
import { Counter, type Registry } from "prom-client";
import { type Clock, systemClock } from "../../util/clock.ts";
import { type EventRecorder, getOrCreateCounter } from "../../provider/mod.ts";
import { maskSecrets } from "../../util/log.ts";
import { MetalApiError, MetalRateLimitedError } from "../api/errors.ts";
import type { IpReservation } from "../api/types.ts";
import type { ReservationCache } from "./reservation_cache.ts";
import { filterByAllTags, findByAllTags, RESERVATION_DETAILS, serviceTags } from "./tags.ts";
import { errorMessage } from "../../util/errors.ts";

/** Event reasons on Services; part of the user-facing contract (alerts may match them). */
export const EIP_EVENT_REASONS = Object.freeze({
  noLocation: "NoEIPLocation",
  reservationFailed: "EIPReservationFailed",
  releaseFailed: "EIPReleaseFailed",
  notFound: "EIPNotFound",
  reserved: "EIPReserved",
  released: "EIPReleased",
});

/** Where an elastic IP is reserved, and which setting chose it (for messages). */
export type EipLocation =
  | { metro: string; facility?: undefined; source: string }
  | { facility: string; metro?: undefined; source: string };

/** The settings that choose an elastic IP's location. */
export interface EipLocationSettings {
  /** `METAL_ANNOTATION_EIP_METRO` (default `metal.equinix.com/eip-metro`). */
  annotationEipMetro: string;
  /** `METAL_ANNOTATION_EIP_FACILITY` (default `metal.equinix.com/eip-facility`). */
  annotationEipFacility: string;
  /** `METAL_METRO_NAME`. */
  metro: string;
  /** `METAL_FACILITY_NAME`. */
  facility: string;
}

/**
 * Upstream's order: the Service's metro annotation, its facility annotation, the configured metro, the configured
 * facility; `undefined` when none is set.
 */
export function eipLocation(service: V1Service, settings: EipLocationSettings): EipLocation | undefined {
  const annotations = service.metadata?.annotations ?? {};
  const metro = annotations[settings.annotationEipMetro]?.trim();
  if (metro) return { metro, source: `annotation "${settings.annotationEipMetro}"` };
  const facility = annotations[settings.annotationEipFacility]?.trim();
  if (facility) return { facility, source: `annotation "${settings.annotationEipFacility}"` };
  if (settings.metro) return { metro: settings.metro, source: "METAL_METRO_NAME" };
  if (settings.facility) return { facility: settings.facility, source: "METAL_FACILITY_NAME" };
  return undefined;
}

/**
 * How long after a reserve with an unknown outcome its late completion is looked for. The API answers in well
 * under a second; a request our client gave up on (30 s) has completed or been dropped a minute later.
 */
export const LATE_RESERVE_WINDOW_MS = 60_000;
/** How often a Service is synced again while a late reserve may still land. */
export const LATE_RESERVE_RECHECK_MS = 15_000;

/** Options of {@linkcode ElasticIps}. */
export interface ElasticIpsOptions {
  reservations: ReservationCache;
  /** UID of the `kube-system` namespace (the `cluster=` tag). */
  clusterId: string;
  location: EipLocationSettings;
  recorder?: EventRecorder;
  metrics?: Registry;
  /** Default category `["ccm", "metal", "eip"]`. */
  logger?: Logger;
  clock?: Clock;
}

/** A Service's elastic IP. */
export interface ServiceEip {
  reservation: IpReservation;
  /** Whether this call reserved it. */
  created: boolean;
}

/** See the module documentation. */
export class ElasticIps {
  #o: ElasticIpsOptions;
  #logger: Logger;
  #reserved: Counter<"result"> | undefined;
  #released: Counter<"result" | "reason"> | undefined;
  #clock: Clock;
  /** Services whose reserve may yet complete without our knowing, and until when to look for it. */
  #lateUntil = new Map<string, number>();

  constructor(options: ElasticIpsOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? getLogger(["ccm", "metal", "eip"]);
    const registry = options.metrics;
    if (registry) {
      this.#reserved = getOrCreateCounter(registry, {
        name: "ccm_equinixmetal_eip_reservations_total",
        help: "Service elastic IPs ensured, by result: created, reused (found by its tags), no_location, " +
          "or error",
        labelNames: ["result"] as const,
      });
      this.#released = getOrCreateCounter(registry, {
        name: "ccm_equinixmetal_eip_releases_total",
        help: "Elastic IP releases, by result (released, gone, error) and reason (service, orphan or " +
          "duplicate)",
        labelNames: ["result", "reason"] as const,
      });
    }
  }

  /** The cluster id used in tags. */
  get clusterId(): string {
    return this.#o.clusterId;
  }

  /** The tags of `service`'s reservation. */
  tagsOf(service: V1Service): string[] {
    const { namespace = "", name = "" } = service.metadata ?? {};
    return serviceTags(namespace, name, this.#o.clusterId);
  }

  /** Every reservation tagged for `service` (normally none or one), in list order. */
  async findAll(service: V1Service, signal?: AbortSignal): Promise<IpReservation[]> {
    return filterByAllTags(await this.#listFor(keyOf(service), signal), this.tagsOf(service));
  }

  /** The first reservation tagged for `service` (upstream's choice when there are several). */
  async find(service: V1Service, signal?: AbortSignal): Promise<IpReservation | undefined> {
    return findByAllTags(await this.#listFor(keyOf(service), signal), this.tagsOf(service));
  }

  /**
   * After a successful sync of `service`: milliseconds until it should be synced again although nothing
   * changed, because a reserve of unknown outcome may still land (see the module documentation); otherwise
   * `undefined`.
   */
  recheckAfterMs(service: V1Service): number | undefined {
    const until = this.#lateUntil.get(keyOf(service));
    if (until === undefined) return undefined;
    return Math.max(0, Math.min(LATE_RESERVE_RECHECK_MS, until - this.#clock.now()));
  }

  /** The first reservation carrying `tag` (the control-plane EIP). */
  async findByTag(tag: string, signal?: AbortSignal): Promise<IpReservation | undefined> {
    return findByAllTags(await this.#list(signal), [tag]);
  }

  /**
   * The Service's reservation: the existing one found by its tags, or a new one.
   *
   * @throws {Error} When no location is configured (`NoEIPLocation` Event) or the API refuses
   *   (`EIPReservationFailed` Event).
   */
  async ensure(service: V1Service, signal?: AbortSignal): Promise<ServiceEip> {
    const key = keyOf(service);
    const found = filterByAllTags(await this.#listFor(key, signal), this.tagsOf(service));
    if (found.length > 0) {
      if (found.length > 1) {
        this.#logger.warn("Found several elastic IPs tagged for one Service; using the first", {
          service: key,
          addresses: found.map((r) => r.address),
        });
      }
      this.#reserved?.inc({ result: "reused" });
      return { reservation: found[0]!, created: false };
    }
    const location = eipLocation(service, this.#o.location);
    const invalid = location && locationProblem(location);
    if (invalid) {
      this.#reserved?.inc({ result: "error" });
      this.#o.recorder?.warn(service, EIP_EVENT_REASONS.reservationFailed, invalid);
      throw new Error(invalid);
    }
    if (location === undefined) {
      this.#reserved?.inc({ result: "no_location" });
      const { annotationEipMetro, annotationEipFacility } = this.#o.location;
      const message = "Cannot reserve an elastic IP: no metro or facility is set; add the annotation " +
        `"${annotationEipMetro}" (or "${annotationEipFacility}") to the Service, or set METAL_METRO_NAME ` +
        "(or METAL_FACILITY_NAME) for the cluster";
      this.#o.recorder?.warn(service, EIP_EVENT_REASONS.noLocation, message);
      throw new Error(message);
    }
    let reservation: IpReservation;
    try {
      reservation = await this.#o.reservations.create({
        type: "public_ipv4",
        quantity: 1,
        details: RESERVATION_DETAILS,
        tags: this.tagsOf(service),
        failOnApprovalRequired: true,
        ...(location.metro !== undefined ? { metro: location.metro } : { facility: location.facility }),
      }, signal);
    } catch (err) {
      this.#reserved?.inc({ result: "error" });
      if (!definitelyRefused(err)) this.#mayLandLate(key);
      const where = location.metro !== undefined
        ? `metro '${location.metro}'`
        : `facility '${location.facility}'`;
      const message = maskSecrets(
        `Failed to reserve an elastic IP in ${where} (from ${location.source}): ${errorMessage(err)}`,
      );
      this.#o.recorder?.warn(service, EIP_EVENT_REASONS.reservationFailed, message);
      throw new Error(message, { cause: err });
    }
    this.#reserved?.inc({ result: "created" });
    this.#logger.info("Reserved elastic IP", {
      service: key,
      address: reservation.address,
      reservationId: reservation.id,
      ...(location.metro !== undefined ? { metro: location.metro } : { facility: location.facility }),
    });
    this.#o.recorder?.event(
      service,
      "Normal",
      EIP_EVENT_REASONS.reserved,
      `Reserved elastic IP ${reservation.address}`,
    );
    return { reservation, created: true };
  }

  /**
   * Releases a reservation (already gone counts as released).
   *
   * @param service Where Events go; none for orphans.
   * @throws {Error} When the API refuses (`EIPReleaseFailed` Event on `service`).
   */
  async release(
    reservation: IpReservation,
    options: { service?: V1Service; reason: "service" | "orphan" | "duplicate"; signal?: AbortSignal },
  ): Promise<void> {
    let result: "deleted" | "gone";
    try {
      result = await this.#o.reservations.delete(reservation.id, options.signal);
    } catch (err) {
      this.#released?.inc({ result: "error", reason: options.reason });
      const message = maskSecrets(
        `Failed to release elastic IP ${reservation.address} (reservation '${reservation.id}'): ${
          errorMessage(err)
        }`,
      );
      if (options.service) this.#o.recorder?.warn(options.service, EIP_EVENT_REASONS.releaseFailed, message);
      throw new Error(message, { cause: err });
    }
    this.#released?.inc({ result: result === "deleted" ? "released" : "gone", reason: options.reason });
    this.#logger.info("Released elastic IP", {
      service: options.service ? keyOf(options.service) : undefined,
      address: reservation.address,
      reservationId: reservation.id,
      reason: options.reason,
    });
    if (options.service) {
      this.#o.recorder?.event(
        options.service,
        "Normal",
        EIP_EVENT_REASONS.released,
        `Released elastic IP ${reservation.address}`,
      );
    }
  }

  /** The reservations, listed afresh while a late reserve of the Service `key` may still land. */
  async #listFor(key: string, signal?: AbortSignal): Promise<readonly IpReservation[]> {
    const until = this.#lateUntil.get(key);
    if (until === undefined) return await this.#list(signal);
    const startedAt = this.#clock.now();
    const list = await this.#list(signal, true);
    // Only a list started after the window closed has surely seen any late completion.
    if (startedAt >= until) this.#lateUntil.delete(key);
    return list;
  }

  #mayLandLate(key: string): void {
    const now = this.#clock.now();
    // Services deleted within their window are never looked at again (the janitor covers them): forget them.
    for (const [other, until] of this.#lateUntil) {
      if (until < now - LATE_RESERVE_WINDOW_MS) this.#lateUntil.delete(other);
    }
    this.#lateUntil.set(key, now + LATE_RESERVE_WINDOW_MS);
  }

  #list(signal?: AbortSignal, fresh = false): Promise<readonly IpReservation[]> {
    return this.#o.reservations.list({ signal, fresh }).catch((err) => {
      throw new Error(
        `Failed to list the IP reservations of project '${this.#o.reservations.projectId}': ${
          errorMessage(err)
        }`,
        { cause: err },
      );
    });
  }
}

/** The longest part of a user's value quoted in a message. */
const QUOTE_MAX = 64;

/**
 * Why a location cannot be a metro or facility code (letters and digits, at most 16), or `undefined`; checked
 * before the API is asked, so a garbage annotation costs no call and its message stays short.
 */
function locationProblem(location: EipLocation): string | undefined {
  const [kind, code, example] = location.metro !== undefined
    ? ["metro", location.metro, "da"]
    : ["facility", location.facility, "da11"];
  if (/^[A-Za-z0-9]{1,16}$/.test(code)) return undefined;
  const shown = code.length > QUOTE_MAX ? `${code.slice(0, QUOTE_MAX)}… (${code.length} characters)` : code;
  return `Cannot reserve an elastic IP: ${kind} '${shown}' (from ${location.source}) is not a ${kind} code; ` +
    `use letters and digits only, such as '${example}'`;
}

/** Whether the API surely did nothing: it answered 4xx (429 included). */
function definitelyRefused(err: unknown): boolean {
  if (err instanceof MetalRateLimitedError) return true;
  if (err instanceof MetalApiError) return err.status !== undefined && err.status >= 400 && err.status < 500;
  return false;
}

function keyOf(service: V1Service): string {
  return `${service.metadata?.namespace ?? ""}/${service.metadata?.name ?? ""}`;
}
