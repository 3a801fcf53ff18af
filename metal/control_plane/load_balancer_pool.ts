/**
 * The control-plane load balancer (`METAL_LOAD_BALANCER_ID`): its port at the API server port forwards to a
 * pool whose origins are exactly the healthy control-plane nodes at that port. Origins are diffed — unchanged
 * ones are kept, new ones are added before stale ones are removed — and other ports of the load balancer are
 * left alone. A missing port is created with its pool; a pool left behind by a crash is found by name and
 * reused.
 *
 * @module
 */
import type { LbaasClient } from "../emlb/lbaas_client.ts";
import { originNameFor, planOrigins, poolNameFor, portNameFor, type Target } from "../emlb/plan.ts";

/** The LBaaS calls this module makes. */
export type ControlPlaneLbaas = Pick<
  LbaasClient,
  | "getLoadBalancer"
  | "listPools"
  | "createPool"
  | "listOrigins"
  | "createOrigin"
  | "deleteOrigin"
  | "createPort"
>;

/** Input of {@linkcode syncControlPlanePool}. */
export interface SyncPoolRequest {
  client: ControlPlaneLbaas;
  loadBalancerId: string;
  /** API server port: the load balancer port's number and the origins' port. */
  port: number;
  /** Origin addresses (healthy control-plane nodes), in preference order. */
  addresses: readonly string[];
  signal?: AbortSignal;
}

/** What a sync did. */
export interface SyncPoolResult {
  /** Origins added and removed. */
  added: string[];
  removed: string[];
  /** Whether the port (and its pool) had to be created. */
  createdPort: boolean;
  /** Origins now in the pool(s). */
  origins: number;
}

/** Makes the load balancer's port `port` forward to exactly `addresses`; see the module documentation. */
export async function syncControlPlanePool(req: SyncPoolRequest): Promise<SyncPoolResult> {
  const { client, signal } = req;
  const targets: Target[] = [...new Set(req.addresses)].map((ip) => ({ ip, port: req.port }));
  const lb = await client.getLoadBalancer(req.loadBalancerId, signal);
  const lbName = lb.name || `control-plane-${req.loadBalancerId}`;
  const result: SyncPoolResult = { added: [], removed: [], createdPort: false, origins: targets.length };
  const index = (lb.ports ?? []).findIndex((p) => p.number === req.port);
  const port = lb.ports?.[index];
  if (!port) {
    const poolName = poolNameFor(lbName, req.port);
    const poolId = await adoptOrCreatePool(client, poolName, signal);
    await addOrigins(client, { poolId, poolName, targets, existing: [], result, signal });
    await client.createPort(
      req.loadBalancerId,
      { name: portNameFor(lbName, req.port), number: req.port, poolIds: [poolId] },
      signal,
    );
    result.createdPort = true;
    return result;
  }
  const pools = lb.pools?.[index] ?? (port.pool_ids ?? []).map((id) => ({ id, name: undefined }));
  if (pools.length === 0) {
    throw new Error(
      `Port ${req.port} of load balancer "${req.loadBalancerId}" has no pool; delete the port so it is recreated with one`,
    );
  }
  for (const pool of pools) {
    const poolName = pool.name || poolNameFor(lbName, req.port);
    const existing = await client.listOrigins(pool.id, signal);
    await addOrigins(client, { poolId: pool.id, poolName, targets, existing, result, signal });
  }
  return result;
}

async function adoptOrCreatePool(
  client: ControlPlaneLbaas,
  name: string,
  signal?: AbortSignal,
): Promise<string> {
  const orphan = (await client.listPools(signal)).find((p) =>
    p.name === name && (p.ports ?? []).length === 0
  );
  return orphan?.id ?? await client.createPool(name, signal);
}

async function addOrigins(
  client: ControlPlaneLbaas,
  o: {
    poolId: string;
    poolName: string;
    targets: Target[];
    existing: Awaited<ReturnType<ControlPlaneLbaas["listOrigins"]>>;
    result: SyncPoolResult;
    signal?: AbortSignal;
  },
): Promise<void> {
  const plan = planOrigins(o.existing, o.targets);
  for (const t of plan.create) {
    await client.createOrigin(
      { poolId: o.poolId, name: originNameFor(o.poolName, t.index), target: t.ip, portNumber: t.port },
      o.signal,
    );
    o.result.added.push(t.ip);
  }
  for (const id of plan.delete) {
    await client.deleteOrigin(id, o.signal);
    o.result.removed.push(o.existing.find((e) => e.id === id)?.target ?? id);
  }
}
