/**
 * Seeds: a JSON description of projects, API keys, devices and IP reservations to start from.
 *
 * ```json
 * {
 *   "projects": [{ "id": "…uuid…", "name": "demo", "asn": 65000 }],
 *   "api_keys": [{ "token": "secret-key", "project_ids": ["…uuid…"] }],
 *   "devices": [{ "project_id": "…uuid…", "hostname": "node-1", "plan": "c3.small.x86", "metro": "sv" }],
 *   "reservations": [{ "project_id": "…uuid…", "metro": "sv", "tags": ["eip"], "assigned_to": "node-1" }],
 *   "ssh_keys": [{ "label": "me", "key": "ssh-ed25519 AAAA… me@host" }],
 *   "hardware_reservations": [{ "project_id": "…uuid…", "plan": "m3.large.x86", "facility": "sv15" }]
 * }
 * ```
 *
 * A project `asn` enables local BGP with that ASN (and `md5` as its password). API keys without `project_ids`
 * see every project. Devices get realistic addresses; `state` defaults to `active`. Reservations default to one
 * `public_ipv4` address; `assigned_to` names a seeded device by id or hostname. SSH keys are the user's unless
 * they name a `project_id`; without `key`, a fresh ed25519 public key is made up.
 *
 * @module
 */
import { z } from "zod";
import { ApiError, unprocessable } from "./api_error.ts";
import { createHardwareReservation, createSshKey, generatedPublicKey } from "./domain/account.ts";
import { createDevice, type Timings } from "./domain/devices.ts";
import { assignIp, reserveIps } from "./domain/ips.ts";
import { createApiKey, createProject } from "./domain/projects.ts";
import { describeIssues } from "./http.ts";
import { UUID_REGEXP } from "./ids.ts";
import type { ApiKeyRecord, ProjectRecord } from "./model.ts";
import { DeviceStateEnum } from "./schemas/metal.ts";
import { HOSTNAME_REGEXP } from "./schemas/inputs.ts";
import type { Store } from "./store.ts";
import { errorMessage } from "../util/errors.ts";

const Id = z.string().regex(UUID_REGEXP, { message: "must be a UUID" });

/** The seed file format. */
export const SeedSchema = z.strictObject({
  projects: z.array(z.strictObject({
    id: Id.optional(),
    name: z.string().min(1).max(80),
    asn: z.int().min(0).max(4294967295).optional(),
    md5: z.string().optional(),
  })).min(1),
  api_keys: z.array(z.strictObject({
    token: z.string().min(8),
    project_ids: z.array(Id).optional(),
  })).min(1),
  devices: z.array(z.strictObject({
    project_id: Id,
    id: Id.optional(),
    hostname: z.string().regex(HOSTNAME_REGEXP, { message: "must be a valid host name" }),
    plan: z.string().optional(),
    metro: z.string().optional(),
    facility: z.string().optional(),
    operating_system: z.string().optional(),
    state: DeviceStateEnum.optional(),
    tags: z.array(z.string()).optional(),
  })).optional(),
  reservations: z.array(z.strictObject({
    project_id: Id,
    type: z.enum(["public_ipv4", "global_ipv4"]).optional(),
    quantity: z.int().positive().optional(),
    metro: z.string().optional(),
    facility: z.string().optional(),
    tags: z.array(z.string()).optional(),
    details: z.string().optional(),
    assigned_to: z.string().optional(),
  })).optional(),
  ssh_keys: z.array(z.strictObject({
    label: z.string(),
    key: z.string().optional(),
    project_id: Id.optional(),
    tags: z.array(z.string()).optional(),
  })).optional(),
  hardware_reservations: z.array(z.strictObject({
    project_id: Id,
    plan: z.string().optional(),
    facility: z.string().optional(),
  })).optional(),
});

/** A parsed seed. */
export type Seed = z.output<typeof SeedSchema>;

