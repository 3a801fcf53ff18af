/**
 * Device lifecycle: create (with addresses), update, delete, power actions, and time-driven state changes.
 *
 * State changes that take time (provisioning, powering off/on, reinstalling) are stored as timestamped
 * transitions and applied lazily when the device is read, so they survive restarts and tests can drive them
 * with a fake clock.
 *
 * @module
 */
import {
  choices,
  DEFAULT_METRO,
  DEFAULT_OS,
  DEFAULT_PLAN,
  FACILITIES,
  facilityInMetro,
  METROS,
  OPERATING_SYSTEMS,
  PLANS,
} from "../catalog.ts";
import { ApiError, unprocessable } from "../api_error.ts";
import { newMac, newUuid } from "../ids.ts";
import { type DeviceRecord, type DeviceState, isoTime } from "../model.ts";
import type { Store } from "../store.ts";
import { allocateDeviceAddresses, releaseDeviceAddresses } from "./ips.ts";

/** How long simulated operations take. */
export interface Timings {
  /** queued → provisioning → active (and reinstalling → active); 0 = active at once. */
  provisionDelayMs: number;
  /** powering_off → inactive and powering_on → active; 0 = immediate. */
  powerDelayMs: number;
}

/** What a device is created from (API body, seed entry or admin call, already type-checked). */
export interface DeviceSpec {
  id?: string;
  hostname?: string;
  description?: string;
  plan?: string;
  metro?: string;
  facility?: string;
  operatingSystem?: string;
  tags?: string[];
  billingCycle?: string;
  userdata?: string;
  customdata?: Record<string, unknown>;
  locked?: boolean;
  alwaysPxe?: boolean;
  ipxeScriptUrl?: string;
  /** Start in this state with no pending transitions (seed/admin); default: provision normally. */
  state?: DeviceState;
}

/** Applies every due transition of the device (cheap when none is pending). */
export function applyTransitions(d: DeviceRecord, now: number): DeviceRecord {
  while (d.transitions.length > 0 && d.transitions[0]!.at <= now) {
    const t = d.transitions.shift()!;
    d.state = t.state;
    d.updatedAt = isoTime(t.at);
  }
  return d;
}

/** Resolves plan, location and operating system, throwing 422 for unknown values. */
function resolvePlacement(spec: DeviceSpec): { plan: string; metro: string; facility: string; os: string } {
  const plan = spec.plan ?? DEFAULT_PLAN;
  if (!PLANS.has(plan)) throw unprocessable(`Unknown plan "${plan}"; valid plans are ${choices(PLANS)}`);
  const os = spec.operatingSystem ?? DEFAULT_OS;
  if (!OPERATING_SYSTEMS.has(os)) {
    throw unprocessable(`Unknown operating_system "${os}"; valid values are ${choices(OPERATING_SYSTEMS)}`);
  }
  if (spec.facility !== undefined) {
    const f = FACILITIES.get(spec.facility);
    if (!f) {
      throw unprocessable(`Unknown facility "${spec.facility}"; valid facilities are ${choices(FACILITIES)}`);
    }
    if (spec.metro !== undefined && spec.metro !== f.metro) {
      throw unprocessable(
        `Facility "${f.code}" is not in metro "${spec.metro}"; send only one of metro or facility`,
      );
    }
    return { plan, os, facility: f.code, metro: f.metro };
  }
  const metro = spec.metro ?? DEFAULT_METRO;
  if (!METROS.has(metro)) {
    throw unprocessable(`Unknown metro "${metro}"; valid metros are ${choices(METROS)}`);
  }
  return { plan, os, metro, facility: facilityInMetro(metro).code };
}

/** Creates a device with its management addresses. Nothing changes when it throws. */
export function createDevice(
  store: Store,
  projectId: string,
  spec: DeviceSpec,
  timings: Timings,
): DeviceRecord {
  const placement = resolvePlacement(spec);
  if (spec.id !== undefined && store.devices.has(spec.id)) {
    throw new ApiError(409, `Device "${spec.id}" already exists`);
  }
  const now = store.clock.now();
  const at = isoTime(now);
  const id = spec.id ?? newUuid();
  const device: DeviceRecord = {
    id,
    projectId,
    hostname: spec.hostname ?? `${placement.plan.replaceAll(".", "-")}-${id.slice(0, 8)}`,
    state: "active",
    transitions: [],
    tags: spec.tags ?? [],
    plan: placement.plan,
    metro: placement.metro,
    facility: placement.facility,
    os: placement.os,
    billingCycle: spec.billingCycle ?? "hourly",
    userdata: spec.userdata ?? "",
    customdata: spec.customdata ?? {},
    locked: spec.locked ?? false,
    alwaysPxe: spec.alwaysPxe ?? false,
    portIds: [newUuid(), newUuid(), newUuid()],
    macs: [newMac(), newMac()],
    switchUuid: newUuid(),
    ipIds: [],
    createdAt: at,
    updatedAt: at,
  };
  if (spec.description !== undefined) device.description = spec.description;
  if (spec.ipxeScriptUrl !== undefined) device.ipxeScriptUrl = spec.ipxeScriptUrl;
  if (spec.state !== undefined) {
    device.state = spec.state;
  } else if (timings.provisionDelayMs > 0) {
    device.state = "queued";
    device.transitions = [
      { at: now + Math.floor(timings.provisionDelayMs / 4), state: "provisioning" },
      { at: now + timings.provisionDelayMs, state: "active" },
    ];
  }
  device.ipIds = allocateDeviceAddresses(store, device);
  store.addDevice(device);
  return device;
}

