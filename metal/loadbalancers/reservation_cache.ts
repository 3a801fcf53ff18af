/**
 * {@linkcode ReservationCache}: one shared, paginated list of the project's IP reservations, so that syncing
 * 100 Services costs about one list call instead of 100. Our own creations and deletions are applied to the
 * cached list at once (and make any list that was in flight during the write be thrown away), so the cache
 * never hides a reservation this process made — which is what makes "find by tags before reserving" safe.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import { Counter, type Registry } from "prom-client";
import { type Clock, systemClock } from "../../util/clock.ts";
import type { MetalClient } from "../api/client.ts";
import { isDefinitelyNotFound } from "../api/errors.ts";
import type { IpReservation, IpReservationRequest } from "../api/types.ts";
import { SingleFlightCache } from "../single_flight_cache.ts";
import { getOrCreateCounter } from "../../provider/mod.ts";

/** Default time a reservation list is reused. */
export const DEFAULT_RESERVATION_CACHE_TTL_MS = 10_000;

/** Options of {@linkcode ReservationCache}. */
export interface ReservationCacheOptions {
  client: Pick<MetalClient, "listIpReservations" | "createIpReservation" | "deleteIpReservation">;
  projectId: string;
  /** How long a list is reused; default {@linkcode DEFAULT_RESERVATION_CACHE_TTL_MS}. */
  ttlMs?: number;
  clock?: Clock;
  /** Default category `["ccm", "metal", "eip"]`. */
  logger?: Logger;
  /** Where `ccm_equinixmetal_ip_reservation_lists_total` goes; none when absent. */
  metrics?: Registry;
}

/** Options of {@linkcode ReservationCache.list}. */
export interface ListOptions {
  signal?: AbortSignal;
  /** Reuse a cached list only when younger than this (capped by the TTL). */
  maxAgeMs?: number;
  /** Only a list started by this call will do (not the cached one, nor one already in flight). */
  fresh?: boolean;
}

/** A reservation list and when it was read. */
export interface ReservationSnapshot {
  readonly fetchedAt: number;
  readonly reservations: readonly IpReservation[];
}

/**
 * The project's reservations, listed at most once per TTL however many callers ask (concurrent callers share one
 * in-flight list). A failed list is not cached, and nothing older than the TTL is ever served: API trouble
 * shows up as an error, never as "no reservation".
 */
export class ReservationCache {
  #client: ReservationCacheOptions["client"];
  #projectId: string;
  #logger: Logger;
  /** Fenced by every write: a list started before or during one is not stored. */
  #list: SingleFlightCache<readonly IpReservation[]>;
  #lists: Counter<"result"> | undefined;

  constructor(options: ReservationCacheOptions) {
    this.#client = options.client;
    this.#projectId = options.projectId;
    this.#logger = options.logger ?? getLogger(["ccm", "metal", "eip"]);
    this.#list = new SingleFlightCache({
      load: () => this.#listReservations(),
      ttlMs: options.ttlMs ?? DEFAULT_RESERVATION_CACHE_TTL_MS,
      clock: options.clock ?? systemClock,
    });
    if (options.metrics) {
      this.#lists = getOrCreateCounter(options.metrics, {
        name: "ccm_equinixmetal_ip_reservation_lists_total",
        help: "IP reservation list calls made by the shared reservation cache, by result (success or error)",
        labelNames: ["result"] as const,
      });
    }
  }

  /** The project id the cache lists. */
  get projectId(): string {
    return this.#projectId;
  }

  /**
   * The reservations, read from the API when the cached list is older than the TTL (or `maxAgeMs`).
   * Concurrent callers share one list call. `fresh` asks for a list that starts now: neither the cached one
   * nor one already in flight.
   */
  async list(options?: ListOptions): Promise<readonly IpReservation[]> {
    return (await this.snapshot(options)).reservations;
  }

  /** Like {@linkcode list}, with the time the list was read. */
  async snapshot(options?: ListOptions): Promise<ReservationSnapshot> {
    const { fetchedAt, value } = await this.#list.get(options);
    return { fetchedAt, reservations: value };
  }

  /**
   * Reserves addresses and adds the reservation to the cached list. On failure the cache is dropped: the
   * request may have reached the API, so the next lookup must list again before anyone reserves.
   */
  async create(request: IpReservationRequest, signal?: AbortSignal): Promise<IpReservation> {
    this.#list.fence();
    let created: IpReservation;
    try {
      created = await this.#client.createIpReservation(this.#projectId, request, { signal });
    } catch (err) {
      this.invalidate();
      throw err;
    }
    this.#list.fence();
    this.#list.update((reservations) => [...reservations.filter((r) => r.id !== created.id), created]);
    return created;
  }

  /**
   * Releases a reservation and removes it from the cached list. A 404 counts as released (already gone);
   * any other failure drops the cache and rejects.
   */
  async delete(reservationId: string, signal?: AbortSignal): Promise<"deleted" | "gone"> {
    this.#list.fence();
    let result: "deleted" | "gone" = "deleted";
    try {
      await this.#client.deleteIpReservation(reservationId, { signal });
    } catch (err) {
      if (!isDefinitelyNotFound(err)) {
        this.invalidate();
        throw err;
      }
      result = "gone";
    }
    this.#list.fence();
    this.#list.update((reservations) => reservations.filter((r) => r.id !== reservationId));
    return result;
  }

  /** Forgets the cached list; the next lookup lists again. */
  invalidate(): void {
    this.#list.invalidate();
  }

  /** One list call, with its metric and log line. */
  async #listReservations(): Promise<IpReservation[]> {
    let reservations: IpReservation[];
    try {
      reservations = await this.#client.listIpReservations(this.#projectId);
    } catch (err) {
      this.#lists?.inc({ result: "error" });
      throw err;
    }
    this.#lists?.inc({ result: "success" });
    // Every lookup is by tag. The untagged rest — mostly the management blocks every device gets, two or
    // three each — would make the cached list 10,000 entries at 5,000 nodes.
    const tagged = reservations.filter((r) => r.tags.length > 0);
    this.#logger.debug("Listed project IP reservations", {
      reservations: reservations.length,
      tagged: tagged.length,
    });
    return tagged;
  }
}
