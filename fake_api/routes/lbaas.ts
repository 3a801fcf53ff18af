/**
 * LBaaS routes (served under `/lbaas`, mirroring `https://lb.metalctrl.io`): load balancers, ports, pools,
 * origins. Creates answer 200 with a `ResourceCreatedResponse`, deletes 204.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { ApiError } from "../api_error.ts";
import type { AppEnv, RouteDeps } from "../deps.ts";
import {
  createLoadBalancer,
  createOrigin,
  createPool,
  createPort,
  deleteLoadBalancer,
  deleteOrigin,
  deletePool,
  deletePort,
  findVisible,
  updateLoadBalancer,
  updateOrigin,
  updatePool,
  updatePort,
} from "../domain/lbaas.ts";
import { canSee } from "../domain/projects.ts";
import { readJson } from "../http.ts";
import { renderLoadBalancer, renderOrigin, renderPool, renderPort } from "../render/lbaas.ts";
import {
  LoadBalancerCreate,
  LoadBalancerPoolCreate,
  LoadBalancerPoolOriginCreate,
  LoadBalancerPoolOriginUpdate,
  LoadBalancerPoolUpdate,
  LoadBalancerPortCreate,
  LoadBalancerPortUpdate,
  LoadBalancerUpdate,
} from "../schemas/lbaas.ts";
import { notFound } from "../api_error.ts";
import type { Store } from "../store.ts";

const API_VERSION = "v1";

function created(c: Context, id: string, message: string): Response {
  return c.json({ id, message, version: API_VERSION, status: 200 });
}

function projectId(c: Context<AppEnv>, store: Store): string {
  const id = c.req.param("projectID") ?? "";
  if (!store.projects.has(id)) throw notFound(`project "${id}"`);
  if (!canSee(c.get("apiKey"), id)) throw new ApiError(403, `You do not have access to project "${id}"`);
  return id;
}

/** Registers the LBaaS routes (paths start with `/v1`). */
export function lbaasRoutes(app: Hono<AppEnv>, { store }: RouteDeps): void {
  const visible = (c: Context<AppEnv>) => (pid: string) => canSee(c.get("apiKey"), pid);
  const lbOf = (c: Context<AppEnv>) =>
    findVisible(
      store.loadBalancers,
      c.req.param("id") ?? "",
      (lb) => lb.projectId,
      visible(c),
      "load balancer",
    );
  const portOf = (c: Context<AppEnv>) =>
    findVisible(
      store.lbPorts,
      c.req.param("id") ?? "",
      (p) => store.loadBalancers.get(p.loadBalancerId)?.projectId,
      visible(c),
      "port",
    );
  const poolOf = (c: Context<AppEnv>) =>
    findVisible(store.lbPools, c.req.param("id") ?? "", (p) => p.projectId, visible(c), "pool");
  const originOf = (c: Context<AppEnv>) =>
    findVisible(
      store.lbOrigins,
      c.req.param("id") ?? "",
      (o) => store.lbPools.get(o.poolId)?.projectId,
      visible(c),
      "origin",
    );

  app.get("/v1/projects/:projectID/loadbalancers", (c) => {
    const pid = projectId(c, store);
    const lbs = [...store.loadBalancers.values()].filter((lb) => lb.projectId === pid);
    return c.json({ loadbalancers: lbs.map((lb) => renderLoadBalancer(store, lb)) });
  });

  app.post("/v1/projects/:projectID/loadbalancers", async (c) => {
    const pid = projectId(c, store);
    const body = await readJson(c, LoadBalancerCreate);
    const lb = createLoadBalancer(store, pid, {
      name: body.name,
      locationId: body.location_id,
      providerId: body.provider_id,
      portIds: body.port_ids ?? null,
    });
    await store.commit();
    return created(c, lb.id, "Load balancer created");
  });

  app.get("/v1/projects/:projectID/loadbalancers/pools", (c) => {
    const pid = projectId(c, store);
    const pools = [...store.lbPools.values()].filter((p) => p.projectId === pid);
    return c.json({ pools: pools.map((p) => renderPool(store, p)) });
  });

  app.post("/v1/projects/:projectID/loadbalancers/pools", async (c) => {
    const pid = projectId(c, store);
    const body = await readJson(c, LoadBalancerPoolCreate);
    const pool = createPool(store, pid, {
      name: body.name,
      protocol: body.protocol,
      portIds: body.port_ids ?? undefined,
      originIds: body.origin_ids ?? undefined,
    });
    await store.commit();
    return created(c, pool.id, "Pool created");
  });

  // Static segments ("ports", "pools") are registered before ":id" routes so they win.
  app.patch("/v1/loadbalancers/ports/:id", async (c) => {
    const port = portOf(c);
    const body = await readJson(c, LoadBalancerPortUpdate);
    updatePort(store, port, {
      name: body.name,
      number: body.number,
      addPoolIds: body.add_pool_ids,
      removePoolIds: body.remove_pool_ids,
    });
    await store.commit();
    return c.json(renderPort(port));
  });

  app.delete("/v1/loadbalancers/ports/:id", async (c) => {
    deletePort(store, portOf(c));
    await store.commit();
    return c.body(null, 204);
  });

  app.get("/v1/loadbalancers/pools/origins/:id", (c) => c.json(renderOrigin(originOf(c))));

  app.patch("/v1/loadbalancers/pools/origins/:id", async (c) => {
    const origin = originOf(c);
    const body = await readJson(c, LoadBalancerPoolOriginUpdate);
    updateOrigin(store, origin, {
      name: body.name,
      target: body.target,
      portNumber: body.port_number,
      active: body.active,
    });
    await store.commit();
    return c.json(renderOrigin(origin));
  });

  app.delete("/v1/loadbalancers/pools/origins/:id", async (c) => {
    deleteOrigin(store, originOf(c));
    await store.commit();
    return c.body(null, 204);
  });

  app.get("/v1/loadbalancers/pools/:id", (c) => c.json(renderPool(store, poolOf(c))));

  app.patch("/v1/loadbalancers/pools/:id", async (c) => {
    const pool = poolOf(c);
    const body = await readJson(c, LoadBalancerPoolUpdate);
    updatePool(store, pool, {
      name: body.name,
      protocol: body.protocol,
      addPortIds: body.add_port_ids,
      removePortIds: body.remove_port_ids,
      clearPorts: body.clear_ports,
      addOriginIds: body.add_origin_ids,
      removeOriginIds: body.remove_origin_ids,
      clearOrigins: body.clear_origins,
    });
    await store.commit();
    return c.json(renderPool(store, pool));
  });

  app.delete("/v1/loadbalancers/pools/:id", async (c) => {
    deletePool(store, poolOf(c));
    await store.commit();
    return c.body(null, 204);
  });

  app.get("/v1/loadbalancers/pools/:id/origins", (c) => {
    const pool = poolOf(c);
    return c.json({ origins: pool.originIds.map((id) => renderOrigin(store.lbOrigins.get(id)!)) });
  });

  app.post("/v1/loadbalancers/pools/:id/origins", async (c) => {
    const pool = poolOf(c);
    const body = await readJson(c, LoadBalancerPoolOriginCreate);
    const origin = createOrigin(store, pool, {
      name: body.name,
      target: body.target,
      portNumber: body.port_number,
      active: body.active,
      poolId: body.pool_id,
    });
    await store.commit();
    return created(c, origin.id, "Origin created");
  });

  app.get("/v1/loadbalancers/:id", (c) => c.json(renderLoadBalancer(store, lbOf(c))));

  app.patch("/v1/loadbalancers/:id", async (c) => {
    const lb = lbOf(c);
    const body = await readJson(c, LoadBalancerUpdate);
    updateLoadBalancer(store, lb, {
      name: body.name,
      addPortIds: body.add_port_ids,
      removePortIds: body.remove_port_ids,
      clearPorts: body.clear_ports,
    });
    await store.commit();
    return created(c, lb.id, "Load balancer updated");
  });

  app.delete("/v1/loadbalancers/:id", async (c) => {
    deleteLoadBalancer(store, lbOf(c));
    await store.commit();
    return c.body(null, 204);
  });

  app.get("/v1/loadbalancers/:id/ports", (c) => {
    const lb = lbOf(c);
    return c.json({ ports: lb.portIds.map((id) => renderPort(store.lbPorts.get(id)!)) });
  });

  app.post("/v1/loadbalancers/:id/ports", async (c) => {
    const lb = lbOf(c);
    const body = await readJson(c, LoadBalancerPortCreate);
    const port = createPort(store, lb, {
      name: body.name,
      number: body.number,
      poolIds: body.pool_ids ?? undefined,
    });
    await store.commit();
    return created(c, port.id, "Port created");
  });

  app.get("/v1/loadbalancers/:id/ports/:number", (c) => {
    const lb = lbOf(c);
    const text = c.req.param("number");
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    const port = lb.portIds.map((id) => store.lbPorts.get(id)!).find((p) => p.number === n);
    if (!port) throw notFound(`port number "${text}" on load balancer "${lb.id}"`);
    return c.json(renderPort(port));
  });
}
