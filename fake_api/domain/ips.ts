/**
 * IP addressing: device management addresses, elastic/global reservations, assignments to devices.
 *
 * Every device gets a public IPv4 /31 (its own management reservation), a private IPv4 /31 from the
 * project's private /25 in that metro and a public IPv6 /127 from the project's /56 in that metro — the
 * blocks are created on first use, like Metal does.
 *
 * @module
 */
import { choices, FACILITIES, METROS } from "../catalog.ts";
import { unprocessable } from "../api_error.ts";
import { newUuid } from "../ids.ts";
import { blockContains, blockSize, formatIp, parseCidr, parseIp } from "../ip_math.ts";
import { PREFIX, type RangeAllocator } from "../ip_pool.ts";
import {
  type AssignmentRecord,
  type DeviceRecord,
  type IpReservationType,
  isoTime,
  type ReservationRecord,
} from "../model.ts";
import type { Store } from "../store.ts";

/** Elastic requests larger than this many addresses need approval (pending, or 422 with fail_on_approval). */
export const APPROVAL_THRESHOLD = 8;

/** Allocates the device's three management addresses; returns assignment ids (public v4, public v6, private v4). */
export function allocateDeviceAddresses(store: Store, device: DeviceRecord): string[] {
  const undo: (() => void)[] = [];
  try {
    const now = isoTime(store.clock.now());
    const ids: string[] = [];

    const v4 = allocateOrThrow(store.pools.devicePublic, 31, "public IPv4");
    undo.push(() => store.pools.devicePublic.release(v4, 31));
    const publicBlock = newReservation(device, "device-public", "public_ipv4", formatIp(4, v4), 31, now);
    store.addReservation(publicBlock);
    undo.push(() => store.removeReservation(publicBlock));
    const first = assign(store, publicBlock, device, formatIp(4, v4), 31, now);
    undo.push(() => removeAssignment(store, publicBlock, first));
    ids.push(first.id);

    for (const kind of ["ipv6-block", "private-block"] as const) {
      const { block, network } = subnetFor(store, device, kind, now, undo);
      const cidr = kind === "ipv6-block" ? PREFIX.ipv6Device : PREFIX.privateDevice;
      const a = assign(store, block, device, formatIp(block.family, network), cidr, now);
      undo.push(() => removeAssignment(store, block, a));
      ids.push(a.id);
    }
    return ids;
  } catch (err) {
    for (const step of undo.reverse()) step();
    throw err;
  }
}

function subnetFor(
  store: Store,
  device: DeviceRecord,
  kind: "private-block" | "ipv6-block",
  now: string,
  undo: (() => void)[],
): { block: ReservationRecord; network: bigint } {
  const cidr = kind === "ipv6-block" ? PREFIX.ipv6Device : PREFIX.privateDevice;
  // Newest block first: it is the one being filled, so older (full) blocks are rarely scanned.
  for (const block of [...store.managementBlocks(device.projectId, device.metro, kind)].reverse()) {
    const allocator = store.pools.subnet(block);
    if (allocator.full) continue;
    const network = allocator.allocate(cidr);
    if (network !== undefined) {
      undo.push(() => allocator.release(network, cidr));
      return { block, network };
    }
  }
  const pool = kind === "ipv6-block" ? store.pools.ipv6Blocks : store.pools.privateBlocks;
  const blockCidr = kind === "ipv6-block" ? PREFIX.ipv6Block : PREFIX.privateBlock;
  const family = kind === "ipv6-block" ? 6 : 4;
  const blockNet = allocateOrThrow(pool, blockCidr, kind === "ipv6-block" ? "IPv6 /56" : "private /25");
  undo.push(() => pool.release(blockNet, blockCidr));
  const type = kind === "ipv6-block" ? "public_ipv6" : "private_ipv4";
  const block = newReservation(device, kind, type, formatIp(family, blockNet), blockCidr, now);
  store.addReservation(block);
  undo.push(() => {
    store.removeReservation(block);
    store.pools.dropSubnet(block);
  });
  const network = store.pools.subnet(block).allocate(cidr)!;
  return { block, network };
}

