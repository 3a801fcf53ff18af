/**
 * Metal authentication (`X-Auth-Token`) and visibility: a key sees only its projects. A project the key cannot
 * see is 403; devices and IPs of such projects are 404, as if they did not exist.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { ApiError, notFound } from "./api_error.ts";
import type { AppEnv } from "./deps.ts";
import { canSee } from "./domain/projects.ts";
import { applyTransitions } from "./domain/devices.ts";
import { uuidParam } from "./http.ts";
import type { AssignmentRecord, DeviceRecord, ProjectRecord, ReservationRecord } from "./model.ts";
import type { Store } from "./store.ts";

/** Middleware: 401 unless `X-Auth-Token` names a known API key; stores the key in the context. */
export function metalAuth(store: Store): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = c.req.header("x-auth-token");
    if (!token) {
      throw new ApiError(
        401,
        "Missing X-Auth-Token header: send your Metal API key in the X-Auth-Token header",
      );
    }
    const key = store.apiKeys.get(token);
    if (!key) throw new ApiError(401, "Invalid X-Auth-Token: the API key is not recognised");
    c.set("apiKey", key);
    await next();
  };
}

/** The project named by path parameter `name`: 404 when absent (or not a UUID), 403 when not visible. */
export function projectParam(c: Context<AppEnv>, store: Store, name = "id"): ProjectRecord {
  const id = uuidParam(c, name, "project");
  const project = store.projects.get(id);
  if (!project) throw notFound(`project "${id}"`);
  if (!canSee(c.get("apiKey"), id)) {
    throw new ApiError(403, `You do not have access to project "${id}" with this API key`);
  }
  return project;
}

/** The device named by path parameter `name` with its state brought up to date; 404 unless visible. */
export function deviceParam(c: Context<AppEnv>, store: Store, name = "id"): DeviceRecord {
  const id = uuidParam(c, name, "device");
  const device = store.devices.get(id);
  if (!device || !canSee(c.get("apiKey"), device.projectId)) throw notFound(`device "${id}"`);
  return applyTransitions(device, store.clock.now());
}

/** The reservation or assignment named by path parameter `name`; 404 unless visible. */
export function ipParam(
  c: Context<AppEnv>,
  store: Store,
  name = "id",
): { reservation?: ReservationRecord; assignment?: AssignmentRecord } {
  const id = uuidParam(c, name, "IP address");
  const key = c.get("apiKey");
  const reservation = store.reservations.get(id);
  if (reservation && canSee(key, reservation.projectId)) return { reservation };
  const assignment = store.assignments.get(id);
  if (assignment) {
    const block = store.reservations.get(assignment.reservationId);
    if (block && canSee(key, block.projectId)) return { assignment };
  }
  throw notFound(`IP address "${id}"`);
}
