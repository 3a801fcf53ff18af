/**
 * {@linkcode DeviceCache}: one shared, paginated list of the project's devices, refreshed on demand, so that
 * initializing or checking N nodes costs about one list call instead of N device GETs.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import { Counter, type Registry } from "prom-client";
import { type Clock, systemClock } from "../util/clock.ts";
import type { MetalClient } from "./api/client.ts";
import { isDefinitelyNotFound } from "./api/errors.ts";
import type { Device } from "./api/types.ts";
import { SingleFlightCache } from "./single_flight_cache.ts";
import { getOrCreateCounter } from "../provider/mod.ts";

/**
 * `include` of every device read: the parent blocks of the devices' addresses, so the BGP setup reads a
 * node's private network from the list instead of one device GET per node.
 */
export const DEVICE_INCLUDE: readonly string[] = ["ip_addresses.parent_block"];

/** Default time a device list is reused. */
export const DEFAULT_DEVICE_CACHE_TTL_MS = 30_000;

/** Default age after which a lookup that finds nothing refreshes the list once before giving up. */
export const DEFAULT_MISS_REFRESH_MS = 5_000;

/** Default time a failed list is remembered: lookups in that window fail at once with its error. */
export const DEFAULT_FAILURE_HOLD_MS = 5_000;

/** Options of {@linkcode DeviceCache}. */
export interface DeviceCacheOptions {
  /** The Metal API; only `listDevices` and `getDevice` are used. */
  client: Pick<MetalClient, "listDevices" | "getDevice">;
  projectId: string;
  /** How long a list is reused; default {@linkcode DEFAULT_DEVICE_CACHE_TTL_MS}. */
  ttlMs?: number;
  /**
   * A hostname or address lookup that finds nothing in a list at least this old refreshes it once (new
   * devices appear quickly); default {@linkcode DEFAULT_MISS_REFRESH_MS}. Bounds list calls caused by nodes
   * that are not devices of the project to one per this interval.
   */
  missRefreshMs?: number;
  /**
   * After a failed list (which the client already retried), lookups within this time fail at once with the
   * same error instead of each listing (and retrying) again; default {@linkcode DEFAULT_FAILURE_HOLD_MS},
   * at most the TTL; 0 turns it off.
   */
  failureHoldMs?: number;
  clock?: Clock;
  /** Default category `["ccm", "metal", "devices"]`. */
  logger?: Logger;
  /** Where to register cache metrics; none when absent. */
  metrics?: Registry;
}

/** One device list with its indexes. */
export class DeviceSnapshot {
  /** Clock time the list was read. */
  readonly fetchedAt: number;
  readonly devices: readonly Device[];
  #byId = new Map<string, Device>();
  #byHostname = new Map<string, Device[]>();
  #byAddress = new Map<string, Device[]>();