function allocateOrThrow(pool: RangeAllocator, cidr: number, what: string): bigint {
  const network = pool.allocate(cidr);
  if (network === undefined) {
    throw unprocessable(
      `No free ${what} blocks left in the simulator's address pool; delete unused resources`,
    );
  }
  return network;
}

function newReservation(
  device: DeviceRecord,
  kind: ReservationRecord["kind"],
  type: IpReservationType,
  network: string,
  cidr: number,
  now: string,
): ReservationRecord {
  return {
    id: newUuid(),
    projectId: device.projectId,
    kind,
    type,
    family: type === "public_ipv6" ? 6 : 4,
    network,
    cidr,
    metro: device.metro,
    facility: device.facility,
    tags: [],
    customdata: {},
    state: "created",
    assignmentIds: [],
    createdAt: now,
  };
}

/** Records an assignment of `network/cidr` (inside `block`) to `device`. The device's `ipIds` is not touched. */
function assign(
  store: Store,
  block: ReservationRecord,
  device: DeviceRecord,
  network: string,
  cidr: number,
  now: string,
): AssignmentRecord {
  const full = block.family === 4 ? 32 : 128;
  const address = cidr === full ? network : formatIp(block.family, parseIp(network)!.value + 1n);
  const a: AssignmentRecord = {
    id: newUuid(),
    reservationId: block.id,
    deviceId: device.id,
    family: block.family,
    network,
    address,
    cidr,
    createdAt: now,
  };
  store.addAssignment(a);
  block.assignmentIds.push(a.id);
  return a;
}

/** Releases every address of a device (management blocks back to the pools, elastic IPs unassigned). */
export function releaseDeviceAddresses(store: Store, device: DeviceRecord): void {
  for (const id of device.ipIds) {
    const a = store.assignments.get(id);
    if (!a) continue;
    const block = store.reservations.get(a.reservationId)!;
    removeAssignment(store, block, a);
    if (block.kind === "device-public") {
      store.removeReservation(block);
      store.pools.devicePublic.release(parseIp(block.network)!.value, block.cidr);
    } else if (block.kind === "private-block" || block.kind === "ipv6-block") {
      store.pools.subnet(block).release(parseIp(a.network)!.value, a.cidr);
    }
  }
  device.ipIds = [];
}

function removeAssignment(store: Store, block: ReservationRecord, a: AssignmentRecord): void {
  store.removeAssignment(a);
  block.assignmentIds = block.assignmentIds.filter((id) => id !== a.id);
}

/** A reservation request (POST /projects/{id}/ips), already type-checked. */
export interface ReservationRequest {
  type: string;
  quantity: number;
  metro?: string;
  facility?: string;
  tags?: string[];
  details?: string;
  customdata?: Record<string, unknown>;
  failOnApprovalRequired?: boolean;
}

