/**
 * Renders the user, the organization, SSH keys, events and hardware reservations.
 *
 * @module
 */
import { FACILITIES, PLANS } from "../catalog.ts";
import { canSee } from "../domain/projects.ts";
import { USER_ID } from "../domain/account.ts";
import { shortId } from "../ids.ts";
import type { ApiKeyRecord, EventRecord, HardwareReservationRecord, SshKeyRecord } from "../model.ts";
import type { Store } from "../store.ts";
import { ORGANIZATION_ID, projectAttr, renderFacility, renderPlan } from "./catalog.ts";
import type { Expand } from "./expand.ts";
import { href, hrefTo } from "../paths.ts";

/** When the simulated user and organization were "created". */
const ACCOUNT_CREATED = "2020-01-01T00:00:00Z";
const ADDRESS = {
  address: "1 Simulation Way",
  city: "Sunnyvale",
  state: "CA",
  "zip_code": "94089",
  country: "US",
};

/** The projects `key` sees, in creation order. */
function visibleProjects(store: Store, key: ApiKeyRecord) {
  return [...store.projects.values()].filter((p) => canSee(key, p.id));
}

/** The user behind every API key; its default project is the first the key sees. */
export function renderUser(store: Store, key: ApiKeyRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: USER_ID,
    "short_id": shortId(USER_ID),
    href: href(`users/${USER_ID}`),
    "first_name": "Simulated",
    "last_name": "User",
    "full_name": "Simulated User",
    email: "user@simulator.example",
    emails: [hrefTo(`emails/${USER_ID}`)],
    "avatar_url": "",
    "avatar_thumb_url": "",
    "phone_number": "",
    timezone: "UTC",
    "two_factor_auth": "",
    "max_organizations": 1,
    "max_projects": 100,
    customdata: {},
    "default_organization_id": ORGANIZATION_ID,
    "created_at": ACCOUNT_CREATED,
    "updated_at": ACCOUNT_CREATED,
    "last_login_at": key.createdAt,
  };
  const first = visibleProjects(store, key)[0];
  if (first) out.default_project_id = first.id;
  return out;
}

/** The organization every project belongs to, with the projects `key` sees. */
export function renderOrganization(store: Store, key: ApiKeyRecord): Record<string, unknown> {
  return {
    id: ORGANIZATION_ID,
    name: "Simulated organization",
    description: "The organization of the ccm fake-api simulator",
    href: href(`organizations/${ORGANIZATION_ID}`),
    "created_at": ACCOUNT_CREATED,
    "updated_at": ACCOUNT_CREATED,
    customdata: {},
    "credit_amount": 0,
    logo: "",
    terms: 0,
    twitter: "",
    website: "",
    address: ADDRESS,
    "billing_address": ADDRESS,
    members: [hrefTo(`users/${USER_ID}`)],
    memberships: [],
    projects: visibleProjects(store, key).map((p) => hrefTo(`projects/${p.id}`)),
  };
}

/** An SSH key; `entity` is the user or the project that owns it. */
export function renderSshKey(k: SshKeyRecord): Record<string, unknown> {
  return {
    id: k.id,
    label: k.label,
    key: k.key,
    fingerprint: k.fingerprint,
    tags: k.tags,
    href: href(`ssh-keys/${k.id}`),
    entity: k.projectId === undefined ? hrefTo(`users/${USER_ID}`) : hrefTo(`projects/${k.projectId}`),
    "created_at": k.createdAt,
    "updated_at": k.updatedAt,
  };
}

/** An event; the official `body` and `interpolated` both carry its text (the simulator has no templates). */
export function renderEvent(e: EventRecord): Record<string, unknown> {
  return {
    id: e.id,
    type: e.type,
    body: e.text,
    interpolated: e.text,
    state: "success",
    href: href(`events/${e.id}`),
    relationships: e.relationships.map((path) => ({ href: path })),
    "modified_by": { id: USER_ID, "full_name": "Simulated User", href: href(`users/${USER_ID}`) },
    "created_at": e.createdAt,
  };
}

/** A hardware reservation: facility and plan in full (the metal CLI reads their codes), project as an href. */
export function renderHardwareReservation(
  store: Store,
  h: HardwareReservationRecord,
  ex: Expand,
): Record<string, unknown> {
  return {
    id: h.id,
    "short_id": shortId(h.id),
    href: href(`hardware-reservations/${h.id}`),
    "created_at": h.createdAt,
    facility: renderFacility(FACILITIES.get(h.facility)!, ex.child("facility")),
    plan: renderPlan(PLANS.get(h.plan)!),
    project: projectAttr(store, h.projectId, ex),
    provisionable: true,
    spare: false,
    "need_of_service": false,
    "custom_rate": 0,
    "switch_uuid": shortId(h.id),
  };
}
