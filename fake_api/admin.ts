/**
 * The admin API under `/_fake/` (not part of the real API). Without an admin token it has no authentication, so
 * `serve.ts` serves it only on loopback; with one ({@linkcode adminAuth}), every call needs
 * `Authorization: Bearer <token>`:
 *
 * | Method & path | Body | Answer |
 * |---|---|---|
 * | GET `/_fake/faults` | – | `{latencyMs, errorRate, rateLimit, scripted: [...]}` |
 * | PUT `/_fake/faults` | any of `{latencyMs, errorRate, rateLimit}` | the new settings |
 * | POST `/_fake/faults/scripted` | `{path, status, count?, method?, message?, retryAfter?}` | 201; the next `count` matching API requests fail with `status` (and `Retry-After: retryAfter` seconds) |
 * | DELETE `/_fake/faults/scripted` | – | 204 |
 * | GET `/_fake/requests?since=N` | – | `{requests: [{seq, method, path, query, status, time, durationMs, userAgent, retryAfter?}]}` |
 * | DELETE `/_fake/requests` | – | 204 |
 * | POST `/_fake/reset` | – | 204: state back to the seed (or the default project and key), faults off, log empty |
 * | POST `/_fake/projects` | `{name, id?, asn?, md5?}` | 201 Metal project |
 * | POST `/_fake/api-keys` | `{token?, project_ids?}` | 201 `{id, token, project_ids}` |
 * | POST `/_fake/projects/{id}/devices` | seed device fields (`hostname`, `plan`, `metro`, `state`…) | 201 Metal device |
 * | DELETE `/_fake/devices/{id}` | – | 204 (even when locked) |
 * | PUT `/_fake/devices/{id}/state` | `{state}` (official device state) | 200 Metal device |
 * | GET `/_fake/stats` | – | object counts |
 *
 * The request log never holds headers or bodies, so API keys and passwords do not appear in it.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { z } from "zod";
import { notFound } from "./api_error.ts";
import { createDevice, deleteDevice, forceState, type Timings } from "./domain/devices.ts";
import { createApiKey, createProject } from "./domain/projects.ts";
import type { Faults } from "./faults.ts";
import { readJson, uuidParam } from "./http.ts";
import { Expand } from "./render/expand.ts";
import { renderDevice } from "./render/device.ts";
import { renderProject } from "./render/catalog.ts";
import type { RequestLog } from "./request_log.ts";
import { DeviceStateEnum } from "./schemas/metal.ts";
import { SeedSchema } from "./seed.ts";
import type { Store } from "./store.ts";

const FaultUpdate = z.strictObject({
  latencyMs: z.number().min(0).max(600_000).optional(),
  errorRate: z.number().min(0).max(1).optional(),
  rateLimit: z.int().min(0).optional(),
});

const ScriptedInput = z.strictObject({
  path: z.string().startsWith("/"),
  status: z.int().min(400).max(599),
  count: z.int().positive().default(1),
  method: z.string().optional(),
  message: z.string().optional(),
  retryAfter: z.int().min(0).max(3600).optional(),
});

const ProjectInput = SeedSchema.shape.projects.element;
const KeyInput = z.strictObject({
  token: z.string().min(8).optional(),
  project_ids: z.array(z.string()).optional(),
});
const DeviceInput = SeedSchema.shape.devices.unwrap().element.omit({ project_id: true });

/** Characters an admin token may hold: what fits `Authorization: Bearer <token>` (RFC 6750 token68). */
export const ADMIN_TOKEN_PATTERN = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * Middleware that lets an admin call through only with `Authorization: Bearer <token>` (compared in constant
 * time); others get a JSON 401 (400 for a malformed header) that says what to send, never the token.
 */
export function adminAuth(token: string): MiddlewareHandler {
  const fix = "send 'Authorization: Bearer <token>' with the token given to 'ccm fake-api --admin-token'";
  return bearerAuth({
    token,
    noAuthenticationHeader: { message: { errors: [`Missing admin token: ${fix}`] } },
    invalidAuthenticationHeader: { message: { errors: [`Malformed Authorization header: ${fix}`] } },
    invalidToken: { message: { errors: [`Wrong admin token: ${fix}`] } },
  });
}