/** Reserves a block of elastic (public_ipv4) or global (global_ipv4) addresses. */
export function reserveIps(store: Store, projectId: string, req: ReservationRequest): ReservationRecord {
  if (req.type === "vrf") {
    throw unprocessable('VRF IP reservations are not supported by the simulator; use type "public_ipv4"');
  }
  if (req.type !== "public_ipv4" && req.type !== "global_ipv4") {
    throw unprocessable(
      `Cannot request IP reservations of type "${req.type}"; use "public_ipv4" (elastic) or "global_ipv4"`,
    );
  }
  const q = req.quantity;
  if (req.type === "global_ipv4" && q !== 1) {
    throw unprocessable(
      `Invalid quantity ${q} for global_ipv4: a global IP reservation holds exactly 1 address`,
    );
  }
  if (q < 1 || q > 256 || (q & (q - 1)) !== 0) {
    throw unprocessable(`Invalid quantity ${q}: it must be a power of two from 1 to 256 (1, 2, 4, … 256)`);
  }
  let metro: string | undefined;
  let facility: string | undefined;
  if (req.type === "public_ipv4") {
    if (req.facility !== undefined) {
      const f = FACILITIES.get(req.facility);
      if (!f) {
        throw unprocessable(
          `Unknown facility "${req.facility}"; valid facilities are ${choices(FACILITIES)}`,
        );
      }
      [facility, metro] = [f.code, f.metro];
    } else if (req.metro !== undefined) {
      if (!METROS.has(req.metro)) {
        throw unprocessable(`Unknown metro "${req.metro}"; valid metros are ${choices(METROS)}`);
      }
      metro = req.metro;
    } else {
      throw unprocessable(
        'A public_ipv4 reservation needs a location: set metro (for example "sv") or facility',
      );
    }
  }
  const needsApproval = q > APPROVAL_THRESHOLD;
  if (needsApproval && req.failOnApprovalRequired) {
    throw unprocessable(
      `Request for ${q} addresses needs approval (the simulator grants at most ${APPROVAL_THRESHOLD} at once) ` +
        "and fail_on_approval_required is true; ask for fewer addresses",
    );
  }
  const cidr = 32 - Math.log2(q);
  const pool = req.type === "global_ipv4" ? store.pools.global : store.pools.elastic;
  const network = allocateOrThrow(pool, cidr, req.type);
  const r: ReservationRecord = {
    id: newUuid(),
    projectId,
    kind: req.type === "global_ipv4" ? "global" : "elastic",
    type: req.type,
    family: 4,
    network: formatIp(4, network),
    cidr,
    tags: req.tags ?? [],
    customdata: req.customdata ?? {},
    state: needsApproval ? "pending" : "created",
    assignmentIds: [],
    createdAt: isoTime(store.clock.now()),
  };
  if (metro) r.metro = metro;
  if (facility) r.facility = facility;
  if (req.details !== undefined) r.details = req.details;
  store.addReservation(r);
  return r;
}

/** Deletes a user reservation; management blocks and reservations with assignments are refused. */
export function deleteReservation(store: Store, r: ReservationRecord): void {
  if (r.kind !== "elastic" && r.kind !== "global") {
    throw unprocessable(
      `Cannot delete IP reservation "${r.id}": it is a management block the platform created for devices`,
    );
  }
  if (r.assignmentIds.length > 0) {
    throw unprocessable(
      `Cannot delete IP reservation "${r.id}": it is assigned to ${r.assignmentIds.length} device(s); ` +
        `unassign it first (DELETE /ips/${r.assignmentIds[0]})`,
    );
  }
  store.removeReservation(r);
  const pool = r.kind === "global" ? store.pools.global : store.pools.elastic;
  pool.release(parseIp(r.network)!.value, r.cidr);
}

/** Assigns an address (or sub-block) of one of the project's elastic/global reservations to a device. */
export function assignIp(store: Store, device: DeviceRecord, addressText: string): AssignmentRecord {
  const parsed = addressText.includes("/") ? parseCidr(addressText) : (() => {
    const ip = parseIp(addressText);
    return ip && { family: ip.family, network: ip.value, cidr: ip.family === 4 ? 32 : 128 };
  })();
  if (!parsed) {
    throw unprocessable(`Invalid address "${addressText}": expected an IP address such as "145.40.64.1"`);
  }
  const block = store.reservationsOf(device.projectId).find((r) =>
    (r.kind === "elastic" || r.kind === "global") && r.cidr <= parsed.cidr &&
    blockContains(
      { family: r.family, network: parseIp(r.network)!.value, cidr: r.cidr },
      parsed.family,
      parsed.network,
    )
  );
  if (!block) {
    throw unprocessable(
      `Address "${addressText}" is not in any elastic IP reservation of project "${device.projectId}"; ` +
        "reserve it first (POST /projects/{id}/ips)",
    );
  }
  if (block.state !== "created") {
    throw unprocessable(
      `Cannot assign "${addressText}": reservation "${block.id}" is still pending approval`,
    );
  }
  if (block.metro && block.metro !== device.metro) {
    throw unprocessable(
      `Cannot assign "${addressText}" to device "${device.id}": the reservation is in metro "${block.metro}" ` +
        `but the device is in "${device.metro}"`,
    );
  }
  const start = parsed.network;
  const end = start + blockSize(parsed.family, parsed.cidr);
  for (const id of block.assignmentIds) {
    const other = store.assignments.get(id)!;
    const os = parseIp(other.network)!.value;
    const oe = os + blockSize(other.family, other.cidr);
    if (start < oe && os < end) {
      throw unprocessable(`Address "${addressText}" is already assigned to device "${other.deviceId}"`);
    }
  }
  const a = assign(
    store,
    block,
    device,
    formatIp(parsed.family, start),
    parsed.cidr,
    isoTime(store.clock.now()),
  );
  device.ipIds.push(a.id);
  return a;
}