  constructor(devices: readonly Device[], fetchedAt: number) {
    this.devices = devices;
    this.fetchedAt = fetchedAt;
    for (const device of devices) {
      this.#byId.set(device.id, device);
      if (device.hostname) push(this.#byHostname, device.hostname, device);
      const addresses = new Set(device.ipAddresses.map((ip) => ip.address));
      for (const address of addresses) push(this.#byAddress, address, device);
    }
  }

  byId(id: string): Device | undefined {
    return this.#byId.get(id);
  }

  /** Devices whose hostname is exactly `hostname`. */
  byHostname(hostname: string): Device[] {
    return this.#byHostname.get(hostname) ?? [];
  }

  /** Devices holding any of `addresses`, each once, in list order. */
  byAddresses(addresses: Iterable<string>): Device[] {
    const found = new Set<Device>();
    for (const address of addresses) {
      for (const device of this.#byAddress.get(address) ?? []) found.add(device);
    }
    return this.devices.filter((d) => found.has(d));
  }
}

/** Options of lookups. */
export interface LookupOptions {
  /** Stops waiting (the shared list itself keeps going for other callers). */
  signal?: AbortSignal;
}

/**
 * The project's devices, listed at most once per TTL however many callers ask (concurrent callers share one
 * in-flight list). A failed list is remembered only briefly (`failureHoldMs`): lookups in that window get the
 * same error at once, so an API outage costs one retried list per window rather than one per node; after it
 * the next lookup lists again. Nothing stale is served after the TTL, so API trouble shows up as errors,
 * never as "device gone".
 *
 * @example
 * ```ts
 * const cache = new DeviceCache({ client, projectId });
 * const device = await cache.getById(deviceId); // MetalNotFoundError when the device is gone
 * ```
 */
export class DeviceCache {
  #client: Pick<MetalClient, "listDevices" | "getDevice">;
  #projectId: string;
  #ttlMs: number;
  #missRefreshMs: number;
  #clock: Clock;
  #logger: Logger;
  #list: SingleFlightCache<DeviceSnapshot>;
  /** Devices read one by one (not in the project list), with when they were read. */
  #singles = new Map<string, { device: Device; fetchedAt: number }>();
  #refreshes: Counter<"result"> | undefined;
  #lookups: Counter<"result"> | undefined;

  constructor(options: DeviceCacheOptions) {
    this.#client = options.client;
    this.#projectId = options.projectId;
    this.#ttlMs = options.ttlMs ?? DEFAULT_DEVICE_CACHE_TTL_MS;
    this.#missRefreshMs = options.missRefreshMs ?? DEFAULT_MISS_REFRESH_MS;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? getLogger(["ccm", "metal", "devices"]);
    this.#list = new SingleFlightCache({
      load: (startedAt) => this.#listDevices(startedAt),
      ttlMs: this.#ttlMs,
      failureHoldMs: options.failureHoldMs ?? DEFAULT_FAILURE_HOLD_MS,
      clock: this.#clock,
    });
    if (options.metrics) {
      this.#refreshes = getOrCreateCounter(options.metrics, {
        name: "cloudprovider_equinixmetal_device_cache_refreshes_total",
        help: "Device list refreshes of the device cache, by result (success or error)",
        labelNames: ["result"] as const,
      });
      this.#lookups = getOrCreateCounter(options.metrics, {
        name: "cloudprovider_equinixmetal_device_cache_lookups_total",
        help: "Device lookups by id served from the cached list (hit) or needing a device GET (miss)",
        labelNames: ["result"] as const,
      });
    }
  }

  /**
   * The device list, read from the API when the cached one is older than the TTL (or `maxAgeMs`). Concurrent
   * callers share one list call; within `failureHoldMs` of a failed list, rejects with its error at once.
   */
  async snapshot(options?: LookupOptions & { maxAgeMs?: number }): Promise<DeviceSnapshot> {
    return (await this.#list.get(options)).value;
  }

  /**
   * The device with id `deviceId`: from a fresh list, or else from a device GET (new devices, or devices of
   * another project the API key can read).
   *
   * @throws {MetalNotFoundError} When the list succeeded without the device and the API answered 404 for it:
   *   the device is gone.
   */
  async getById(deviceId: string, options?: LookupOptions): Promise<Device> {
    const snapshot = await this.snapshot(options);
    const listed = snapshot.byId(deviceId);
    if (listed) {
      this.#lookups?.inc({ result: "hit" });
      return listed;
    }
    const single = this.#singles.get(deviceId);
    if (single && this.#clock.now() - single.fetchedAt < this.#ttlMs) {
      this.#lookups?.inc({ result: "hit" });
      return single.device;
    }
    this.#lookups?.inc({ result: "miss" });
    try {
      const device = await this.#client.getDevice(deviceId, {
        include: [...DEVICE_INCLUDE],
        signal: options?.signal,
      });
      this.#singles.set(deviceId, { device, fetchedAt: this.#clock.now() });
      return device;
    } catch (err) {
      this.#singles.delete(deviceId);
      throw err;
    }
  }

  /** Devices whose hostname equals `hostname`; refreshes a list older than `missRefreshMs` before answering none. */
  findByHostname(hostname: string, options?: LookupOptions): Promise<Device[]> {
    return this.#find((s) => s.byHostname(hostname), options);
  }

  /** Devices holding any of `addresses`; refreshes a list older than `missRefreshMs` before answering none. */
  findByAddresses(addresses: readonly string[], options?: LookupOptions): Promise<Device[]> {
    if (addresses.length === 0) return Promise.resolve([]);
    return this.#find((s) => s.byAddresses(addresses), options);
  }

  /** Forgets the cached list; the next lookup lists again. */
  invalidate(): void {
    this.#list.invalidate();
    this.#singles.clear();
  }

  async #find(pick: (snapshot: DeviceSnapshot) => Device[], options?: LookupOptions): Promise<Device[]> {
    const snapshot = await this.snapshot(options);
    const found = pick(snapshot);
    if (found.length > 0 || this.#clock.now() - snapshot.fetchedAt < this.#missRefreshMs) return found;
    return pick(await this.snapshot({ ...options, maxAgeMs: this.#missRefreshMs }));
  }

  /** One list call (with its metrics and log line); a 404 becomes a configuration error. */
  async #listDevices(startedAt: number): Promise<DeviceSnapshot> {
    let devices: Device[];
    try {
      devices = await this.#client.listDevices(this.#projectId, { include: [...DEVICE_INCLUDE] });
    } catch (err) {
      this.#refreshes?.inc({ result: "error" });
      // A 404 on the list means a wrong project or base URL, not that any device is gone: hide the 404 so
      // nobody reads it as "not found".
      const error = isDefinitelyNotFound(err)
        ? new Error(
          `Cannot list devices of project '${this.#projectId}': the API answered 404; check the project id ` +
            "(METAL_PROJECT_ID) and the API base URL",
          { cause: err },
        )
        : err;
      this.#logger.debug("Failed to list project devices", { err: error });
      throw error;
    }
    // Listed devices are served from the list from now on.
    for (const device of devices) this.#singles.delete(device.id);
    this.#refreshes?.inc({ result: "success" });
    this.#logger.debug("Listed project devices", { devices: devices.length });
    return new DeviceSnapshot(devices, startedAt);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const values = map.get(key);
  if (values) values.push(value);
  else map.set(key, [value]);
}
