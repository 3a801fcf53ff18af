/**
 * Metrics of the control-plane endpoint managers, on the registry the framework serves on `/metrics`.
 *
 * @module
 */
import type { Counter, Gauge, Histogram, Registry } from "prom-client";
import { getOrCreateCounter, getOrCreateGauge, getOrCreateHistogram } from "../../provider/mod.ts";

/** Metric names, exported for dashboards and tests. */
export const CONTROL_PLANE_METRIC_NAMES = Object.freeze({
  eipHolder: "ccm_equinixmetal_control_plane_eip_holder",
  failovers: "ccm_equinixmetal_control_plane_eip_failovers_total",
  healthChecks: "ccm_equinixmetal_control_plane_health_checks_total",
  healthCheckDuration: "ccm_equinixmetal_control_plane_health_check_duration_seconds",
  healthyNodes: "ccm_equinixmetal_control_plane_healthy_nodes",
  lbOrigins: "ccm_equinixmetal_control_plane_load_balancer_origins",
});

/** The metrics. */
export interface ControlPlaneMetrics {
  /** 1 for the node holding the EIP (one series only; absent while unassigned). */
  readonly eipHolder: Gauge<"node" | "address">;
  /** EIP moves made by this CCM, by cause (`unassigned`, `unhealthy`, `unschedulable`, `deleting`, ...). */
  readonly failovers: Counter<"cause">;
  /** Health checks by node, path (`host` or `eip`) and result (`success`, `failure`). */
  readonly healthChecks: Counter<"node" | "path" | "result">;
  readonly healthCheckDuration: Histogram<"path" | "result">;
  /** Control-plane nodes whose API server answered the last check. */
  readonly healthyNodes: Gauge;
  /** Origins in the control-plane load balancer's pool. */
  readonly lbOrigins: Gauge;
}

/** The metrics in `registry`, created on first use (unregistered when no registry is given). */
export function controlPlaneMetrics(registry?: Registry): ControlPlaneMetrics {
  const n = CONTROL_PLANE_METRIC_NAMES;
  return {
    eipHolder: getOrCreateGauge(registry, {
      name: n.eipHolder,
      help: "1 for the control-plane node holding the control-plane elastic IP",
      labelNames: ["node", "address"] as const,
    }),
    failovers: getOrCreateCounter(registry, {
      name: n.failovers,
      help: "Assignments of the control-plane elastic IP to a new holder, by cause",
      labelNames: ["cause"] as const,
    }),
    healthChecks: getOrCreateCounter(registry, {
      name: n.healthChecks,
      help: "API server health checks of control-plane nodes, by node, path (host or eip) and result",
      labelNames: ["node", "path", "result"] as const,
    }),
    healthCheckDuration: getOrCreateHistogram(registry, {
      name: n.healthCheckDuration,
      help: "Duration of API server health checks, by path and result",
      labelNames: ["path", "result"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
    healthyNodes: getOrCreateGauge(registry, {
      name: n.healthyNodes,
      help: "Control-plane nodes whose API server passed its last health check",
    }),
    lbOrigins: getOrCreateGauge(registry, {
      name: n.lbOrigins,
      help: "Origins in the pool of the control-plane load balancer (METAL_LOAD_BALANCER_ID)",
    }),
  };
}