/** Fields a device update (PUT /devices/{id}) may change. */
export interface DeviceUpdate {
  hostname?: string;
  description?: string;
  tags?: string[];
  billingCycle?: string;
  userdata?: string;
  customdata?: Record<string, unknown>;
  locked?: boolean;
  alwaysPxe?: boolean;
  ipxeScriptUrl?: string;
}

/** Applies an update. */
export function updateDevice(store: Store, d: DeviceRecord, update: DeviceUpdate): void {
  if (update.hostname !== undefined) d.hostname = update.hostname;
  if (update.description !== undefined) d.description = update.description;
  if (update.tags !== undefined) d.tags = update.tags;
  if (update.billingCycle !== undefined) d.billingCycle = update.billingCycle;
  if (update.userdata !== undefined) d.userdata = update.userdata;
  if (update.customdata !== undefined) d.customdata = update.customdata;
  if (update.locked !== undefined) d.locked = update.locked;
  if (update.alwaysPxe !== undefined) d.alwaysPxe = update.alwaysPxe;
  if (update.ipxeScriptUrl !== undefined) d.ipxeScriptUrl = update.ipxeScriptUrl;
  d.updatedAt = isoTime(store.clock.now());
}

/** Deletes a device, releasing its management addresses and unassigning elastic IPs. */
export function deleteDevice(store: Store, d: DeviceRecord, options: { force?: boolean } = {}): void {
  if (d.locked && !options.force) {
    throw unprocessable(`Cannot delete device "${d.id}": it is locked; unlock it first (PUT locked=false)`);
  }
  for (const s of store.sessionsOf(d.id)) store.removeBgpSession(s);
  releaseDeviceAddresses(store, d);
  store.removeDevice(d);
}

/** Device action types, exactly the official `DeviceActionInput.type` enum. */
export const DEVICE_ACTIONS = ["power_on", "power_off", "reboot", "rescue", "reinstall"] as const;
/** One of {@linkcode DEVICE_ACTIONS}. */
export type DeviceAction = typeof DEVICE_ACTIONS[number];

/** Starts a device action (the API answers 202 and the state changes over time). */
export function performAction(
  store: Store,
  d: DeviceRecord,
  action: { type: DeviceAction; operatingSystem?: string },
  timings: Timings,
): void {
  const now = store.clock.now();
  const refuse = (what: string, needed: string) =>
    unprocessable(`Cannot ${what} device "${d.id}": its state is "${d.state}", it must be ${needed}`);
  const schedule = (first: DeviceState, final: DeviceState, delayMs: number) => {
    d.transitions = delayMs > 0 ? [{ at: now + delayMs, state: final }] : [];
    d.state = delayMs > 0 ? first : final;
    d.updatedAt = isoTime(now);
  };
  switch (action.type) {
    case "power_off":
      if (d.state !== "active") throw refuse("power off", '"active"');
      return schedule("powering_off", "inactive", timings.powerDelayMs);
    case "power_on":
      if (d.state !== "inactive") throw refuse("power on", '"inactive"');
      return schedule("powering_on", "active", timings.powerDelayMs);
    case "reboot":
    case "rescue":
      if (d.state !== "active") throw refuse(action.type === "reboot" ? "reboot" : "rescue", '"active"');
      d.updatedAt = isoTime(now);
      return;
    case "reinstall": {
      if (!["active", "inactive", "failed"].includes(d.state)) {
        throw refuse("reinstall", '"active", "inactive" or "failed"');
      }
      const os = action.operatingSystem;
      if (os !== undefined && !OPERATING_SYSTEMS.has(os)) {
        throw unprocessable(
          `Unknown operating_system "${os}"; valid values are ${choices(OPERATING_SYSTEMS)}`,
        );
      }
      if (os !== undefined) d.os = os;
      return schedule("reinstalling", "active", timings.provisionDelayMs);
    }
  }
}

/** Sets a device's state directly (admin API), cancelling pending transitions. */
export function forceState(store: Store, d: DeviceRecord, state: DeviceState): void {
  d.state = state;
  d.transitions = [];
  d.updatedAt = isoTime(store.clock.now());
}
