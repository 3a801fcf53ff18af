/**
 * Response schemas for devices, IP addresses and BGP, written from the official Metal v1 OpenAPI schema
 * (enums exactly as there; `IPReservation` strict as there — `additionalProperties: false`).
 *
 * @module
 */
import { z } from "zod";
import { DEVICE_STATES, IP_RESERVATION_TYPES } from "../model.ts";
import {
  AnyObject,
  DateTime,
  Facility,
  Href,
  Meta,
  Metro,
  OperatingSystem,
  orHref,
  Plan,
  Project,
  Uuid,
} from "./common.ts";

/** Official `Device.state` enum (the simulator stores the same values). */
export const DeviceStateEnum = z.enum(DEVICE_STATES);

/** Official `ParentBlock`. */
export const ParentBlock = z.strictObject({
  network: z.string().optional(),
  netmask: z.string().optional(),
  cidr: z.int().optional(),
  href: z.string().optional(),
});

/** Official `IPAssignment` (patched spec: `type` enum `IPAssignment`). */
export const IPAssignment = z.strictObject({
  id: Uuid,
  href: z.string(),
  type: z.enum(["IPAssignment"]).optional(),
  address: z.string(),
  address_family: z.union([z.literal(4), z.literal(6)]),
  cidr: z.int(),
  netmask: z.string(),
  network: z.string(),
  gateway: z.string(),
  public: z.boolean(),
  management: z.boolean(),
  manageable: z.boolean(),
  global_ip: z.boolean(),
  enabled: z.boolean(),
  created_at: DateTime,
  assigned_to: Href,
  metro: orHref(Metro).optional(),
  parent_block: ParentBlock,
  state: z.enum(["pending", "active", "deleting"]).optional(),
  next_hop: z.string().optional(),
});

/** An `ip_addresses`/`assignments` entry: a full assignment or, when excluded, an href. */
export const IPAssignmentOrHref = z.union([IPAssignment, Href]);

/** Official `IPReservation.type` enum (the simulator stores the same values). */
export const IPReservationType = z.enum(IP_RESERVATION_TYPES);

/** Official `IPReservation` — strict: exactly the official property list, `type` required. */
export const IPReservation = z.strictObject({
  id: Uuid.optional(),
  href: z.string().optional(),
  type: IPReservationType,
  address: z.string().optional(),
  address_family: z.int().optional(),
  cidr: z.int().optional(),
  netmask: z.string().optional(),
  network: z.string().optional(),
  gateway: z.string().optional(),
  public: z.boolean().optional(),
  management: z.boolean().optional(),
  manageable: z.boolean().optional(),
  global_ip: z.boolean().optional(),
  enabled: z.boolean().optional(),
  addon: z.boolean().optional(),
  bill: z.boolean().optional(),
  available: z.string().optional(),
  state: z.string().optional(),
  details: z.string().optional(),
  tags: z.array(z.string()).optional(),
  customdata: AnyObject.optional(),
  created_at: DateTime.optional(),
  assignments: z.array(IPAssignmentOrHref).optional(),
  facility: orHref(Facility).optional(),
  metro: orHref(Metro).optional(),
  project: orHref(Project).optional(),
  project_lite: Href.optional(),
  requested_by: Href.optional(),
  metal_gateway: AnyObject.optional(),
});

/** Official `IPReservationList` (items are IPReservation; the simulator creates no VRF reservations). */
export const IPReservationList = z.strictObject({ ip_addresses: z.array(IPReservation), meta: Meta });
/** Official `IPAssignmentList` (no meta). */
export const IPAssignmentList = z.strictObject({ ip_addresses: z.array(IPAssignment) });
/** `GET|PATCH /ips/{id}`: oneOf IPAssignment, IPReservation. */
export const IpById = z.union([IPAssignment, IPReservation]);

/** Official `Port` (network port of a device). */
export const Port = z.strictObject({
  id: Uuid,
  href: z.string(),
  name: z.string(),
  type: z.enum(["NetworkPort", "NetworkBondPort"]),
  network_type: z.enum(["layer2-bonded", "layer2-individual", "layer3", "hybrid", "hybrid-bonded"])
    .optional(),
  data: z.strictObject({ mac: z.string().optional(), bonded: z.boolean().optional() }),
  bond: z.strictObject({ id: Uuid, name: z.string() }).optional(),
  disbond_operation_supported: z.boolean(),
  native_virtual_network: AnyObject.optional(),
  virtual_networks: z.array(AnyObject),
});