/** Removes an elastic/global assignment from its device; management addresses cannot be unassigned. */
export function unassignIp(store: Store, a: AssignmentRecord): void {
  const block = store.reservations.get(a.reservationId)!;
  if (block.kind !== "elastic" && block.kind !== "global") {
    throw unprocessable(
      `Cannot unassign "${a.address}": it is a management address of device "${a.deviceId}"; delete the device instead`,
    );
  }
  removeAssignment(store, block, a);
  const device = store.devices.get(a.deviceId);
  if (device) device.ipIds = device.ipIds.filter((id) => id !== a.id);
}

/** Updates tags/details/customdata of a reservation (assignments accept only customdata, which they ignore). */
export function updateIp(
  target: { reservation?: ReservationRecord; assignment?: AssignmentRecord },
  update: { tags?: string[]; details?: string; customdata?: Record<string, unknown> },
): void {
  if (target.assignment) {
    if (update.tags !== undefined || update.details !== undefined) {
      throw unprocessable("Only IP reservations have tags and details; this id is an assignment");
    }
    return;
  }
  const r = target.reservation!;
  if (update.tags !== undefined) r.tags = update.tags;
  if (update.details !== undefined) r.details = update.details;
  if (update.customdata !== undefined) r.customdata = update.customdata;
}

/** At most this many blocks are listed by {@linkcode availableAddresses} (a /56 holds 2^72 /128s). */
export const MAX_AVAILABLE = 1024;

/**
 * `GET /ips/{id}/available?cidr=N`: the `/N` blocks of an elastic or global reservation that no assignment
 * overlaps, as `a.b.c.d/N`, in address order (at most {@linkcode MAX_AVAILABLE}).
 */
export function availableAddresses(store: Store, r: ReservationRecord, cidrText: string | null): string[] {
  const bits = r.family === 4 ? 32 : 128;
  if (cidrText === null || !/^\d{1,3}$/.test(cidrText)) {
    throw unprocessable(`Query parameter "cidr" is required: a prefix length from ${r.cidr} to ${bits}`);
  }
  const cidr = Number(cidrText);
  if (cidr < r.cidr || cidr > bits) {
    throw unprocessable(
      `Invalid cidr ${cidr}: reservation "${r.id}" is a /${r.cidr}; use ${r.cidr} to ${bits}`,
    );
  }
  const taken = r.assignmentIds.map((id) => {
    const a = store.assignments.get(id)!;
    const start = parseIp(a.network)!.value;
    return { start, end: start + blockSize(a.family, a.cidr) };
  });
  const size = blockSize(r.family, cidr);
  const first = parseIp(r.network)!.value;
  const last = first + blockSize(r.family, r.cidr);
  const out: string[] = [];
  for (let at = first; at < last && out.length < MAX_AVAILABLE; at += size) {
    if (taken.some((t) => at < t.end && t.start < at + size)) continue;
    out.push(`${formatIp(r.family, at)}/${cidr}`);
  }
  return out;
}
