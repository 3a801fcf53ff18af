/**
 * Metal device routes: list/create per project, get, update, delete, actions.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { deviceParam, projectParam } from "../auth.ts";
import type { AppEnv, RouteDeps } from "../deps.ts";
import {
  applyTransitions,
  createDevice,
  deleteDevice,
  type DeviceUpdate,
  performAction,
  updateDevice,
} from "../domain/devices.ts";
import { queryBool, readJson, searchParams } from "../http.ts";
import { DEVICE_PAGES, paginate, parsePageRequest } from "../pagination.ts";
import { deviceJson, deviceMatchesSearch, renderDevice } from "../render/device.ts";
import { DeviceActionInput, DeviceCreateInput, DeviceUpdateInput } from "../schemas/inputs.ts";
import { expandOf } from "./expand_query.ts";
import { FACILITIES } from "../catalog.ts";
import { unprocessable } from "../api_error.ts";
import type { DeviceRecord } from "../model.ts";
import { recordDeviceEvent } from "../domain/account.ts";

/** Registers the device routes on the Metal app. */
export function deviceRoutes(app: Hono<AppEnv>, { store, timings }: RouteDeps): void {
  app.get("/projects/:id/devices", (c) => {
    const project = projectParam(c, store);
    const query = searchParams(c);
    const pageReq = parsePageRequest(query, DEVICE_PAGES);
    const ex = expandOf(query);
    const devices = filterDevices(
      store.devicesOf(project.id),
      query,
      (d, s) => deviceMatchesSearch(store, d, s),
    );
    const { items, meta } = paginate(devices, pageReq, `/projects/${project.id}/devices`, query);
    const now = store.clock.now();
    const page = items.map((d) => deviceJson(store, applyTransitions(d, now), ex));
    return json(c, `{"devices":[${page.join(",")}],"meta":${JSON.stringify(meta)}}`);
  });

  app.post("/projects/:id/devices", async (c) => {
    const project = projectParam(c, store);
    const body = await readJson(c, DeviceCreateInput);
    const facility = Array.isArray(body.facility)
      ? body.facility.find((f) => FACILITIES.has(f)) ?? body.facility[0]
      : body.facility;
    if (body.metro === undefined && facility === undefined) {
      throw unprocessable('Invalid request body: "metro" is required (or the deprecated "facility")');
    }
    if (body.metro !== undefined && body.facility !== undefined) {
      throw unprocessable('Invalid request body: send either "metro" or "facility", not both');
    }
    const device = createDevice(store, project.id, {
      hostname: body.hostname,
      description: body.description,
      plan: body.plan,
      metro: body.metro,
      facility,
      operatingSystem: body.operating_system,
      tags: body.tags,
      billingCycle: body.billing_cycle,
      userdata: body.userdata,
      customdata: body.customdata,
      locked: body.locked,
      alwaysPxe: body.always_pxe,
      ipxeScriptUrl: body.ipxe_script_url,
    }, timings);
    recordDeviceEvent(store, device, "created");
    await store.commit();
    return c.json(renderDevice(store, device, expandOf(searchParams(c))), 201);
  });

  app.get("/devices/:id", (c) => {
    const device = deviceParam(c, store);
    return json(c, deviceJson(store, device, expandOf(searchParams(c))));
  });

  // PUT is the official update; packngo's Lock/Unlock send PATCH with the same body, which the real API took.
  const update = async (c: Context<AppEnv>) => {
    const device = deviceParam(c, store);
    const body = await readJson(c, DeviceUpdateInput);
    const update: DeviceUpdate = {
      hostname: body.hostname,
      description: body.description,
      tags: body.tags,
      billingCycle: body.billing_cycle,
      userdata: body.userdata,
      customdata: body.customdata,
      locked: body.locked,
      alwaysPxe: body.always_pxe,
      ipxeScriptUrl: body.ipxe_script_url,
    };
    const wasLocked = device.locked;
    updateDevice(store, device, update);
    recordDeviceEvent(
      store,
      device,
      device.locked === wasLocked ? "updated" : device.locked ? "locked" : "unlocked",
    );
    await store.commit();
    return c.json(renderDevice(store, device, expandOf(searchParams(c))));
  };
  app.put("/devices/:id", update);
  app.patch("/devices/:id", update);

  app.delete("/devices/:id", async (c) => {
    const device = deviceParam(c, store);
    deleteDevice(store, device, { force: queryBool(searchParams(c), "force_delete") });
    recordDeviceEvent(store, device, "deleted");
    await store.commit();
    return c.body(null, 204);
  });

  app.post("/devices/:id/actions", async (c) => {
    const device = deviceParam(c, store);
    const body = await readJson(c, DeviceActionInput);
    performAction(store, device, { type: body.type, operatingSystem: body.operating_system }, timings);
    recordDeviceEvent(store, device, body.type);
    await store.commit();
    return c.body(null, 202);
  });
}

function json(c: Context, text: string): Response {
  return c.body(text, 200, { "content-type": "application/json" });
}

/** Applies the list filters the simulator supports: search, hostname, facility, metro, tag. */
function filterDevices(
  devices: readonly DeviceRecord[],
  query: URLSearchParams,
  matchesSearch: (d: DeviceRecord, needle: string) => boolean,
): readonly DeviceRecord[] {
  const search = query.get("search") || undefined;
  const hostname = query.get("hostname")?.toLowerCase() || undefined;
  const facility = query.get("facility") || undefined;
  const metro = query.get("metro") || undefined;
  const tag = query.get("tag") || undefined;
  const reserved = queryBool(query, "reserved");
  if (!search && !hostname && !facility && !metro && !tag && reserved === undefined) return devices;
  return devices.filter((d) =>
    (!hostname || d.hostname.toLowerCase().includes(hostname)) &&
    (!facility || d.facility === facility) &&
    (!metro || d.metro === metro) &&
    (!tag || d.tags.includes(tag)) &&
    (reserved !== true) &&
    (!search || matchesSearch(d, search))
  );
}
