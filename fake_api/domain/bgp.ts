/**
 * BGP: project configuration, device sessions and the neighbour data a device's BGP speaker needs.
 *
 * @module
 */
import { unprocessable } from "../api_error.ts";
import { newUuid } from "../ids.ts";
import { type BgpSessionRecord, type DeviceRecord, isoTime, type ProjectRecord } from "../model.ts";
import type { Store } from "../store.ts";

/** The ASN of Equinix Metal's routers, as seen from customer devices. */
export const PEER_AS = 65530;
/** Router addresses for IPv4 multihop sessions. */
export const PEER_IPS_V4 = ["169.254.255.1", "169.254.255.2"];
/** Router addresses for IPv6 multihop sessions. */
export const PEER_IPS_V6 = ["fc00::e", "fc00::f"];

/** A BGP configuration request (POST /projects/{id}/bgp-configs), already type-checked. */
export interface BgpConfigRequest {
  asn: number;
  deploymentType: "local" | "global";
  md5?: string | null;
  useCase?: string;
}

/** Enables BGP on a project: local configs are enabled at once, global ones wait in "requested". */
export function requestBgpConfig(store: Store, project: ProjectRecord, req: BgpConfigRequest): void {
  if (project.bgp && project.bgp.status !== "disabled") {
    throw unprocessable(
      `BGP is already ${project.bgp.status} for project "${project.id}"; read it with GET /projects/{id}/bgp-config`,
    );
  }
  const now = isoTime(store.clock.now());
  project.bgp = {
    id: newUuid(),
    asn: req.asn,
    deploymentType: req.deploymentType,
    status: req.deploymentType === "local" ? "enabled" : "requested",
    md5: req.md5 || null,
    createdAt: now,
    requestedAt: now,
  };
  if (req.useCase !== undefined) project.bgp.useCase = req.useCase;
  project.updatedAt = now;
}

/** Creates a BGP session on a device; a second session of the same family is refused with 422. */
export function createBgpSession(
  store: Store,
  device: DeviceRecord,
  req: { addressFamily: "ipv4" | "ipv6"; defaultRoute: boolean },
): BgpSessionRecord {
  const project = store.projects.get(device.projectId)!;
  if (!project.bgp || project.bgp.status !== "enabled") {
    throw unprocessable(
      `BGP is not enabled for project "${project.id}"; enable it first (POST /projects/{id}/bgp-configs)`,
    );
  }
  // Real clients match the words "already has session" (the API answers 422 where 409 would fit).
  if (store.sessionsOf(device.id).some((s) => s.addressFamily === req.addressFamily)) {
    throw unprocessable(`Device already has session for address family ${req.addressFamily}`);
  }
  const now = isoTime(store.clock.now());
  const session: BgpSessionRecord = {
    id: newUuid(),
    deviceId: device.id,
    addressFamily: req.addressFamily,
    defaultRoute: req.defaultRoute,
    createdAt: now,
    updatedAt: now,
  };
  store.addBgpSession(session);
  return session;
}

/**
 * The device's BGP neighbours: one entry per address family (4 and 6) once the project has BGP enabled and
 * the device has a session; empty otherwise.
 */
export function bgpNeighbors(store: Store, device: DeviceRecord): Record<string, unknown>[] {
  const project = store.projects.get(device.projectId)!;
  const bgp = project.bgp;
  const sessions = store.sessionsOf(device.id);
  if (!bgp || bgp.status !== "enabled" || sessions.length === 0) return [];
  const addresses = device.ipIds.map((id) => store.assignments.get(id)!);
  const blockOf = (id: string) => store.reservations.get(id)!;
  const privateV4 = addresses.find((a) => blockOf(a.reservationId).type === "private_ipv4");
  const publicV6 = addresses.find((a) => a.family === 6);
  const routesIn = store.reservationsOf(project.id)
    .filter((r) => (r.kind === "elastic" || r.kind === "global") && r.state === "created")
    .filter((r) => r.kind === "global" || r.metro === device.metro)
    .map((r) => ({ route: `${r.network}/${r.cidr}`, exact: r.cidr === 32 }));
  const defaultRoute = (family: "ipv4" | "ipv6") =>
    sessions.some((s) => s.addressFamily === family && s.defaultRoute);
  const entry = (family: 4 | 6, customerIp: string, peerIps: string[]) => ({
    address_family: family,
    customer_as: bgp.asn,
    customer_ip: customerIp,
    md5_enabled: bgp.md5 !== null,
    md5_password: bgp.md5 ?? "",
    multihop: true,
    peer_as: PEER_AS,
    peer_ips: peerIps,
    routes_in: family === 4 ? routesIn : [],
    routes_out: defaultRoute(family === 4 ? "ipv4" : "ipv6")
      ? [{ route: family === 4 ? "0.0.0.0/0" : "::/0", exact: true }]
      : [],
  });
  return [
    entry(4, privateV4?.address ?? "", PEER_IPS_V4),
    entry(6, publicV6?.address ?? "", PEER_IPS_V6),
  ];
}
