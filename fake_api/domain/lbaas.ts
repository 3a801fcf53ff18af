/**
 * Metal Load Balancer (LBaaS) objects: load balancers with ordered ports, project pools, pool origins.
 *
 * A port belongs to one load balancer and lists the pools it forwards to; the API's `pools` array on a load
 * balancer is parallel to `ports` (pools[i] are the pools of ports[i]).
 *
 * @module
 */
import { notFound, unprocessable } from "../api_error.ts";
import { newLbaasId } from "../ids.ts";
import { formatIp, parseIp } from "../ip_math.ts";
import {
  isoTime,
  type LbOriginRecord,
  type LbPoolRecord,
  type LbPortRecord,
  type LoadBalancerRecord,
} from "../model.ts";
import type { Store } from "../store.ts";

/** The only load balancer provider id (the CCM hard-codes it). */
export const LBAAS_PROVIDER_ID = "loadpvd-gOB_-byp5ebFo7A3LHv2B";

/** LBaaS locations by id (the ids the CCM hard-codes for metros da, ny and sv). */
export const LBAAS_LOCATIONS: ReadonlyMap<string, { id: string; metro: string }> = new Map([
  ["lctnloc--uxs0GLeAELHKV8GxO_AI", { id: "lctnloc--uxs0GLeAELHKV8GxO_AI", metro: "da" }],
  ["lctnloc-Vy-1Qpw31mPi6RJQwVf9A", { id: "lctnloc-Vy-1Qpw31mPi6RJQwVf9A", metro: "ny" }],
  ["lctnloc-H5rl2M2VL5dcFmdxhbEKx", { id: "lctnloc-H5rl2M2VL5dcFmdxhbEKx", metro: "sv" }],
]);

function now(store: Store): string {
  return isoTime(store.clock.now());
}

function checkPortNumber(field: string, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw unprocessable(`Invalid ${field} ${n}: it must be an integer from 1 to 65535`);
  }
}

function portsOf(store: Store, ids: readonly string[], projectId: string): LbPortRecord[] {
  return ids.map((id) => {
    const port = store.lbPorts.get(id);
    const lb = port && store.loadBalancers.get(port.loadBalancerId);
    if (!port || !lb || lb.projectId !== projectId) throw unprocessable(`Unknown port id "${id}"`);
    return port;
  });
}

function poolsOf(store: Store, ids: readonly string[], projectId: string): LbPoolRecord[] {
  return ids.map((id) => {
    const pool = store.lbPools.get(id);
    if (!pool || pool.projectId !== projectId) throw unprocessable(`Unknown pool id "${id}"`);
    return pool;
  });
}

function originsOf(store: Store, ids: readonly string[], projectId: string): LbOriginRecord[] {
  return ids.map((id) => {
    const origin = store.lbOrigins.get(id);
    const pool = origin && store.lbPools.get(origin.poolId);
    if (!origin || !pool || pool.projectId !== projectId) throw unprocessable(`Unknown origin id "${id}"`);
    return origin;
  });
}

/** Moves ports onto a load balancer (detaching them from their previous one). */
function attachPorts(store: Store, lb: LoadBalancerRecord, ports: LbPortRecord[]): void {
  for (const port of ports) {
    const numbers = lb.portIds.map((id) => store.lbPorts.get(id)!).filter((p) => p.id !== port.id);
    if (numbers.some((p) => p.number === port.number)) {
      throw unprocessable(`Load balancer "${lb.id}" already has a port with number ${port.number}`);
    }
  }
  for (const port of ports) {
    const previous = store.loadBalancers.get(port.loadBalancerId);
    if (previous) previous.portIds = previous.portIds.filter((id) => id !== port.id);
    port.loadBalancerId = lb.id;
    if (!lb.portIds.includes(port.id)) lb.portIds.push(port.id);
  }
}

/** Creates a load balancer with one public address. */
export function createLoadBalancer(
  store: Store,
  projectId: string,
  req: { name: string; locationId: string; providerId: string; portIds: string[] | null },
): LoadBalancerRecord {
  if (!LBAAS_LOCATIONS.has(req.locationId)) {
    throw unprocessable(
      `Unknown location_id "${req.locationId}"; valid values are ${[...LBAAS_LOCATIONS.keys()].join(", ")}`,
    );
  }
  if (req.providerId !== LBAAS_PROVIDER_ID) {
    throw unprocessable(
      `Unknown provider_id "${req.providerId}"; the only provider is "${LBAAS_PROVIDER_ID}"`,
    );
  }
  const ports = portsOf(store, req.portIds ?? [], projectId);
  const network = store.pools.loadBalancer.allocate(32);
  if (network === undefined) {
    throw unprocessable("No free load balancer addresses left in the simulator's pool");
  }
  const at = now(store);
  const lb: LoadBalancerRecord = {
    id: newLbaasId("loadBalancer"),
    projectId,
    name: req.name,
    locationId: req.locationId,
    providerId: req.providerId,
    ips: [formatIp(4, network)],
    portIds: [],
    createdAt: at,
    updatedAt: at,
  };
  try {
    attachPorts(store, lb, ports);
  } catch (err) {
    store.pools.loadBalancer.release(network, 32);
    throw err;
  }
  store.loadBalancers.set(lb.id, lb);
  return lb;
}