/** Official `Device` (every property the official schema lists; the ones the simulator always sends required). */
export const Device = z.strictObject({
  id: Uuid,
  short_id: z.string(),
  href: z.string(),
  hostname: z.string(),
  description: z.string().optional(),
  state: DeviceStateEnum,
  tags: z.array(z.string()),
  billing_cycle: z.string(),
  user: z.string(),
  iqn: z.string(),
  locked: z.boolean(),
  bonding_mode: z.int(),
  created_at: DateTime,
  updated_at: DateTime,
  always_pxe: z.boolean(),
  userdata: z.string(),
  customdata: AnyObject,
  switch_uuid: z.string(),
  network_frozen: z.boolean(),
  spot_instance: z.boolean(),
  sos: z.string(),
  actions: z.array(z.strictObject({ type: z.string(), name: z.string() })),
  operating_system: orHref(OperatingSystem),
  facility: orHref(Facility),
  metro: orHref(Metro),
  plan: orHref(Plan),
  project: orHref(Project),
  project_lite: Href,
  ssh_keys: z.array(Href),
  volumes: z.array(Href),
  ip_addresses: z.array(IPAssignmentOrHref),
  network_ports: z.array(z.union([Port, Href])),
  provisioning_percentage: z.number().optional(),
  ipxe_script_url: z.string().optional(),
  image_url: z.string().optional(),
  root_password: z.string().optional(),
  termination_time: DateTime.optional(),
  spot_price_max: z.number().optional(),
  firmware_set_id: Uuid.optional(),
  created_by: AnyObject.optional(),
  hardware_reservation: AnyObject.optional(),
  provisioning_events: z.array(AnyObject).optional(),
  storage: AnyObject.optional(),
});

/** Official `DeviceList`. */
export const DeviceList = z.strictObject({ devices: z.array(Device), meta: Meta });

/** Official `BgpSession` (`address_family` required). */
export const BgpSession = z.strictObject({
  id: Uuid,
  href: z.string(),
  address_family: z.enum(["ipv4", "ipv6"]),
  status: z.string(),
  learned_routes: z.array(z.string()),
  default_route: z.boolean(),
  device: Href,
  created_at: DateTime,
  updated_at: DateTime,
});

/** Official `BgpSessionList`. */
export const BgpSessionList = z.strictObject({ bgp_sessions: z.array(BgpSession) });

/** Official `BgpConfig`; `{}` when BGP was never requested. */
export const BgpConfig = z.union([
  z.strictObject({
    id: Uuid,
    href: z.string(),
    asn: z.int().min(0).max(4294967295),
    deployment_type: z.enum(["global", "local"]),
    status: z.enum(["requested", "enabled", "disabled"]),
    md5: z.string().nullable(),
    max_prefix: z.int(),
    route_object: z.string().optional(),
    created_at: DateTime,
    requested_at: DateTime,
    project: Href,
    ranges: z.array(AnyObject),
    sessions: z.array(BgpSession).optional(),
  }),
  z.strictObject({}),
]);

const BgpRoute = z.strictObject({ route: z.string(), exact: z.boolean() });

/** Official `BgpNeighborData` (int32 numbers). */
export const BgpNeighborData = z.strictObject({
  address_family: z.int32(),
  customer_as: z.int32(),
  customer_ip: z.string(),
  md5_enabled: z.boolean(),
  md5_password: z.string(),
  multihop: z.boolean(),
  peer_as: z.int32(),
  peer_ips: z.array(z.string()),
  routes_in: z.array(BgpRoute),
  routes_out: z.array(BgpRoute),
});

/** Official `BgpSessionNeighbors`. */
export const BgpSessionNeighbors = z.strictObject({ bgp_neighbors: z.array(BgpNeighborData) });

/** Official `IPAvailabilitiesList`. */
export const IPAvailabilitiesList = z.strictObject({ available: z.array(z.string()) });
