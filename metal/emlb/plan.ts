/**
 * EMLB reconciliation as pure functions: the ports and origins a Service wants, and the smallest set of
 * changes from what the load balancer has. Unchanged origins are left alone (upstream re-created every origin
 * on every update, then deleted the old ones).
 *
 * @module
 */
import type { V1Node, V1Service } from "@kubernetes/client-node";
import type { LoadBalancer, Origin } from "./lbaas_client.ts";

/** One backend: a node address and the Service port's NodePort. */
export interface Target {
  ip: string;
  port: number;
}

/**
 * Wanted ports: for each Service port number, every `ExternalIP` of every node at the port's NodePort. Ports
 * with the same number collapse (the last wins, as upstream); ports without a NodePort are skipped.
 */
export function desiredPorts(service: V1Service, nodes: readonly V1Node[]): Map<number, Target[]> {
  const ips = [
    ...new Set(
      nodes.flatMap((n) =>
        (n.status?.addresses ?? []).filter((a) => a.type === "ExternalIP").map((a) => a.address)
      ),
    ),
  ];
  const out = new Map<number, Target[]>();
  for (const port of service.spec?.ports ?? []) {
    if (!port.nodePort) continue;
    out.set(port.port, ips.map((ip) => ({ ip, port: port.nodePort as number })));
  }
  return out;
}

/** What to do with a pool's origins. */
export interface OriginPlan {
  /** Targets to add, with their index in the wanted list (names are `<pool>-origin-<index>`). */
  create: Array<Target & { index: number }>;
  /** Ids of origins to delete: not wanted, or duplicates. */
  delete: string[];
}

/** Diffs a pool's origins against the wanted targets, matching on address and port. */
export function planOrigins(existing: readonly Origin[], targets: readonly Target[]): OriginPlan {
  const key = (ip: string, port: number) => `${ip}|${port}`;
  const wanted = new Set(targets.map((t) => key(t.ip, t.port)));
  const kept = new Set<string>();
  const del: string[] = [];
  for (const o of existing) {
    const k = key(o.target, o.port_number);
    if (wanted.has(k) && !kept.has(k)) kept.add(k);
    else del.push(o.id);
  }
  const create = targets.flatMap((t, index) => (kept.has(key(t.ip, t.port)) ? [] : [{ ...t, index }]));
  return { create, delete: del };
}

/** A pool attached to a kept port, and the targets it should have. */
export interface PoolSync {
  poolId: string;
  poolName: string;
  targets: Target[];
}

/** What to do with a load balancer's ports. */
export interface LoadBalancerPlan {
  /** Ports to delete, with the pools attached to them (deleted first). */
  deletePorts: Array<{ portId: string; poolIds: string[] }>;
  /** Pools of kept ports whose origins to reconcile. */
  syncPools: PoolSync[];
  /** Ports to create, each with a new pool of these targets. */
  createPorts: Array<{ number: number; targets: Target[] }>;
}

/** Name of the pool of port `port` (upstream `<lbName>-pool-<port>`). */
export function poolNameFor(loadBalancerName: string, port: number): string {
  return `${loadBalancerName}-pool-${port}`;
}

/** Name of port `port` (upstream `<lbName>-port-<port>`). */
export function portNameFor(loadBalancerName: string, port: number): string {
  return `${loadBalancerName}-port-${port}`;
}

/** Name of origin `index` of a pool (upstream `<poolName>-origin-<index>`). */
export function originNameFor(poolName: string, index: number): string {
  return `${poolName}-origin-${index}`;
}

/**
 * Diffs a load balancer against the wanted ports. `pools[i]` belongs to `ports[i]` (upstream's layout; the
 * port's own `pool_ids` are used when `pools` is missing). A kept port without any pool, or a second port with
 * the same number, is deleted and (for the former) created again.
 */
export function planLoadBalancer(
  lb: LoadBalancer,
  desired: ReadonlyMap<number, Target[]>,
  loadBalancerName: string,
): LoadBalancerPlan {
  const plan: LoadBalancerPlan = { deletePorts: [], syncPools: [], createPorts: [] };
  const kept = new Set<number>();
  (lb.ports ?? []).forEach((port, i) => {
    const pools = lb.pools?.[i] ?? (port.pool_ids ?? []).map((id) => ({ id, name: undefined }));
    const targets = desired.get(port.number);
    if (!targets || kept.has(port.number) || pools.length === 0) {
      plan.deletePorts.push({ portId: port.id, poolIds: pools.map((p) => p.id) });
      return;
    }
    kept.add(port.number);
    for (const pool of pools) {
      plan.syncPools.push({
        poolId: pool.id,
        poolName: pool.name || poolNameFor(loadBalancerName, port.number),
        targets,
      });
    }
  });
  for (const [number, targets] of desired) {
    if (!kept.has(number)) plan.createPorts.push({ number, targets });
  }
  return plan;
}
