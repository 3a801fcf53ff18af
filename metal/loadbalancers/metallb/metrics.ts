/**
 * Metrics of the MetalLB implementations: how many objects they wrote, and how often a write failed.
 *
 * @module
 */
import { Counter, type Registry } from "prom-client";

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
    writes: counter(registry, {
      name: "ccm_metallb_object_writes_total",
      help: "Writes to MetalLB configuration objects by the load balancer implementation.",
      labelNames: ["mode", "kind", "verb"] as const,
    }),
    failures: counter(registry, {
      name: "ccm_metallb_reconcile_failures_total",
      help: "Failed MetalLB reconciliations, by operation.",
      labelNames: ["mode", "operation"] as const,
    }),
  };
}

function counter<L extends string>(
  registry: Registry | undefined,
  config: { name: string; help: string; labelNames: readonly L[] },
): Counter<L> {
  const existing = registry?.getSingleMetric(config.name);
  if (existing) return existing as Counter<L>;
  return new Counter<L>({ ...config, registers: registry ? [registry] : [] });
}
