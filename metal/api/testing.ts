/**
 * Test doubles for code that talks to the Metal API: a recording `fetch` stub, an instant clock, and
 * {@linkcode FakeMetalClient}, an in-memory {@linkcode MetalClient} over a device list. For tests only.
 *
 * @module
 */
import type { Clock } from "../../util/clock.ts";
import type { MetalClient } from "./client.ts";
import { MetalNotFoundError } from "./errors.ts";
import type { Device, IpAssignment } from "./types.ts";

/** A `fetch` replacement that answers with `handler` and records every request. */
export interface StubFetch {
  (request: Request): Promise<Response>;
  /** Requests received, in order. */
  readonly requests: Request[];
}

/** Builds a {@linkcode StubFetch}; `handler` gets the request and its 0-based index. */
export function stubFetch(
  handler: (request: Request, index: number) => Response | Promise<Response>,
): StubFetch {
  const requests: Request[] = [];
  const fn = (request: Request) => {
    requests.push(request);
    return Promise.resolve(handler(request, requests.length - 1));
  };
  return Object.assign(fn, { requests });
}

/** A JSON response. */
export function json(body: unknown, init?: ResponseInit): Response {
  return new Response(JSON.stringify(body), {
    ...init,
    headers: { "Content-Type": "application/json", ...init?.headers },
  });
}

/** A clock whose sleeps return at once and move time forward; records every sleep. */
export class InstantClock implements Clock {
  #now: number;
  /** Durations of every sleep, in order. */
  readonly sleeps: number[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.sleeps.push(ms);
    this.#now += Math.max(0, ms);
    return Promise.resolve();
  }

  /** Moves time forward without sleeping. */
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** Builds a device with sensible defaults: active, plan `c3.small.x86`, metro `sv`, facility `sv15`. */
export function makeDevice(fields: Partial<Device> & { id: string }): Device {
  return {
    hostname: `device-${fields.id.slice(0, 8)}`,
    state: "active",
    plan: { slug: "c3.small.x86", id: undefined },
    metro: { code: "sv", id: undefined, name: undefined },
    facility: { code: "sv15", id: undefined, name: undefined, metro: undefined },
    ipAddresses: [],
    tags: [],
    ...fields,
  };
}

/** Builds an IP assignment as found in a device's `ip_addresses`. */
export function makeAddress(
  address: string,
  options: { public: boolean; family?: 4 | 6; management?: boolean },
): IpAssignment {
  return {
    id: undefined,
    address,
    addressFamily: options.family ?? (address.includes(":") ? 6 : 4),
    cidr: undefined,
    network: undefined,
    netmask: undefined,
    gateway: undefined,
    public: options.public,
    management: options.management ?? !options.public,
    parentBlock: undefined,
    assignedTo: undefined,
  };
}

type DeviceCalls = Pick<MetalClient, "listDevices" | "getDevice">;

/**
 * An in-memory Metal API for device lookups: `devices` is the project's device list, `calls` counts calls by
 * method, and `fail` (when set) makes every call reject with what it returns.
 */
export class FakeMetalClient implements DeviceCalls {
  devices: Device[] = [];
  /** Devices visible by id but not in the project (another project the key can read). */
  otherDevices: Device[] = [];
  readonly calls = { listDevices: 0, getDevice: 0 };
  fail: ((method: keyof DeviceCalls) => Error | undefined) | undefined;
  /** Resolved before a list answers; lets tests hold a list in flight. */
  gate: Promise<void> | undefined;

  constructor(devices: Device[] = []) {
    this.devices = devices;
  }

  async listDevices(_projectId: string): Promise<Device[]> {
    this.calls.listDevices++;
    // The answer reflects the devices when the request was made, even if held back by `gate`.
    const answer = structuredClone(this.devices);
    const err = this.fail?.("listDevices");
    await this.gate;
    if (err) throw err;
    return answer;
  }

  getDevice(deviceId: string): Promise<Device> {
    this.calls.getDevice++;
    const err = this.fail?.("getDevice");
    if (err) return Promise.reject(err);
    const device = [...this.devices, ...this.otherDevices].find((d) => d.id === deviceId);
    if (device) return Promise.resolve(structuredClone(device));
    return Promise.reject(
      new MetalNotFoundError(
        { operation: "get_device", method: "GET", path: `/devices/${deviceId}`, status: 404 },
        "404 Not Found",
        { serverMessages: ["Not found"] },
      ),
    );
  }
}
