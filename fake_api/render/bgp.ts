/**
 * Renders BGP configs and sessions.
 *
 * @module
 */
import type { BgpSessionRecord, ProjectRecord } from "../model.ts";
import type { Store } from "../store.ts";
import type { Expand } from "./expand.ts";
import { href, hrefTo } from "../paths.ts";

/** A project's BGP config, or `{}` when BGP was never requested (what the real API answers). */
export function renderBgpConfig(store: Store, p: ProjectRecord, ex: Expand): Record<string, unknown> {
  const bgp = p.bgp;
  if (!bgp) return {};
  const out: Record<string, unknown> = {
    id: bgp.id,
    href: href(`bgp-configs/${bgp.id}`),
    asn: bgp.asn,
    "deployment_type": bgp.deploymentType,
    status: bgp.status,
    md5: bgp.md5,
    "max_prefix": 10,
    "created_at": bgp.createdAt,
    "requested_at": bgp.requestedAt,
    project: hrefTo(`projects/${p.id}`),
    ranges: [],
  };
  // Sessions have a required address_family, so they are listed only in full (never as bare hrefs).
  if (ex.full("sessions", false)) {
    out.sessions = store.devicesOf(p.id).flatMap((d) => store.sessionsOf(d.id)).map((s) =>
      renderSession(store, s)
    );
  }
  return out;
}

/** A BGP session; its status follows the device (up while active). */
export function renderSession(store: Store, s: BgpSessionRecord): Record<string, unknown> {
  const device = store.devices.get(s.deviceId);
  return {
    id: s.id,
    href: href(`bgp/sessions/${s.id}`),
    address_family: s.addressFamily,
    status: device?.state === "active" ? "up" : "down",
    learned_routes: [],
    default_route: s.defaultRoute,
    device: hrefTo(`devices/${s.deviceId}`),
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}
