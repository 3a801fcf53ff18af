/**
 * Renders LBaaS objects in the shapes of the generated Go client (reconstructed LBaaS spec).
 *
 * @module
 */
import { METROS } from "../catalog.ts";
import { LBAAS_LOCATIONS, portsUsingPool } from "../domain/lbaas.ts";
import type { LbOriginRecord, LbPoolRecord, LbPortRecord, LoadBalancerRecord } from "../model.ts";
import type { Store } from "../store.ts";

/** When the simulated LBaaS locations were "created". */
const LOCATION_TIME = "2023-06-01T00:00:00Z";

function poolShort(pool: LbPoolRecord): Record<string, unknown> {
  return { id: pool.id, name: pool.name, created_at: pool.createdAt, updated_at: pool.updatedAt };
}

/** A listener port. */
export function renderPort(port: LbPortRecord): Record<string, unknown> {
  return {
    id: port.id,
    name: port.name,
    number: port.number,
    loadbalancer_id: port.loadBalancerId,
    pool_ids: port.poolIds,
    created_at: port.createdAt,
    updated_at: port.updatedAt,
  };
}

/** A load balancer; `pools[i]` lists the pools of `ports[i]`. */
export function renderLoadBalancer(store: Store, lb: LoadBalancerRecord): Record<string, unknown> {
  const ports = lb.portIds.map((id) => store.lbPorts.get(id)!);
  const location = LBAAS_LOCATIONS.get(lb.locationId)!;
  return {
    id: lb.id,
    name: lb.name,
    created_at: lb.createdAt,
    updated_at: lb.updatedAt,
    provider: { id: lb.providerId, name: "equinix" },
    ports: ports.map(renderPort),
    pools: ports.map((p) => p.poolIds.map((id) => poolShort(store.lbPools.get(id)!))),
    ips: lb.ips,
    location: {
      id: location.id,
      name: METROS.get(location.metro)!.code,
      created_at: LOCATION_TIME,
      updated_at: LOCATION_TIME,
    },
  };
}

/** A pool origin. */
export function renderOrigin(origin: LbOriginRecord): Record<string, unknown> {
  return {
    id: origin.id,
    name: origin.name,
    target: origin.target,
    port_number: origin.portNumber,
    active: origin.active,
    pool_id: origin.poolId,
    created_at: origin.createdAt,
    updated_at: origin.updatedAt,
  };
}

/** A pool with its ports, origins and the load balancers that use it. */
export function renderPool(store: Store, pool: LbPoolRecord): Record<string, unknown> {
  const ports = portsUsingPool(store, pool);
  const lbs = [...new Set(ports.map((p) => p.loadBalancerId))].map((id) => store.loadBalancers.get(id)!);
  return {
    id: pool.id,
    name: pool.name,
    protocol: pool.protocol,
    project_id: pool.projectId,
    created_at: pool.createdAt,
    updated_at: pool.updatedAt,
    ports: ports.map(renderPort),
    origins: pool.originIds.map((id) => renderOrigin(store.lbOrigins.get(id)!)),
    loadbalancers: lbs.map((lb) => ({
      id: lb.id,
      name: lb.name,
      created_at: lb.createdAt,
      updated_at: lb.updatedAt,
    })),
  };
}
