/**
 * Request body schemas of the Metal operations the simulator serves, from the official input schemas.
 * Unknown keys are ignored (as the real API does); known keys must have the official types and enums.
 *
 * @module
 */
import { z } from "zod";
import { DateTime } from "./common.ts";

/** RFC 1123 host name (labels of letters, digits and hyphens, dot-separated). */
export const HOSTNAME_REGEXP =
  /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

const Hostname = z.string().regex(HOSTNAME_REGEXP, {
  message: "must be a valid host name (letters, digits, hyphens and dots; at most 253 characters)",
});
const Tags = z.array(z.string());

/**
 * An optional field as the real API read it: JSON `null` means "not given" (packngo sends `"tags": null`), and
 * with `emptyIsUnset` so does `""` (the metal CLI sends the unused one of `metro`/`facility` as `""`).
 */
function unset<T extends z.ZodType>(schema: T, emptyIsUnset = false) {
  return z.preprocess(
    (v) => (v === null || (emptyIsUnset && v === "") ? undefined : v),
    schema.optional(),
  ).optional();
}

/**
 * `customdata`: a JSON object, or (as packngo sends it) a string holding one, which the real API parsed. `null`
 * and `""` mean "not given"; a string that is not a JSON object is refused with a message saying so.
 */
const CustomData = z.preprocess((v) => {
  if (v === null || v === "") return undefined;
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}, z.record(z.string(), z.unknown(), { error: "must be a JSON object (or a string holding one)" }).optional())
  .optional();

/** Official `DeviceCreateInMetroInput` / `DeviceCreateInFacilityInput` (facility: string or array). */
export const DeviceCreateInput = z.object({
  metro: unset(z.string().min(1), true),
  facility: unset(z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]), true),
  plan: z.string().min(1),
  operating_system: z.string().min(1),
  hostname: unset(Hostname),
  description: unset(z.string()),
  tags: unset(Tags),
  billing_cycle: unset(z.enum(["hourly", "daily", "monthly", "yearly"]), true),
  userdata: unset(z.string()),
  customdata: CustomData,
  locked: unset(z.boolean()),
  always_pxe: unset(z.boolean()),
  ipxe_script_url: unset(z.string(), true),
  spot_instance: unset(z.boolean()),
  spot_price_max: unset(z.number()),
  termination_time: unset(DateTime, true),
  ip_addresses: unset(z.array(z.object({
    address_family: unset(z.union([z.literal(4), z.literal(6)])),
    cidr: unset(z.int32()),
    public: unset(z.boolean()),
    ip_reservations: unset(z.array(z.string())),
  }))),
});

/** Official `DeviceUpdateInput`. */
export const DeviceUpdateInput = z.object({
  hostname: unset(Hostname),
  description: unset(z.string()),
  tags: unset(Tags),
  billing_cycle: unset(z.string(), true),
  userdata: unset(z.string()),
  customdata: CustomData,
  locked: unset(z.boolean()),
  always_pxe: unset(z.boolean()),
  ipxe_script_url: unset(z.string(), true),
  network_frozen: unset(z.boolean()),
  spot_instance: unset(z.boolean()),
  firmware_set_id: unset(z.string(), true),
});

/** Official `DeviceActionInput`. */
export const DeviceActionInput = z.object({
  type: z.enum(["power_on", "power_off", "reboot", "rescue", "reinstall"]),
  force_delete: unset(z.boolean()),
  deprovision_fast: unset(z.boolean()),
  preserve_data: unset(z.boolean()),
  operating_system: unset(z.string(), true),
  ipxe_script_url: unset(z.string(), true),
});

/** Official `IPReservationRequestInput` (`type` and `quantity` required; `type` is free text there). */
export const IPReservationRequestInput = z.object({
  type: z.string().min(1),
  quantity: z.int().positive(),
  metro: unset(z.string().min(1), true),
  facility: unset(z.string().min(1), true),
  tags: unset(Tags),
  details: unset(z.string()),
  comments: unset(z.string()),
  customdata: CustomData,
  fail_on_approval_required: unset(z.boolean()),
});

/** Official `IPAssignmentInput`. */
export const IPAssignmentInput = z.object({ address: z.string().min(1), customdata: CustomData });

/** Official `IPAssignmentUpdateInput`. */
export const IPAssignmentUpdateInput = z.object({
  details: unset(z.string()),
  tags: unset(Tags),
  customdata: CustomData,
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
  use_case: unset(z.string()),
});

/** Official `BGPSessionInput` (`address_family` enum ipv4, ipv6; the simulator requires it, as clients send it). */
export const BGPSessionInput = z.object({
  address_family: z.enum(["ipv4", "ipv6"]),
  default_route: unset(z.boolean()),
});

/** Official `SSHKeyCreateInput` (`key` is required by the simulator, as by the real API). */
export const SSHKeyCreateInput = z.object({
  key: z.string().min(1, { error: "is required: the OpenSSH public key line" }),
  label: unset(z.string()),
  tags: unset(Tags),
  "instances_ids": unset(z.array(z.string())),
});

/** Official `SSHKeyInput` (update). */
export const SSHKeyInput = z.object({
  key: unset(z.string().min(1), true),
  label: unset(z.string()),
  tags: unset(Tags),
});
