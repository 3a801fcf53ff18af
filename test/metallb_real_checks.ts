/**
 * Checks shared by the real MetalLB controller tests: what MetalLB reports about ccm's objects (pools and their
 * status, its log, the Services it allocated).
 *
 * @module
 */
import { deepEqual } from "node:assert/strict";
import { waitFor } from "./harness/mod.ts";
import { METALLB_NS } from "./loadbalancer_metallb_cr_objects.ts";
import type { LbSystem } from "./loadbalancer_system.ts";
import type { MetalLbController, MetalLbLogLine } from "./metallb_real.ts";

/** How long MetalLB and ccm get for each change. */
export const TIMEOUT_MS = 45_000;

/** The annotation MetalLB ≥ 0.13 writes on a Service it allocated an address to: the pool's name. */
export const ALLOCATED_FROM_POOL = "metallb.io/ip-allocated-from-pool";

/** An IPAddressPool as MetalLB reports it. */
export interface Pool {
  metadata: { name: string };
  spec: { addresses: string[] };
  status?: { assignedIPv4?: number };
}

/** MetalLB's IPAddressPools. */
export async function pools(system: LbSystem): Promise<Pool[]> {
  const body = await system.cluster.clients.custom.listNamespacedCustomObject({
    group: "metallb.io",
    version: "v1beta1",
    namespace: METALLB_NS,
    plural: "ipaddresspools",
  });
  return (body as { items: Pool[] }).items;
}

/** How many MetalLB objects of `plural` exist. */
export async function countCrs(system: LbSystem, plural: string, version = "v1beta1"): Promise<number> {
  const body = await system.cluster.clients.custom.listNamespacedCustomObject({
    group: "metallb.io",
    version,
    namespace: METALLB_NS,
    plural,
  });
  return (body as { items: unknown[] }).items.length;
}

/** No configuration error in MetalLB's log (its Pool/Config reconcilers), with the log tail when there is. */
export async function assertNoConfigErrors(metallb: MetalLbController): Promise<void> {
  const errors = (await metallb.errors()).filter((l) =>
    String(l.controller ?? "").match(/^(Pool|Config)Reconciler/)
  );
  deepEqual(errors, [], `MetalLB logged configuration errors:\n${await metallb.process.logTail(60)}`);
}

/** Whether MetalLB logged a line with all of `fields`. */
export const logged = (lines: MetalLbLogLine[], fields: Record<string, unknown>) =>
  lines.some((l) => Object.entries(fields).every(([k, v]) => l[k] === v));

/**
 * Waits until MetalLB owns the Service's allocation: its pool annotation names `pool`, the ingress is exactly
 * `ip`, and MetalLB's status of that pool counts one assigned IPv4.
 */
export async function waitMetalLbAllocated(
  system: LbSystem,
  namespace: string,
  name: string,
  ip: string,
): Promise<void> {
  const pool = `${namespace}.${name}`;
  await waitFor(async () => {
    const svc = await system.service(namespace, name);
    const ingress = (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip);
    if (svc?.metadata?.annotations?.[ALLOCATED_FROM_POOL] !== pool) return false;
    if (ingress.length !== 1 || ingress[0] !== ip) return false;
    const p = (await pools(system)).find((p) => p.metadata.name === pool);
    return p?.status?.assignedIPv4 === 1;
  }, {
    timeoutMs: TIMEOUT_MS,
    message: `MetalLB to allocate ${ip} from pool ${pool} to ${namespace}/${name}`,
  });
}
