/**
 * Metal API resources as the CCM sees them: zod schemas of the wire format (snake_case JSON) that read only the
 * fields we use, and the camelCase types they turn into.
 *
 * Schemas are lenient: every field is optional unless we cannot work without it, `null` reads as absent,
 * unknown keys are dropped (which also keeps secrets such as `root_password` out of memory and logs), and
 * enums are plain strings so a new server value is not a crash. A wrong type is still an error.
 *
 * @module
 */
import { z } from "zod";

/** `schema` that also accepts `null`, read as `undefined`. */
function opt<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((v): z.output<T> | undefined => v ?? undefined);
}

/** Array that reads `null`/absent as empty. */
function list<T extends z.ZodType>(schema: T) {
  return z.array(schema).nullish().transform((v): z.output<T>[] => v ?? []);
}

const metroSchema = z.object({ id: opt(z.string()), code: opt(z.string()), name: opt(z.string()) });

/** A metro (for example `sv`, `da`, `ny`). */
export type Metro = z.output<typeof metroSchema>;

const facilitySchema = z.object({
  id: opt(z.string()),
  code: opt(z.string()),
  name: opt(z.string()),
  metro: opt(metroSchema),
});

/** A facility (data centre, for example `sv15`); deprecated by Equinix in favour of metros. */
export type Facility = z.output<typeof facilitySchema>;

const parentBlockSchema = z.object({
  network: opt(z.string()),
  netmask: opt(z.string()),
  cidr: opt(z.number()),
});

/** The reservation an assigned address was carved from (`ip_addresses.parent_block` include). */
export type ParentBlock = z.output<typeof parentBlockSchema>;

const hrefSchema = z.object({ href: opt(z.string()) });

/** Wire fields describing a block of addresses, shared by assignments and reservations. */
const blockWire = {
  "address_family": opt(z.number()),
  cidr: opt(z.number()),
  network: opt(z.string()),
  netmask: opt(z.string()),
  gateway: opt(z.string()),
  public: opt(z.boolean()),
  management: opt(z.boolean()),
};

/** The camelCase form of {@linkcode blockWire}; `public` and `management` default to `false`. */
function blockFields(w: z.output<z.ZodObject<typeof blockWire>>) {
  return {
    addressFamily: w.address_family,
    cidr: w.cidr,
    network: w.network,
    netmask: w.netmask,
    gateway: w.gateway,
    public: w.public ?? false,
    management: w.management ?? false,
  };
}

/** An IP assignment: an address bound to a device (device `ip_addresses[]`, reservation `assignments[]`). */
export const ipAssignmentSchema = z.object({
  id: opt(z.string()),
  address: z.string(),
  ...blockWire,
  parent_block: opt(parentBlockSchema),
  assigned_to: opt(hrefSchema),
}).transform((w) => ({
  id: w.id,
  address: w.address,
  ...blockFields(w),
  parentBlock: w.parent_block,
  assignedTo: w.assigned_to?.href,
}));

/** An address assigned to a device. `public` and `management` default to `false`. */
export type IpAssignment = z.output<typeof ipAssignmentSchema>;

/** A device (bare-metal server). */
export const deviceSchema = z.object({
  id: z.string().min(1),
  hostname: opt(z.string()),
  state: opt(z.string()),
  plan: opt(z.object({ id: opt(z.string()), slug: opt(z.string()) })),
  metro: opt(metroSchema),
  facility: opt(facilitySchema),
  ip_addresses: list(ipAssignmentSchema),
  tags: list(z.string()),
}).transform((w) => ({
  id: w.id,
  hostname: w.hostname ?? "",
  /** Device state, for example `active`, `inactive`, `provisioning`; empty when the server did not say. */
  state: w.state ?? "",
  plan: w.plan,
  metro: w.metro,
  facility: w.facility,
  ipAddresses: w.ip_addresses,
  tags: w.tags,
}));

/** A device, reduced to what the CCM reads. */
export type Device = z.output<typeof deviceSchema>;

/** Pagination metadata of list answers (`meta`). */
export const metaSchema = z.object({
  current_page: opt(z.number()),
  last_page: opt(z.number()),
  total: opt(z.number()),
  next: opt(hrefSchema),
});

/** Reservation types the IP list can be filtered on (`types`). */
export type IpReservationType = "global_ipv4" | "public_ipv4" | "private_ipv4" | "public_ipv6" | "vrf";

