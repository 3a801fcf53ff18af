/**
 * Metal account routes, the first a CLI user calls: the current user, organizations, SSH keys (the user's and
 * projects'), events (all, per organization, project and device) and hardware reservations.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { ApiError, notFound } from "../api_error.ts";
import { deviceParam, projectParam } from "../auth.ts";
import type { AppEnv, RouteDeps } from "../deps.ts";
import { createSshKey, updateSshKey, USER_ID } from "../domain/account.ts";
import { canSee } from "../domain/projects.ts";
import { readJson, searchParams, uuidParam } from "../http.ts";
import type { ApiKeyRecord, EventRecord, SshKeyRecord } from "../model.ts";
import { DEVICE_PAGES, paginate, parsePageRequest } from "../pagination.ts";
import {
  renderEvent,
  renderHardwareReservation,
  renderOrganization,
  renderSshKey,
  renderUser,
} from "../render/account.ts";
import { ORGANIZATION_ID } from "../render/catalog.ts";
import { SSHKeyCreateInput, SSHKeyInput } from "../schemas/inputs.ts";
import type { Store } from "../store.ts";
import { expandOf } from "./expand_query.ts";

/** Registers the account routes on the Metal app. */
export function accountRoutes(app: Hono<AppEnv>, { store }: RouteDeps): void {
  const user = (c: Context<AppEnv>) => c.json(renderUser(store, c.get("apiKey")));
  app.get("/user", user);
  app.get("/users/:id", (c) => {
    if (uuidParam(c, "id", "user") !== USER_ID) throw notFound(`user "${c.req.param("id")}"`);
    return user(c);
  });

  app.get("/organizations", (c) => {
    const query = searchParams(c);
    const { items, meta } = paginate(
      [renderOrganization(store, c.get("apiKey"))],
      parsePageRequest(query, DEVICE_PAGES),
      "/organizations",
      query,
    );
    return c.json({ organizations: items, meta });
  });
  app.get("/organizations/:id", (c) => {
    organizationParam(c);
    return c.json(renderOrganization(store, c.get("apiKey")));
  });

  // --- SSH keys ------------------------------------------------------------------------------------------

  app.get("/ssh-keys", (c) => {
    const key = c.get("apiKey");
    const search = searchParams(c).get("search")?.toLowerCase();
    const keys = [...store.sshKeys.values()].filter((k) =>
      seesSshKey(key, k) &&
      (!search || k.label.toLowerCase().includes(search) || k.fingerprint.includes(search))
    );
    return c.json({ "ssh_keys": keys.map(renderSshKey) });
  });
  app.post("/ssh-keys", async (c) => {
    if (c.get("apiKey").projectIds !== undefined) {
      throw new ApiError(
        403,
        "A project API key cannot add user SSH keys; use POST /projects/{id}/ssh-keys, or a user API key",
      );
    }
    const body = await readJson(c, SSHKeyCreateInput);
    const record = createSshKey(store, { key: body.key, label: body.label, tags: body.tags });
    await store.commit();
    return c.json(renderSshKey(record), 201);
  });
  app.get("/ssh-keys/:id", (c) => c.json(renderSshKey(sshKeyParam(c, store))));
  // PUT is the official update; packngo sends PATCH with the same body, which the real API took.
  const update = async (c: Context<AppEnv>) => {
    const record = sshKeyParam(c, store);
    const body = await readJson(c, SSHKeyInput);
    updateSshKey(store, record, body);
    await store.commit();
    return c.json(renderSshKey(record));
  };
  app.put("/ssh-keys/:id", update);
  app.patch("/ssh-keys/:id", update);
  app.delete("/ssh-keys/:id", async (c) => {
    store.sshKeys.delete(sshKeyParam(c, store).id);
    await store.commit();
    return c.body(null, 204);
  });
  app.get("/projects/:id/ssh-keys", (c) => {
    const project = projectParam(c, store);
    const keys = [...store.sshKeys.values()].filter((k) => k.projectId === project.id);
    return c.json({ "ssh_keys": keys.map(renderSshKey) });
  });
  app.post("/projects/:id/ssh-keys", async (c) => {
    const project = projectParam(c, store);
    const body = await readJson(c, SSHKeyCreateInput);
    const record = createSshKey(store, {
      key: body.key,
      label: body.label,
      tags: body.tags,
      projectId: project.id,
    });
    await store.commit();
    return c.json(renderSshKey(record), 201);
  });

  // --- events (newest first) -----------------------------------------------------------------------------

  const events = (c: Context<AppEnv>, path: string, keep: (e: EventRecord) => boolean) => {
    const query = searchParams(c);
    const pageReq = parsePageRequest(query, DEVICE_PAGES);
    const key = c.get("apiKey");
    const found = store.events.filter((e) => canSee(key, e.projectId) && keep(e)).reverse();
    const { items, meta } = paginate(found, pageReq, path, query);
    return c.json({ events: items.map(renderEvent), meta });
  };
  app.get("/events", (c) => events(c, "/events", () => true));
  app.get(
    "/organizations/:id/events",
    (c) => events(c, `/organizations/${organizationParam(c)}/events`, () => true),
  );
  app.get("/projects/:id/events", (c) => {
    const project = projectParam(c, store);
    return events(c, `/projects/${project.id}/events`, (e) => e.projectId === project.id);
  });
  app.get("/devices/:id/events", (c) => {
    const device = deviceParam(c, store);
    return events(c, `/devices/${device.id}/events`, (e) => e.deviceId === device.id);
  });
  app.get("/events/:id", (c) => {
    const id = uuidParam(c, "id", "event");
    const event = store.eventsById.get(id);
    if (!event || !canSee(c.get("apiKey"), event.projectId)) throw notFound(`event "${id}"`);
    return c.json(renderEvent(event));
  });

  // --- hardware reservations -----------------------------------------------------------------------------

  app.get("/projects/:id/hardware-reservations", (c) => {
    const project = projectParam(c, store);
    const query = searchParams(c);
    const ex = expandOf(query);
    const found = [...store.hardwareReservations.values()].filter((h) => h.projectId === project.id);
    const { items, meta } = paginate(
      found,
      parsePageRequest(query, DEVICE_PAGES),
      `/projects/${project.id}/hardware-reservations`,
      query,
    );
    return c.json({
      "hardware_reservations": items.map((h) => renderHardwareReservation(store, h, ex)),
      meta,
    });
  });
  app.get("/hardware-reservations/:id", (c) => {
    const id = uuidParam(c, "id", "hardware reservation");
    const found = store.hardwareReservations.get(id);
    if (!found || !canSee(c.get("apiKey"), found.projectId)) throw notFound(`hardware reservation "${id}"`);
    return c.json(renderHardwareReservation(store, found, expandOf(searchParams(c))));
  });
}

/** The organization id of the path (there is one organization); 404 for any other. */
function organizationParam(c: Context<AppEnv>): string {
  const id = uuidParam(c, "id", "organization");
  if (id !== ORGANIZATION_ID) throw notFound(`organization "${id}"`);
  return id;
}

/** User SSH keys are seen by user API keys; a project's SSH keys by the API keys that see the project. */
function seesSshKey(apiKey: ApiKeyRecord, k: SshKeyRecord): boolean {
  return k.projectId === undefined ? apiKey.projectIds === undefined : canSee(apiKey, k.projectId);
}

/** The SSH key of the path; 404 unless the API key sees it. */
function sshKeyParam(c: Context<AppEnv>, store: Store): SshKeyRecord {
  const id = uuidParam(c, "id", "SSH key");
  const record = store.sshKeys.get(id);
  if (!record || !seesSshKey(c.get("apiKey"), record)) {
    throw notFound(`SSH key "${id}"`);
  }
  return record;
}
