/**
 * The typed, frozen result of parsing `ccm run` flags (see `flags.ts`). Durations are in milliseconds.
 *
 * @module
 */
import type { LogFormat } from "../util/log.ts";

/**
 * Canonical names of the framework controllers, as `--controllers` knows them. Permanent identifiers: they
 * appear in manifests, `/healthz/<name>` and metrics.
 */
export const CONTROLLER_NAMES = [
  "cloud-node-controller",
  "cloud-node-lifecycle-controller",
  "service-lb-controller",
  "node-route-controller",
] as const;

/** One of {@linkcode CONTROLLER_NAMES}. */
export type ControllerName = typeof CONTROLLER_NAMES[number];

/** Legacy short names accepted by `--controllers`, mapped to canonical names (upstream aliases). */
export const CONTROLLER_ALIASES: Readonly<Record<string, ControllerName>> = {
  "cloud-node": "cloud-node-controller",
  "cloud-node-lifecycle": "cloud-node-lifecycle-controller",
  "service": "service-lb-controller",
  "node-route": "node-route-controller",
  "route": "node-route-controller",
};

/** Options of `ccm run`; every field comes from one flag of the table in `flags.ts`. */
export interface RunOptions {
  /** `--cloud-provider`: registered provider to use. */
  readonly cloudProvider: string;
  /** `--cloud-config`: provider configuration file path; `""` means none. */
  readonly cloudConfig: string;
  /** `--kubeconfig`: kubeconfig path; `""` means in-cluster configuration. */
  readonly kubeconfig: string;
  /** `--master`: API server URL overriding the kubeconfig's; `""` means keep it. */
  readonly master: string;
  /** `--cluster-name`: passed to load balancer calls. */
  readonly clusterName: string;
  /** `--controllers`, resolved: the enabled controllers, canonical names, in {@linkcode CONTROLLER_NAMES} order. */
  readonly controllers: readonly ControllerName[];
  /** `--min-resync-period`: informer resync is random in [min, 2×min). */
  readonly minResyncPeriodMs: number;
  /** `--kube-api-qps`: client-side rate limit for Kubernetes API requests. */
  readonly kubeApiQps: number;
  /** `--kube-api-burst`: burst of that rate limit. */
  readonly kubeApiBurst: number;
  /** `--node-monitor-period`: node lifecycle controller period. */
  readonly nodeMonitorPeriodMs: number;
  /** `--node-status-update-frequency`: node address refresh period. */
  readonly nodeStatusUpdateFrequencyMs: number;
  /** `--concurrent-node-syncs`: node controller workers (≥ 1). */
  readonly concurrentNodeSyncs: number;
  /** `--concurrent-node-status-updates`: address refresh workers; 0 means use `concurrentNodeSyncs`. */
  readonly concurrentNodeStatusUpdates: number;
  /** `--concurrent-service-syncs`: service controller workers (≥ 1). */
  readonly concurrentServiceSyncs: number;
  /** `--leader-elect`: run leader election before starting controllers. */
  readonly leaderElect: boolean;
  /** `--leader-elect-lease-duration`. */
  readonly leaderElectLeaseDurationMs: number;
  /** `--leader-elect-renew-deadline` (< lease duration). */
  readonly leaderElectRenewDeadlineMs: number;
  /** `--leader-elect-retry-period`. */
  readonly leaderElectRetryPeriodMs: number;
  /** `--leader-elect-resource-lock`: only `leases` is supported. */
  readonly leaderElectResourceLock: "leases";
  /** `--leader-elect-resource-name`: Lease name. */
  readonly leaderElectResourceName: string;
  /** `--leader-elect-resource-namespace`: Lease namespace. */
  readonly leaderElectResourceNamespace: string;
  /** `--bind-address`: IP address the secure port listens on. */
  readonly bindAddress: string;
  /** `--secure-port`: HTTPS port for health and metrics; 0 disables serving. */
  readonly securePort: number;
  /** `--tls-cert-file`: serving certificate (PEM); `""` means a self-signed one in memory. */
  readonly tlsCertFile: string;
  /** `--tls-private-key-file`: key of `tlsCertFile`. */
  readonly tlsPrivateKeyFile: string;
  /** `-v`/`--v`: log verbosity. */
  readonly verbosity: number;
  /** `--logging-format`: `json` (klog shape) or `text`. */
  readonly loggingFormat: LogFormat;
  /** Flags the user set that ccm accepts for compatibility but ignores, as `--name`, each with the reason. */
  readonly ignoredFlags: readonly IgnoredFlag[];
}

/** A flag that was set but has no effect in ccm. */
export interface IgnoredFlag {
  /** `--name` as given. */
  readonly flag: string;
  /** Why it has no effect. */
  readonly reason: string;
}
