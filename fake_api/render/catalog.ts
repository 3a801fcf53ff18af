/**
 * Renders catalogue objects (metro, facility, plan, operating system) and projects.
 *
 * @module
 */
import {
  FACILITIES,
  type FacilityInfo,
  type MetroInfo,
  METROS,
  OPERATING_SYSTEMS,
  type OsInfo,
  type PlanInfo,
  PLANS,
} from "../catalog.ts";
import type { ProjectRecord } from "../model.ts";
import type { Store } from "../store.ts";
import { RANGES } from "../ip_pool.ts";
import type { Expand } from "./expand.ts";
import { href, hrefTo } from "../paths.ts";

/** The organization every simulated project belongs to. */
export const ORGANIZATION_ID = "1207c25d-6748-42a5-ad2e-415c5ba8d1ff";

const FACILITY_FEATURES = ["baremetal", "backend_transfer", "layer_2", "global_ipv4", "ibx"];
const IP_RANGES = [...RANGES.devicePublic, ...RANGES.elastic, ...RANGES.ipv6Blocks];

const metroCache = new Map<string, Readonly<Record<string, unknown>>>();
const planCache = new Map<string, Readonly<Record<string, unknown>>>();
const osCache = new Map<string, Readonly<Record<string, unknown>>>();

/** A metro object (shared, do not mutate). */
export function renderMetro(m: MetroInfo): Readonly<Record<string, unknown>> {
  let out = metroCache.get(m.code);
  if (!out) {
    metroCache.set(m.code, out = Object.freeze({ id: m.id, code: m.code, name: m.name, country: m.country }));
  }
  return out;
}

/** A metro by code, or an href when the attribute is collapsed. */
export function metroAttr(code: string, full: boolean): unknown {
  const m = METROS.get(code)!;
  return full ? renderMetro(m) : hrefTo(`locations/metros/${m.id}`);
}

/** A facility; its address only when `address` is included. */
export function renderFacility(f: FacilityInfo, ex: Expand): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: f.id,
    code: f.code,
    name: f.name,
    features: FACILITY_FEATURES,
    "ip_ranges": IP_RANGES,
    metro: renderMetro(METROS.get(f.metro)!),
  };
  if (ex.full("address", false)) out.address = { ...f.address, coordinates: f.coordinates };
  return out;
}

/** A facility by code, or an href when collapsed. */
export function facilityAttr(code: string, ex: Expand, name = "facility"): unknown {
  const f = FACILITIES.get(code)!;
  return ex.full(name, true) ? renderFacility(f, ex.child(name)) : hrefTo(`facilities/${f.id}`);
}

/** A plan object (shared, do not mutate). */
export function renderPlan(p: PlanInfo): Readonly<Record<string, unknown>> {
  let out = planCache.get(p.slug);
  if (!out) {
    const price = { hour: p.hourly };
    out = Object.freeze({
      id: p.id,
      slug: p.slug,
      name: p.name,
      description: p.description,
      class: p.slug,
      line: "baremetal",
      type: "standard",
      legacy: false,
      categories: ["compute", "current_gen"],
      deployment_types: ["on_demand", "spot_market"],
      pricing: price,
      specs: {
        cpus: [p.cpu],
        memory: { total: p.memory },
        drives: p.drives,
        nics: p.nics,
        features: { raid: true, txt: true, uefi: true },
      },
      available_in: [...FACILITIES.values()].map((f) => ({ href: href(`facilities/${f.id}`), price })),
      available_in_metros: [...METROS.values()].map((m) => ({
        href: href(`locations/metros/${m.id}`),
        price,
      })),
    });
    planCache.set(p.slug, out);
  }
  return out;
}

/** A plan by slug, or an href when collapsed. */
export function planAttr(slug: string, full: boolean): unknown {
  const p = PLANS.get(slug)!;
  return full ? renderPlan(p) : hrefTo(`plans/${p.id}`);
}

/** An operating system object (shared, do not mutate). */
export function renderOs(o: OsInfo): Readonly<Record<string, unknown>> {
  let out = osCache.get(o.slug);
  if (!out) {
    out = Object.freeze({
      id: o.id,
      slug: o.slug,
      name: o.name,
      distro: o.distro,
      distro_label: o.distroLabel,
      version: o.version,
      preinstallable: false,
      licensed: false,
      pricing: {},
      provisionable_on: [...PLANS.keys()],
    });
    osCache.set(o.slug, out);
  }
  return out;
}

/** An operating system by slug, or an href when collapsed. */
export function osAttr(slug: string, full: boolean): unknown {
  const o = OPERATING_SYSTEMS.get(slug)!;
  return full ? renderOs(o) : hrefTo(`operating-systems/${o.id}`);
}

/** A project. Device references are hrefs; `bgp_config` appears once BGP has been requested. */
export function renderProject(store: Store, p: ProjectRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: p.id,
    name: p.name,
    href: href(`projects/${p.id}`),
    "created_at": p.createdAt,
    "updated_at": p.updatedAt,
    customdata: {},
    "backend_transfer_enabled": false,
    type: "default",
    tags: [],
    organization: hrefTo(`organizations/${ORGANIZATION_ID}`),
    devices: store.devicesOf(p.id).map((d) => hrefTo(`devices/${d.id}`)),
    members: [],
    memberships: [],
    invitations: [],
    "ssh_keys": [...store.sshKeys.values()].filter((k) => k.projectId === p.id).map((k) =>
      hrefTo(`ssh-keys/${k.id}`)
    ),
    volumes: [],
    "max_devices": {},
    "network_status": {},
  };
  if (p.bgp) out.bgp_config = hrefTo(`bgp-configs/${p.bgp.id}`);
  return out;
}

/** A project reference: the href, or the whole project when `name` is included. */
export function projectAttr(store: Store, projectId: string, ex: Expand, name = "project"): unknown {
  const p = store.projects.get(projectId);
  return p && ex.full(name, false) ? renderProject(store, p) : hrefTo(`projects/${projectId}`);
}