/** Renames a load balancer and adds/removes/clears its ports (removed ports are deleted). */
export function updateLoadBalancer(
  store: Store,
  lb: LoadBalancerRecord,
  req: { name?: string; addPortIds?: string[]; removePortIds?: string[]; clearPorts?: boolean },
): void {
  const add = portsOf(store, req.addPortIds ?? [], lb.projectId);
  const remove = req.clearPorts ? [...lb.portIds] : req.removePortIds ?? [];
  for (const id of remove) {
    if (!lb.portIds.includes(id)) {
      throw unprocessable(`Port "${id}" is not a port of load balancer "${lb.id}"`);
    }
  }
  attachPorts(store, lb, add);
  for (const id of remove) deletePort(store, store.lbPorts.get(id)!);
  if (req.name !== undefined) lb.name = req.name;
  lb.updatedAt = now(store);
}

/** Deletes a load balancer and its ports (pools are project objects and stay). */
export function deleteLoadBalancer(store: Store, lb: LoadBalancerRecord): void {
  for (const id of [...lb.portIds]) deletePort(store, store.lbPorts.get(id)!);
  for (const ip of lb.ips) store.pools.loadBalancer.release(parseIp(ip)!.value, 32);
  store.loadBalancers.delete(lb.id);
}

/** Adds a listener port to a load balancer. */
export function createPort(
  store: Store,
  lb: LoadBalancerRecord,
  req: { name: string; number: number; poolIds?: string[] },
): LbPortRecord {
  checkPortNumber("number", req.number);
  const pools = poolsOf(store, req.poolIds ?? [], lb.projectId);
  if (lb.portIds.some((id) => store.lbPorts.get(id)!.number === req.number)) {
    throw unprocessable(`Load balancer "${lb.id}" already has a port with number ${req.number}`);
  }
  const at = now(store);
  const port: LbPortRecord = {
    id: newLbaasId("port"),
    loadBalancerId: lb.id,
    name: req.name,
    number: req.number,
    poolIds: [...new Set(pools.map((p) => p.id))],
    createdAt: at,
    updatedAt: at,
  };
  store.lbPorts.set(port.id, port);
  lb.portIds.push(port.id);
  lb.updatedAt = at;
  return port;
}

/** Updates a port's name, number and pools. */
export function updatePort(
  store: Store,
  port: LbPortRecord,
  req: { name?: string; number?: number; addPoolIds?: string[]; removePoolIds?: string[] },
): void {
  const lb = store.loadBalancers.get(port.loadBalancerId)!;
  if (req.number !== undefined) {
    checkPortNumber("number", req.number);
    if (lb.portIds.some((id) => id !== port.id && store.lbPorts.get(id)!.number === req.number)) {
      throw unprocessable(`Load balancer "${lb.id}" already has a port with number ${req.number}`);
    }
  }
  const add = poolsOf(store, req.addPoolIds ?? [], lb.projectId);
  if (req.name !== undefined) port.name = req.name;
  if (req.number !== undefined) port.number = req.number;
  const remove = new Set(req.removePoolIds ?? []);
  port.poolIds = [...new Set([...port.poolIds.filter((id) => !remove.has(id)), ...add.map((p) => p.id)])];
  port.updatedAt = now(store);
}

/** Deletes a port. */
export function deletePort(store: Store, port: LbPortRecord): void {
  const lb = store.loadBalancers.get(port.loadBalancerId);
  if (lb) {
    lb.portIds = lb.portIds.filter((id) => id !== port.id);
    lb.updatedAt = now(store);
  }
  store.lbPorts.delete(port.id);
}

/** Creates a pool in a project, optionally attached to ports and adopting origins. */
export function createPool(
  store: Store,
  projectId: string,
  req: { name: string; protocol: "tcp" | "udp"; portIds?: string[]; originIds?: string[] },
): LbPoolRecord {
  const ports = portsOf(store, req.portIds ?? [], projectId);
  const origins = originsOf(store, req.originIds ?? [], projectId);
  const at = now(store);
  const pool: LbPoolRecord = {
    id: newLbaasId("pool"),
    projectId,
    name: req.name,
    protocol: req.protocol,
    originIds: [],
    createdAt: at,
    updatedAt: at,
  };
  store.lbPools.set(pool.id, pool);
  for (const port of ports) if (!port.poolIds.includes(pool.id)) port.poolIds.push(pool.id);
  moveOrigins(store, pool, origins);
  return pool;
}

function moveOrigins(store: Store, pool: LbPoolRecord, origins: LbOriginRecord[]): void {
  for (const origin of origins) {
    const previous = store.lbPools.get(origin.poolId);
    if (previous) previous.originIds = previous.originIds.filter((id) => id !== origin.id);
    origin.poolId = pool.id;
    if (!pool.originIds.includes(origin.id)) pool.originIds.push(origin.id);
  }
}

