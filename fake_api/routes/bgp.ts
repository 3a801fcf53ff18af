/**
 * Metal BGP routes: project config (GET singular, POST plural — as the real API), device sessions and
 * neighbours, sessions by id.
 *
 * @module
 */
import type { Hono } from "hono";
import { notFound } from "../api_error.ts";
import { deviceParam, projectParam } from "../auth.ts";
import type { AppEnv, RouteDeps } from "../deps.ts";
import { bgpNeighbors, createBgpSession, requestBgpConfig } from "../domain/bgp.ts";
import { canSee } from "../domain/projects.ts";
import { readJson, searchParams, uuidParam } from "../http.ts";
import { renderBgpConfig, renderSession } from "../render/bgp.ts";
import { BgpConfigRequestInput, BGPSessionInput } from "../schemas/inputs.ts";
import { expandOf } from "./expand_query.ts";
import type { BgpSessionRecord } from "../model.ts";
import type { Context } from "hono";
import type { Store } from "../store.ts";

function sessionParam(c: Context<AppEnv>, store: Store): BgpSessionRecord {
  const id = uuidParam(c, "id", "BGP session");
  const session = store.bgpSessions.get(id);
  const device = session && store.devices.get(session.deviceId);
  if (!session || !device || !canSee(c.get("apiKey"), device.projectId)) {
    throw notFound(`BGP session "${id}"`);
  }
  return session;
}

/** Registers the BGP routes on the Metal app. */
export function bgpRoutes(app: Hono<AppEnv>, { store }: RouteDeps): void {
  app.get("/projects/:id/bgp-config", (c) => {
    const project = projectParam(c, store);
    return c.json(renderBgpConfig(store, project, expandOf(searchParams(c))));
  });

  app.post("/projects/:id/bgp-configs", async (c) => {
    const project = projectParam(c, store);
    const body = await readJson(c, BgpConfigRequestInput);
    requestBgpConfig(store, project, {
      asn: body.asn,
      deploymentType: body.deployment_type,
      md5: body.md5,
      useCase: body.use_case,
    });
    await store.commit();
    return c.body(null, 204);
  });

  app.get("/projects/:id/bgp/sessions", (c) => {
    const project = projectParam(c, store);
    const sessions = store.devicesOf(project.id).flatMap((d) => store.sessionsOf(d.id));
    return c.json({ bgp_sessions: sessions.map((s) => renderSession(store, s)) });
  });

  app.get("/devices/:id/bgp/sessions", (c) => {
    const device = deviceParam(c, store);
    return c.json({ bgp_sessions: store.sessionsOf(device.id).map((s) => renderSession(store, s)) });
  });

  app.post("/devices/:id/bgp/sessions", async (c) => {
    const device = deviceParam(c, store);
    const body = await readJson(c, BGPSessionInput);
    const session = createBgpSession(store, device, {
      addressFamily: body.address_family,
      defaultRoute: body.default_route ?? false,
    });
    await store.commit();
    return c.json(renderSession(store, session), 201);
  });

  app.get("/devices/:id/bgp/neighbors", (c) => {
    const device = deviceParam(c, store);
    return c.json({ bgp_neighbors: bgpNeighbors(store, device) });
  });

  app.get("/bgp/sessions/:id", (c) => c.json(renderSession(store, sessionParam(c, store))));

  app.delete("/bgp/sessions/:id", async (c) => {
    store.removeBgpSession(sessionParam(c, store));
    await store.commit();
    return c.body(null, 204);
  });
}
