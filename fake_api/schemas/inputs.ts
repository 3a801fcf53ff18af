/**
 * Request body schemas of the Metal operations the simulator serves, from the official input schemas.
 * Unknown keys are ignored (as the real API does); known keys must have the official types and enums.
 *
 * @module
 */
import { z } from "zod";
import { AnyObject, DateTime } from "./common.ts";

/** RFC 1123 host name (labels of letters, digits and hyphens, dot-separated). */
export const HOSTNAME_REGEXP =
  /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

const Hostname = z.string().regex(HOSTNAME_REGEXP, {
  message: "must be a valid host name (letters, digits, hyphens and dots; at most 253 characters)",
});
const Tags = z.array(z.string());

/** Official `DeviceCreateInMetroInput` / `DeviceCreateInFacilityInput` (facility: string or array). */
export const DeviceCreateInput = z.object({
  metro: z.string().min(1).optional(),
  facility: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  plan: z.string().min(1),
  operating_system: z.string().min(1),
  hostname: Hostname.optional(),
  description: z.string().optional(),
  tags: Tags.optional(),
  billing_cycle: z.enum(["hourly", "daily", "monthly", "yearly"]).optional(),
  userdata: z.string().optional(),
  customdata: AnyObject.optional(),
  locked: z.boolean().optional(),
  always_pxe: z.boolean().optional(),
  ipxe_script_url: z.string().optional(),
  spot_instance: z.boolean().optional(),
  spot_price_max: z.number().optional(),
  termination_time: DateTime.optional(),
  ip_addresses: z.array(z.object({
    address_family: z.union([z.literal(4), z.literal(6)]).optional(),
    cidr: z.int32().optional(),
    public: z.boolean().optional(),
    ip_reservations: z.array(z.string()).optional(),
  })).optional(),
});

/** Official `DeviceUpdateInput`. */
export const DeviceUpdateInput = z.object({
  hostname: Hostname.optional(),
  description: z.string().optional(),
  tags: Tags.optional(),
  billing_cycle: z.string().optional(),
  userdata: z.string().optional(),
  customdata: AnyObject.optional(),
  locked: z.boolean().optional(),
  always_pxe: z.boolean().optional(),
  ipxe_script_url: z.string().optional(),
  network_frozen: z.boolean().optional(),
  spot_instance: z.boolean().optional(),
  firmware_set_id: z.string().optional(),
});

/** Official `DeviceActionInput`. */
export const DeviceActionInput = z.object({
  type: z.enum(["power_on", "power_off", "reboot", "rescue", "reinstall"]),
  force_delete: z.boolean().optional(),
  deprovision_fast: z.boolean().optional(),
  preserve_data: z.boolean().optional(),
  operating_system: z.string().optional(),
  ipxe_script_url: z.string().optional(),
});

/** Official `IPReservationRequestInput` (`type` and `quantity` required; `type` is free text there). */
export const IPReservationRequestInput = z.object({
  type: z.string().min(1),
  quantity: z.int().positive(),
  metro: z.string().min(1).optional(),
  facility: z.string().min(1).optional(),
  tags: Tags.optional(),
  details: z.string().optional(),
  comments: z.string().optional(),
  customdata: AnyObject.optional(),
  fail_on_approval_required: z.boolean().optional(),
});

/** Official `IPAssignmentInput`. */
export const IPAssignmentInput = z.object({ address: z.string().min(1), customdata: AnyObject.optional() });

/** Official `IPAssignmentUpdateInput`. */
export const IPAssignmentUpdateInput = z.object({
  details: z.string().optional(),
  tags: Tags.optional(),
  customdata: AnyObject.optional(),
});

/** The official md5 rule: 10–20 letters and digits with at least one lower, one upper case letter and digit. */
export const BGP_MD5_REGEXP = /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[a-zA-Z\d]{10,20}$/;

/**
 * Official `BgpConfigRequestInput`. An empty or null `md5` means "no password" — the CCM sends `""` when no
 * password is configured, although the official pattern would reject it.
 */
export const BgpConfigRequestInput = z.object({
  asn: z.int().min(0).max(4294967295),
  deployment_type: z.enum(["local", "global"]),
  md5: z.union([
    z.literal(""),
    z.string().regex(BGP_MD5_REGEXP, {
      message:
        "must be 10-20 letters and digits with at least one lower case letter, one upper case letter " +
        "and one digit (or empty for no password)",
    }),
  ]).nullable().optional(),
  use_case: z.string().optional(),
});

/** Official `BGPSessionInput` (`address_family` enum ipv4, ipv6; the simulator requires it, as clients send it). */
export const BGPSessionInput = z.object({
  address_family: z.enum(["ipv4", "ipv6"]),
  default_route: z.boolean().optional(),
});
