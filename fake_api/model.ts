/**
 * The simulator's stored records. These are plain JSON-serialisable objects (the state file holds them as-is);
 * API responses are rendered from them by `render/`.
 *
 * @module
 */
import type { AddressFamily } from "./ip_math.ts";

/** Device states, exactly the official `Device.state` enum. */
export const DEVICE_STATES = [
  "queued",
  "provisioning",
  "deprovisioning",
  "reinstalling",
  "active",
  "inactive",
  "failed",
  "powering_on",
  "powering_off",
  "deleted",
] as const;
/** One of {@linkcode DEVICE_STATES}. */
export type DeviceState = typeof DEVICE_STATES[number];

/** IP reservation types, exactly the official `IPReservation.type` enum. */
export const IP_RESERVATION_TYPES = ["global_ipv4", "public_ipv4", "private_ipv4", "public_ipv6"] as const;
/** One of {@linkcode IP_RESERVATION_TYPES}. */
export type IpReservationType = typeof IP_RESERVATION_TYPES[number];

/** A project. `bgp` is set once BGP has been requested. */
export interface ProjectRecord {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  bgp?: BgpConfigRecord;
}

/** A project's BGP configuration. */
export interface BgpConfigRecord {
  id: string;
  asn: number;
  deploymentType: "local" | "global";
  status: "requested" | "enabled" | "disabled";
  md5: string | null;
  useCase?: string;
  createdAt: string;
  requestedAt: string;
}

/** An API key; `projectIds` undefined means a user key that sees every project. */
export interface ApiKeyRecord {
  id: string;
  token: string;
  projectIds?: string[];
  createdAt: string;
}

/** A state change scheduled for a device (applied lazily when the clock passes `at`). */
export interface Transition {
  at: number;
  state: DeviceState;
}

/** A device. `ipIds` lists its IP assignments in display order. */
export interface DeviceRecord {
  id: string;
  projectId: string;
  hostname: string;
  description?: string;
  state: DeviceState;
  transitions: Transition[];
  tags: string[];
  plan: string;
  metro: string;
  facility: string;
  os: string;
  billingCycle: string;
  userdata: string;
  customdata: Record<string, unknown>;
  locked: boolean;
  alwaysPxe: boolean;
  ipxeScriptUrl?: string;
  /** Network port ids: bond0, eth0, eth1. */
  portIds: string[];
  /** MAC addresses of eth0 and eth1. */
  macs: string[];
  switchUuid: string;
  ipIds: string[];
  createdAt: string;
  updatedAt: string;
}

/**
 * Where a reservation came from: `elastic`/`global` ones are requested by users; the others are management
 * blocks the platform creates for devices (a public /31 per device, a private /25 and an IPv6 /56 per project
 * and metro).
 */
export type ReservationKind = "elastic" | "global" | "device-public" | "private-block" | "ipv6-block";

/** An IP reservation (block). `network` is the formatted network address. */
export interface ReservationRecord {
  id: string;
  projectId: string;
  kind: ReservationKind;
  type: IpReservationType;
  family: AddressFamily;
  network: string;
  cidr: number;
  metro?: string;
  facility?: string;
  tags: string[];
  details?: string;
  customdata: Record<string, unknown>;
  state: "created" | "pending";
  assignmentIds: string[];
  createdAt: string;
}

/** An IP assignment: a block (often a single address) of a reservation bound to a device. */
export interface AssignmentRecord {
  id: string;
  reservationId: string;
  deviceId: string;
  family: AddressFamily;
  network: string;
  address: string;
  cidr: number;
  createdAt: string;
}

/** A device BGP session. */
export interface BgpSessionRecord {
  id: string;
  deviceId: string;
  addressFamily: "ipv4" | "ipv6";
  defaultRoute: boolean;
  createdAt: string;
  updatedAt: string;
}

/** An LBaaS load balancer; `portIds` keeps port order (the API's `pools` array is parallel to it). */
export interface LoadBalancerRecord {
  id: string;
  projectId: string;
  name: string;
  locationId: string;
  providerId: string;
  ips: string[];
  portIds: string[];
  createdAt: string;
  updatedAt: string;
}

/** An LBaaS listener port. */
export interface LbPortRecord {
  id: string;
  loadBalancerId: string;
  name: string;
  number: number;
  poolIds: string[];
  createdAt: string;
  updatedAt: string;
}

/** An LBaaS pool. */
export interface LbPoolRecord {
  id: string;
  projectId: string;
  name: string;
  protocol: "tcp" | "udp";
  originIds: string[];
  createdAt: string;
  updatedAt: string;
}

/** An LBaaS pool origin (backend). */
export interface LbOriginRecord {
  id: string;
  poolId: string;
  name: string;
  target: string;
  portNumber: number;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

/** An SSH key: the user's when `projectId` is absent, else a project's. */
export interface SshKeyRecord {
  id: string;
  label: string;
  key: string;
  /** MD5 of the key blob as colon-separated hex, as Metal showed it. */
  fingerprint: string;
  tags: string[];
  projectId?: string;
  createdAt: string;
  updatedAt: string;
}

/** Something done through the API, as the real API's event feed recorded it. */
export interface EventRecord {
  id: string;
  /** e.g. `instance.created`, `ip_reservation.deleted`. */
  type: string;
  /** What happened, in words (`body` and `interpolated` of the official `Event`). */
  text: string;
  projectId: string;
  deviceId?: string;
  /** Hrefs (relative to the API base) of the objects involved. */
  relationships: string[];
  createdAt: string;
}

/** A hardware reservation: a server of `plan` in `facility` set aside for the project (seeded only). */
export interface HardwareReservationRecord {
  id: string;
  projectId: string;
  plan: string;
  facility: string;
  createdAt: string;
}

/** Everything the state file holds. */
export interface Snapshot {
  version: 1;
  /** HMAC secret for LBaaS access tokens. */
  tokenSecret: string;
  projects: ProjectRecord[];
  apiKeys: ApiKeyRecord[];
  devices: DeviceRecord[];
  reservations: ReservationRecord[];
  assignments: AssignmentRecord[];
  bgpSessions: BgpSessionRecord[];
  loadBalancers: LoadBalancerRecord[];
  lbPorts: LbPortRecord[];
  lbPools: LbPoolRecord[];
  lbOrigins: LbOriginRecord[];
  /** Absent in state files written before SSH keys, events and hardware reservations existed. */
  sshKeys?: SshKeyRecord[];
  events?: EventRecord[];
  hardwareReservations?: HardwareReservationRecord[];
  cursors: Record<string, string>;
}

/** Formats epoch milliseconds as RFC 3339 with whole seconds (`2026-01-02T03:04:05Z`), as Metal does. */
export function isoTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
