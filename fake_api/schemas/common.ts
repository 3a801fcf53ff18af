/**
 * Building blocks shared by the Metal response schemas, written from the official Metal v1 OpenAPI schema.
 * Objects are strict (no keys outside the official property list) so any drift fails the contract tests.
 *
 * @module
 */
import { z } from "zod";

/** RFC 3339 timestamp (Go's time.Time accepts only this). */
export const DateTime = z.iso.datetime({ offset: true });
/** `format: uuid` (any hyphenated hex UUID). */
export const Uuid = z.guid();
/** Official `Href`: `href` is required. */
export const Href = z.strictObject({ href: z.string() });
/** Free-form object (`customdata`, `pricing`…). */
export const AnyObject = z.record(z.string(), z.unknown());

/** An attribute that renders in full or, when collapsed, as `{"href": …}`. */
export function orHref<T extends z.ZodType>(schema: T): z.ZodUnion<[T, typeof Href]> {
  return z.union([schema, Href]);
}

/** Official `Error`: either `errors` or `error` (the simulator always sends a non-empty `errors`). */
export const ErrorBody = z.strictObject({
  errors: z.array(z.string().min(1)).min(1),
  error: z.string().optional(),
});

/** Official `Meta` (pagination); `previous`/`next` are absent at the ends. */
export const Meta = z.strictObject({
  first: Href,
  last: Href,
  next: Href.optional(),
  previous: Href.optional(),
  self: Href,
  total: z.int().nonnegative(),
  current_page: z.int().positive(),
  last_page: z.int().positive(),
});

/** Official `Metro`. */
export const Metro = z.strictObject({ id: Uuid, code: z.string(), name: z.string(), country: z.string() });

/** Official `Address` (address, zip_code and country are required). */
export const Address = z.strictObject({
  address: z.string(),
  address2: z.string().optional(),
  city: z.string().optional(),
  state: z.string().optional(),
  zip_code: z.string(),
  country: z.string(),
  coordinates: z.strictObject({ latitude: z.string().optional(), longitude: z.string().optional() })
    .optional(),
});

/** Official `Facility.features` items. */
export const FacilityFeature = z.enum(["baremetal", "backend_transfer", "layer_2", "global_ipv4", "ibx"]);

/** Official `Facility`. */
export const Facility = z.strictObject({
  id: Uuid,
  code: z.string(),
  name: z.string(),
  features: z.array(FacilityFeature),
  ip_ranges: z.array(z.string()),
  metro: Metro.optional(),
  address: Address.optional(),
});

const PlanPrice = z.strictObject({ href: z.string(), price: z.strictObject({ hour: z.number() }) });

/** Official `Plan`. */
export const Plan = z.strictObject({
  id: Uuid,
  slug: z.string(),
  name: z.string(),
  description: z.string().optional(),
  class: z.string().optional(),
  line: z.string().optional(),
  type: z.enum(["standard", "workload_optimized", "custom"]).optional(),
  categories: z.array(z.string()).optional(),
  deployment_types: z.array(z.enum(["on_demand", "spot_market"])).optional(),
  legacy: z.boolean().optional(),
  pricing: AnyObject.optional(),
  specs: z.strictObject({
    cpus: z.array(z.strictObject({ count: z.int(), type: z.string() })),
    memory: z.strictObject({ total: z.string() }),
    drives: z.array(
      z.strictObject({ count: z.int(), type: z.string(), size: z.string(), category: z.string() }),
    ),
    nics: z.array(z.strictObject({ count: z.int(), type: z.string() })),
    features: z.strictObject({ raid: z.boolean(), txt: z.boolean(), uefi: z.boolean() }),
  }).optional(),
  available_in: z.array(PlanPrice).optional(),
  available_in_metros: z.array(PlanPrice).optional(),
});

/** Official `OperatingSystem` (date fields are plain strings there). */
export const OperatingSystem = z.strictObject({
  id: Uuid,
  slug: z.string(),
  name: z.string(),
  distro: z.string(),
  distro_label: z.string().optional(),
  version: z.string(),
  preinstallable: z.boolean().optional(),
  licensed: z.boolean().optional(),
  pricing: AnyObject.optional(),
  provisionable_on: z.array(z.string()).optional(),
  build_date: z.string().optional(),
  deprecation_date: z.string().optional(),
  end_of_life_date: z.string().optional(),
  end_of_service_date: z.string().optional(),
  release_date: z.string().optional(),
  release_notes: z.string().optional(),
  lifecycle_state: z.string().optional(),
  default_operating_system: z.boolean().optional(),
});

/** Official `Project`. */
export const Project = z.strictObject({
  id: Uuid,
  name: z.string().min(1).max(80),
  href: z.string(),
  created_at: DateTime,
  updated_at: DateTime,
  customdata: AnyObject,
  backend_transfer_enabled: z.boolean(),
  bgp_config: Href.optional(),
  organization: Href,
  devices: z.array(Href),
  members: z.array(Href),
  memberships: z.array(Href),
  invitations: z.array(Href),
  ssh_keys: z.array(Href),
  volumes: z.array(Href),
  payment_method: Href.optional(),
  max_devices: AnyObject,
  network_status: AnyObject,
  url: z.string().optional(),
  type: z.enum(["default", "vmce"]),
  tags: z.array(z.string()),
});

/** Official `ProjectList`. */
export const ProjectList = z.strictObject({ projects: z.array(Project), meta: Meta });
/** Official `MetroList` (no pagination). */
export const MetroList = z.strictObject({ metros: z.array(Metro) });
/** Official `FacilityList` (no pagination). */
export const FacilityList = z.strictObject({ facilities: z.array(Facility) });
/** Official `PlanList`. */
export const PlanList = z.strictObject({ plans: z.array(Plan) });
/** Official `OperatingSystemList`. */
export const OperatingSystemList = z.strictObject({ operating_systems: z.array(OperatingSystem) });