/** What the admin routes act on. */
export interface AdminDeps {
  store: Store;
  faults: Faults;
  requestLog: RequestLog;
  timings: Timings;
  /** Restores the starting state (seed or defaults). */
  reset(): Promise<void>;
}

/** Builds the admin app (mount it at `/_fake`). */
export function adminRoutes(deps: AdminDeps): Hono {
  const { store, faults, requestLog, timings } = deps;
  const app = new Hono();
  const faultView = () => ({ ...faults.settings, scripted: faults.scripted });

  app.get("/faults", (c) => c.json(faultView()));
  app.put("/faults", async (c) => {
    const body = await readJson(c, FaultUpdate);
    faults.settings = { ...faults.settings, ...body };
    return c.json(faultView());
  });
  app.post("/faults/scripted", async (c) => {
    const body = await readJson(c, ScriptedInput);
    faults.scripted.push(body);
    return c.json(faultView(), 201);
  });
  app.delete("/faults/scripted", (c) => {
    faults.scripted = [];
    return c.body(null, 204);
  });

  app.get("/requests", (c) => {
    const since = Number(c.req.query("since") ?? "0");
    return c.json({ requests: requestLog.list(Number.isFinite(since) ? since : 0) });
  });
  app.delete("/requests", (c) => {
    requestLog.clear();
    return c.body(null, 204);
  });

  app.post("/reset", async (c) => {
    await deps.reset();
    return c.body(null, 204);
  });

  app.post("/projects", async (c) => {
    const body = await readJson(c, ProjectInput);
    const project = createProject(store, { id: body.id, name: body.name, asn: body.asn, md5: body.md5 });
    await store.commit();
    return c.json(renderProject(store, project), 201);
  });

  app.post("/api-keys", async (c) => {
    const body = await readJson(c, KeyInput);
    const key = createApiKey(store, { token: body.token, projectIds: body.project_ids });
    await store.commit();
    return c.json({ id: key.id, token: key.token, project_ids: key.projectIds ?? null }, 201);
  });

  app.post("/projects/:id/devices", async (c) => {
    const projectId = uuidParam(c, "id", "project");
    if (!store.projects.has(projectId)) throw notFound(`project "${projectId}"`);
    const body = await readJson(c, DeviceInput);
    const device = createDevice(store, projectId, {
      id: body.id,
      hostname: body.hostname,
      plan: body.plan,
      metro: body.metro,
      facility: body.facility,
      operatingSystem: body.operating_system,
      tags: body.tags,
      state: body.state ?? "active",
    }, timings);
    await store.commit();
    return c.json(renderDevice(store, device, Expand.NONE), 201);
  });

  app.delete("/devices/:id", async (c) => {
    const id = uuidParam(c, "id", "device");
    const device = store.devices.get(id);
    if (!device) throw notFound(`device "${id}"`);
    deleteDevice(store, device, { force: true });
    await store.commit();
    return c.body(null, 204);
  });

  app.put("/devices/:id/state", async (c) => {
    const id = uuidParam(c, "id", "device");
    const device = store.devices.get(id);
    if (!device) throw notFound(`device "${id}"`);
    const body = await readJson(c, z.strictObject({ state: DeviceStateEnum }));
    forceState(store, device, body.state);
    await store.commit();
    return c.json(renderDevice(store, device, Expand.NONE));
  });

  app.get("/stats", (c) =>
    c.json({
      projects: store.projects.size,
      apiKeys: store.apiKeys.size,
      devices: store.devices.size,
      reservations: store.reservations.size,
      assignments: store.assignments.size,
      bgpSessions: store.bgpSessions.size,
      loadBalancers: store.loadBalancers.size,
      lbPools: store.lbPools.size,
      lbOrigins: store.lbOrigins.size,
    }));

  return app;
}