/** Validates seed JSON, throwing a message that names the bad field. */
export function parseSeed(value: unknown, source = "seed"): Seed {
  const result = SeedSchema.safeParse(value);
  if (!result.success) throw new Error(describeIssues(result.error.issues, source, value));
  return result.data;
}

/** Reads and validates a seed file. */
export async function loadSeedFile(path: string): Promise<Seed> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new Error(`Cannot read seed file '${path}': ${errorMessage(err)}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`Cannot load seed file '${path}': it is not valid JSON (${errorMessage(err)})`);
  }
  return parseSeed(json, `seed file '${path}'`);
}

/** Adds the seed's objects to an (empty) store. Errors name the seed entry. */
export function applySeed(store: Store, seed: Seed, timings: Timings): void {
  const at = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (err instanceof ApiError) throw new Error(`Invalid seed ${what}: ${err.message}`);
      throw err;
    }
  };
  seed.projects.forEach((p, i) =>
    at(`projects[${i}]`, () => createProject(store, { id: p.id, name: p.name, asn: p.asn, md5: p.md5 }))
  );
  seed.api_keys.forEach((k, i) =>
    at(`api_keys[${i}]`, () => createApiKey(store, { token: k.token, projectIds: k.project_ids }))
  );
  const byName = new Map<string, string>();
  (seed.devices ?? []).forEach((d, i) =>
    at(`devices[${i}]`, () => {
      if (!store.projects.has(d.project_id)) throw unprocessable(`unknown project_id "${d.project_id}"`);
      const device = createDevice(store, d.project_id, {
        id: d.id,
        hostname: d.hostname,
        plan: d.plan,
        metro: d.metro,
        facility: d.facility,
        operatingSystem: d.operating_system,
        tags: d.tags,
        state: d.state ?? "active",
      }, timings);
      byName.set(`${d.project_id}/${d.hostname}`, device.id);
    })
  );
  (seed.reservations ?? []).forEach((r, i) =>
    at(`reservations[${i}]`, () => {
      if (!store.projects.has(r.project_id)) throw unprocessable(`unknown project_id "${r.project_id}"`);
      const reservation = reserveIps(store, r.project_id, {
        type: r.type ?? "public_ipv4",
        quantity: r.quantity ?? 1,
        metro: r.metro,
        facility: r.facility,
        tags: r.tags,
        details: r.details,
      });
      if (r.assigned_to !== undefined) {
        const id = store.devices.has(r.assigned_to)
          ? r.assigned_to
          : byName.get(`${r.project_id}/${r.assigned_to}`);
        const device = id && store.devices.get(id);
        if (!device) {
          throw unprocessable(`assigned_to "${r.assigned_to}" is not a seeded device of the project`);
        }
        assignIp(store, device, reservation.network);
      }
    })
  );
  (seed.ssh_keys ?? []).forEach((k, i) =>
    at(`ssh_keys[${i}]`, () => {
      if (k.project_id !== undefined && !store.projects.has(k.project_id)) {
        throw unprocessable(`unknown project_id "${k.project_id}"`);
      }
      createSshKey(store, {
        label: k.label,
        key: k.key ?? generatedPublicKey(`${k.label}@simulator`),
        tags: k.tags,
        projectId: k.project_id,
      });
    })
  );
  (seed.hardware_reservations ?? []).forEach((h, i) =>
    at(
      `hardware_reservations[${i}]`,
      () => createHardwareReservation(store, { projectId: h.project_id, plan: h.plan, facility: h.facility }),
    )
  );
}

/** Creates the default project, API key and user SSH key used when no seed is given. */
export function seedDefaults(store: Store): { project: ProjectRecord; apiKey: ApiKeyRecord } {
  const project = createProject(store, { name: "default" });
  const apiKey = createApiKey(store, {});
  createSshKey(store, { label: "default", key: generatedPublicKey("user@simulator") });
  return { project, apiKey };
}
