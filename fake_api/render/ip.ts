/**
 * Renders IP reservations and assignments. Reservations carry only the keys the official (strict, no
 * additional properties) `IPReservation` schema allows.
 *
 * @module
 */
import { type AddressFamily, formatIp, netmask, parseIp } from "../ip_math.ts";
import type { AssignmentRecord, ReservationRecord } from "../model.ts";
import type { Store } from "../store.ts";
import { facilityAttr, metroAttr, projectAttr } from "./catalog.ts";
import type { Expand } from "./expand.ts";
import { href, hrefTo } from "../paths.ts";

/** The first usable address of a block: the network itself for a single address, else network + 1. */
export function firstAddress(family: AddressFamily, network: string, cidr: number): string {
  const full = family === 4 ? 32 : 128;
  return cidr === full ? network : formatIp(family, parseIp(network)!.value + 1n);
}

/** An IP assignment as it appears in a device's `ip_addresses` and in `GET /ips/{id}`. */
export function renderAssignment(store: Store, a: AssignmentRecord, ex: Expand): Record<string, unknown> {
  const block = store.reservations.get(a.reservationId)!;
  const device = store.devices.get(a.deviceId);
  const out: Record<string, unknown> = {
    id: a.id,
    type: "IPAssignment",
    "address_family": a.family,
    netmask: netmask(a.family, a.cidr),
    "created_at": a.createdAt,
    public: block.type !== "private_ipv4",
    cidr: a.cidr,
    management: block.kind !== "elastic" && block.kind !== "global",
    manageable: true,
    enabled: true,
    "global_ip": block.type === "global_ipv4",
    address: a.address,
    network: a.network,
    gateway: a.network,
    href: href(`ips/${a.id}`),
    "assigned_to": hrefTo(`devices/${a.deviceId}`),
    "parent_block": ex.full("parent_block", false)
      ? {
        network: block.network,
        netmask: netmask(block.family, block.cidr),
        cidr: block.cidr,
        href: href(`ips/${block.id}`),
      }
      : hrefTo(`ips/${block.id}`),
  };
  const metro = device?.metro ?? block.metro;
  if (metro) out.metro = metroAttr(metro, ex.full("metro", true));
  return out;
}

/** An IP reservation (`IPReservation`); assignments are hrefs unless `assignments` is included. */
export function renderReservation(store: Store, r: ReservationRecord, ex: Expand): Record<string, unknown> {
  const userRequested = r.kind === "elastic" || r.kind === "global";
  const out: Record<string, unknown> = {
    id: r.id,
    href: href(`ips/${r.id}`),
    type: r.type,
    "address_family": r.family,
    address: firstAddress(r.family, r.network, r.cidr),
    network: r.network,
    gateway: r.network,
    netmask: netmask(r.family, r.cidr),
    cidr: r.cidr,
    public: r.type !== "private_ipv4",
    management: !userRequested,
    manageable: true,
    "global_ip": r.type === "global_ipv4",
    enabled: true,
    addon: userRequested,
    bill: userRequested,
    state: r.state,
    tags: r.tags,
    customdata: r.customdata,
    "created_at": r.createdAt,
    project: projectAttr(store, r.projectId, ex),
    "project_lite": hrefTo(`projects/${r.projectId}`),
    assignments: ex.full("assignments", false)
      ? r.assignmentIds.map((id) =>
        renderAssignment(store, store.assignments.get(id)!, ex.child("assignments"))
      )
      : r.assignmentIds.map((id) => hrefTo(`ips/${id}`)),
  };
  if (r.details !== undefined) out.details = r.details;
  if (r.facility) out.facility = facilityAttr(r.facility, ex);
  if (r.metro) out.metro = metroAttr(r.metro, ex.full("metro", true));
  return out;
}
