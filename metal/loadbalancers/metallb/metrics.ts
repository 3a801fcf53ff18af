/**
 * Metrics of the MetalLB implementations: how many objects they wrote, and how often a write failed.
 *
 * @module
 */
import type { Counter, Registry } from "prom-client";
import { getOrCreateCounter } from "../../../provider/mod.ts";

/** Counters shared by the ConfigMap and CR modes (label `mode`: `configmap` or `crd`). */
export interface MetalLBMetrics {
  /** Writes to MetalLB configuration objects, by mode, object kind and verb (create, patch, delete). */
  readonly writes: Counter<"mode" | "kind" | "verb">;
  /** Failed reconciliations, by mode and operation (add, update, remove, gc). */
  readonly failures: Counter<"mode" | "operation">;
}

/**
 * The MetalLB counters in `registry`, created on first use (two instances sharing a registry share the
 * counters). Without a registry the counters are kept but not exported.
 */
export function metalLBMetrics(registry?: Registry): MetalLBMetrics {
  return {
    writes: getOrCreateCounter(registry, {
      name: "ccm_metallb_object_writes_total",
      help: "Writes to MetalLB configuration objects by the load balancer implementation.",
      labelNames: ["mode", "kind", "verb"] as const,
    }),
    failures: getOrCreateCounter(registry, {
      name: "ccm_metallb_reconcile_failures_total",
      help: "Failed MetalLB reconciliations, by operation.",
      labelNames: ["mode", "operation"] as const,
    }),
  };
}