/** An IP reservation (a block of addresses owned by the project, for example an elastic IP). */
export const ipReservationSchema = z.object({
  id: z.string().min(1),
  type: opt(z.string()),
  address: opt(z.string()),
  ...blockWire,
  global_ip: opt(z.boolean()),
  state: opt(z.string()),
  details: opt(z.string()),
  tags: list(z.string()),
  customdata: opt(z.record(z.string(), z.unknown())),
  // Without `include=assignments` the API renders assignments as `{href}` only: those are dropped.
  assignments: list(z.union([ipAssignmentSchema, hrefSchema.transform(() => undefined)])),
  metro: opt(metroSchema),
  facility: opt(facilitySchema),
}).transform((w) => ({
  id: w.id,
  type: w.type ?? "",
  address: w.address ?? "",
  ...blockFields(w),
  globalIp: w.global_ip ?? false,
  /** Free text, for example `created` or `pending` (awaiting approval). */
  state: w.state ?? "",
  details: w.details,
  tags: w.tags,
  customdata: w.customdata,
  assignments: w.assignments.filter((a) => a !== undefined),
  metro: w.metro,
  facility: w.facility,
}));

/** An IP reservation, reduced to what the CCM reads. `assignments` is empty unless requested. */
export type IpReservation = z.output<typeof ipReservationSchema>;

/** The project's BGP configuration; every field is absent while BGP was never enabled (`{}`). */
export const bgpConfigSchema = z.object({
  id: opt(z.string()),
  status: opt(z.string()),
  asn: opt(z.number()),
  md5: opt(z.string()),
  deployment_type: opt(z.string()),
  max_prefix: opt(z.number()),
}).transform((w) => ({
  id: w.id,
  /** `requested`, `enabled` or `disabled`. */
  status: w.status,
  asn: w.asn,
  md5: w.md5,
  deploymentType: w.deployment_type,
  maxPrefix: w.max_prefix,
}));

/** The project's BGP configuration. */
export type BgpConfig = z.output<typeof bgpConfigSchema>;

/** A device's BGP session. */
export const bgpSessionSchema = z.object({
  id: opt(z.string()),
  address_family: z.string(),
  status: opt(z.string()),
  default_route: opt(z.boolean()),
  device: opt(hrefSchema),
}).transform((w) => ({
  id: w.id,
  /** `ipv4` or `ipv6`. */
  addressFamily: w.address_family,
  status: w.status ?? "",
  defaultRoute: w.default_route ?? false,
  /** Id of the session's device (last segment of `device.href`), when the API names it. */
  deviceId: w.device?.href?.split("/").filter((s) => s !== "").at(-1),
}));

/** A device's BGP session. */
export type BgpSession = z.output<typeof bgpSessionSchema>;

/** What a device needs to peer with the Metal routers (`/devices/{id}/bgp/neighbors`). */
export const bgpNeighborSchema = z.object({
  address_family: z.number(),
  customer_as: opt(z.number()),
  customer_ip: opt(z.string()),
  md5_enabled: opt(z.boolean()),
  md5_password: opt(z.string()),
  multihop: opt(z.boolean()),
  peer_as: opt(z.number()),
  peer_ips: list(z.string()),
}).transform((w) => ({
  /** 4 or 6 (a number here, unlike sessions). */
  addressFamily: w.address_family,
  customerAs: w.customer_as,
  customerIp: w.customer_ip,
  md5Enabled: w.md5_enabled ?? false,
  /** Secret: never log it. */
  md5Password: w.md5_password,
  multihop: w.multihop ?? false,
  peerAs: w.peer_as,
  peerIps: w.peer_ips,
}));

/** BGP neighbour data of a device. */
export type BgpNeighbor = z.output<typeof bgpNeighborSchema>;

/** A project. */
export const projectSchema = z.object({
  id: z.string().min(1),
  name: opt(z.string()),
  bgp_config: opt(hrefSchema),
}).transform((w) => ({ id: w.id, name: w.name ?? "", bgpConfigHref: w.bgp_config?.href }));

/** A project, reduced to what the CCM reads. */
export type Project = z.output<typeof projectSchema>;

/** Body of {@linkcode MetalClient.createIpReservation} (camelCase; sent as snake_case). */
export interface IpReservationRequest {
  /** For example `public_ipv4` or `global_ipv4`. */
  type: string;
  quantity: number;
  /** Metro code; give either this or `facility`. */
  metro?: string;
  facility?: string;
  tags?: string[];
  /** Free-text description (`details` on the wire). */
  details?: string;
  customdata?: Record<string, unknown>;
  /** When true, a request over quota fails with 422 instead of waiting for approval. */
  failOnApprovalRequired?: boolean;
}

/** Body of {@linkcode MetalClient.updateIpReservation}; absent fields are left unchanged. */
export interface IpReservationUpdate {
  details?: string;
  tags?: string[];
  customdata?: Record<string, unknown>;
}

/** Body of {@linkcode MetalClient.createBgpConfig}. */
export interface BgpConfigRequest {
  asn: number;
  /** `local` (configured at once) or `global` (goes to review). */
  deploymentType: "local" | "global";
  /** MD5 password; omitted from the request when absent or empty (the API rejects an empty one). */
  md5?: string;
  useCase?: string;
}