/** The ports (of any of the project's load balancers) that forward to a pool. */
export function portsUsingPool(store: Store, pool: LbPoolRecord): LbPortRecord[] {
  return [...store.lbPorts.values()].filter((p) => p.poolIds.includes(pool.id));
}

/** Updates a pool: name, protocol, port and origin membership (removed origins are deleted). */
export function updatePool(
  store: Store,
  pool: LbPoolRecord,
  req: {
    name?: string;
    protocol?: "tcp" | "udp";
    addPortIds?: string[];
    removePortIds?: string[];
    clearPorts?: boolean;
    addOriginIds?: string[];
    removeOriginIds?: string[];
    clearOrigins?: boolean;
  },
): void {
  const addPorts = portsOf(store, req.addPortIds ?? [], pool.projectId);
  const addOrigins = originsOf(store, req.addOriginIds ?? [], pool.projectId);
  const removeOrigins = req.clearOrigins ? [...pool.originIds] : req.removeOriginIds ?? [];
  for (const id of removeOrigins) {
    if (!pool.originIds.includes(id)) {
      throw unprocessable(`Origin "${id}" is not an origin of pool "${pool.id}"`);
    }
  }
  const removePorts = new Set(
    req.clearPorts ? portsUsingPool(store, pool).map((p) => p.id) : req.removePortIds,
  );
  for (const port of portsUsingPool(store, pool)) {
    if (removePorts.has(port.id)) port.poolIds = port.poolIds.filter((id) => id !== pool.id);
  }
  for (const port of addPorts) if (!port.poolIds.includes(pool.id)) port.poolIds.push(pool.id);
  for (const id of removeOrigins) deleteOrigin(store, store.lbOrigins.get(id)!);
  moveOrigins(store, pool, addOrigins);
  if (req.name !== undefined) pool.name = req.name;
  if (req.protocol !== undefined) pool.protocol = req.protocol;
  pool.updatedAt = now(store);
}

/** Deletes a pool, its origins and its references from ports. */
export function deletePool(store: Store, pool: LbPoolRecord): void {
  for (const port of portsUsingPool(store, pool)) port.poolIds = port.poolIds.filter((id) => id !== pool.id);
  for (const id of [...pool.originIds]) deleteOrigin(store, store.lbOrigins.get(id)!);
  store.lbPools.delete(pool.id);
}

/** Adds an origin (backend address and port) to a pool. */
export function createOrigin(
  store: Store,
  pool: LbPoolRecord,
  req: { name: string; target: string; portNumber: number; active: boolean; poolId: string },
): LbOriginRecord {
  if (req.poolId !== pool.id) {
    throw unprocessable(`pool_id "${req.poolId}" does not match the pool in the path ("${pool.id}")`);
  }
  if (!parseIp(req.target)) throw unprocessable(`Invalid target "${req.target}": expected an IP address`);
  checkPortNumber("port_number", req.portNumber);
  const at = now(store);
  const origin: LbOriginRecord = {
    id: newLbaasId("origin"),
    poolId: pool.id,
    name: req.name,
    target: req.target,
    portNumber: req.portNumber,
    active: req.active,
    createdAt: at,
    updatedAt: at,
  };
  store.lbOrigins.set(origin.id, origin);
  pool.originIds.push(origin.id);
  return origin;
}

/** Updates an origin. */
export function updateOrigin(
  store: Store,
  origin: LbOriginRecord,
  req: { name?: string; target?: string; portNumber?: number; active?: boolean },
): void {
  if (req.target !== undefined && !parseIp(req.target)) {
    throw unprocessable(`Invalid target "${req.target}": expected an IP address`);
  }
  if (req.portNumber !== undefined) checkPortNumber("port_number", req.portNumber);
  if (req.name !== undefined) origin.name = req.name;
  if (req.target !== undefined) origin.target = req.target;
  if (req.portNumber !== undefined) origin.portNumber = req.portNumber;
  if (req.active !== undefined) origin.active = req.active;
  origin.updatedAt = now(store);
}

/** Deletes an origin. */
export function deleteOrigin(store: Store, origin: LbOriginRecord): void {
  const pool = store.lbPools.get(origin.poolId);
  if (pool) pool.originIds = pool.originIds.filter((id) => id !== origin.id);
  store.lbOrigins.delete(origin.id);
}

/** Looks up an LBaaS object the caller may see, or throws 404. */
export function findVisible<T>(
  map: ReadonlyMap<string, T>,
  id: string,
  projectOf: (item: T) => string | undefined,
  visible: (projectId: string) => boolean,
  what: string,
): T {
  const item = map.get(id);
  const projectId = item && projectOf(item);
  if (!item || projectId === undefined || !visible(projectId)) throw notFound(`${what} "${id}"`);
  return item;
}
