/**
 * The `ccm run` flag table: upstream cloud-controller-manager flag names, defaults and meanings, declared once
 * as data. `flags.ts` builds the parser and the help text from it.
 *
 * @module
 */
import type { RunOptions } from "./options.ts";

/** How a flag's value is written and parsed. */
export type FlagKind = "string" | "bool" | "int" | "float" | "duration" | "list";

/** Parsed value type of each {@linkcode FlagKind} (durations in milliseconds). */
export interface FlagValue {
  string: string;
  bool: boolean;
  int: number;
  float: number;
  duration: number;
  list: readonly string[];
}

/** Help sections, in display order. */
export const FLAG_GROUPS = [
  "Generic flags:",
  "Controller flags:",
  "Leader election flags:",
  "Secure serving flags:",
  "Logging flags:",
] as const;

/** One of {@linkcode FLAG_GROUPS}. */
export type FlagGroup = typeof FLAG_GROUPS[number];

type OptionKeyOf<K extends FlagKind> = {
  [P in keyof RunOptions]: RunOptions[P] extends FlagValue[K] ? P : never;
}[keyof RunOptions];

/** One flag. Exactly one of `option` (where the value goes) and `ignored` (why it has no effect) is set. */
export type FlagSpec = { [K in FlagKind]: FlagSpecOf<K> }[FlagKind];

interface FlagSpecOf<K extends FlagKind> {
  /** Long name without dashes, exactly as upstream spells it. */
  readonly name: string;
  /** One-letter alias without the dash. */
  readonly short?: string;
  readonly kind: K;
  /** Default in flag syntax (Go durations, `true`/`false`); parsed like a user value. */
  readonly default: string;
  readonly group: FlagGroup;
  readonly description: string;
  /** Allowed values, for string flags with a fixed set. */
  readonly choices?: readonly string[];
  /** The {@linkcode RunOptions} field receiving the value. */
  readonly option?: OptionKeyOf<K>;
  /** Set for flags accepted for compatibility only: why they have no effect. */
  readonly ignored?: string;
}

const NO_ROUTES = "Equinix Metal has no cloud routes, so the route controller never runs";
const NO_DELEGATED_AUTH =
  "the secure port does not delegate authentication or authorization to the API server";
const LOG_SINK = "logs are always written unbuffered to stderr";
const TLS_DEFAULTS = "TLS settings use the runtime's secure defaults";

function ignored(
  name: string,
  kind: FlagKind,
  defaultValue: string,
  group: FlagGroup,
  reason: string,
): FlagSpec {
  return {
    name,
    kind,
    default: defaultValue,
    group,
    description: "Accepted for compatibility",
    ignored: reason,
  };
}

/** Every flag `ccm run` accepts. */
export const RUN_FLAGS: readonly FlagSpec[] = [
  // Generic
  {
    name: "cloud-provider",
    kind: "string",
    default: "equinixmetal",
    group: "Generic flags:",
    description: "The provider for cloud services",
    option: "cloudProvider",
  },
  {
    name: "cloud-config",
    kind: "string",
    default: "",
    group: "Generic flags:",
    description: "The path to the cloud provider configuration file; empty for no configuration file",
    option: "cloudConfig",
  },
  {
    name: "kubeconfig",
    kind: "string",
    default: "",
    group: "Generic flags:",
    description: "Path to a kubeconfig file with authorization and API server location; empty for in-cluster",
    option: "kubeconfig",
  },
  {
    name: "master",
    kind: "string",
    default: "",
    group: "Generic flags:",
    description: "The address of the Kubernetes API server (overrides any value in kubeconfig)",
    option: "master",
  },
  {
    name: "cluster-name",
    kind: "string",
    default: "kubernetes",
    group: "Generic flags:",
    description: "The instance prefix for the cluster",
    option: "clusterName",
  },
  {
    name: "controllers",
    kind: "list",
    default: "*",
    group: "Generic flags:",
    description: "Controllers to enable: '*' enables all on-by-default controllers, 'foo' enables 'foo', " +
      "'-foo' disables 'foo'. Controllers: cloud-node-controller (cloud-node), " +
      "cloud-node-lifecycle-controller (cloud-node-lifecycle), service-lb-controller (service), " +
      "node-route-controller (route)",
    option: "controllers",
  },
  {
    name: "min-resync-period",
    kind: "duration",
    default: "12h0m0s",
    group: "Generic flags:",
    description:
      "The resync period in reflectors is random between min-resync-period and 2*min-resync-period",
    option: "minResyncPeriodMs",
  },
  {
    name: "kube-api-qps",
    kind: "float",
    default: "20",
    group: "Generic flags:",
    description: "QPS to use while talking with the Kubernetes API server",
    option: "kubeApiQps",
  },
  {
    name: "kube-api-burst",
    kind: "int",
    default: "30",
    group: "Generic flags:",
    description: "Burst to use while talking with the Kubernetes API server",
    option: "kubeApiBurst",
  },
  ignored(
    "kube-api-content-type",
    "string",
    "application/vnd.kubernetes.protobuf",
    "Generic flags:",
    "requests use JSON",
  ),
  ignored(
    "use-service-account-credentials",
    "bool",
    "false",
    "Generic flags:",
    "all controllers share ccm's credentials",
  ),
  ignored(
    "allow-untagged-cloud",
    "bool",
    "false",
    "Generic flags:",
    "deprecated upstream and without effect",
  ),
  ignored("external-cloud-volume-plugin", "string", "", "Generic flags:", "ccm runs no volume controllers"),
  ignored("controller-start-interval", "duration", "0s", "Generic flags:", "controllers start together"),
  ignored("enable-leader-migration", "bool", "false", "Generic flags:", "leader migration is not supported"),
  ignored("leader-migration-config", "string", "", "Generic flags:", "leader migration is not supported"),
  ignored("profiling", "bool", "true", "Generic flags:", "profiling endpoints are not served"),
  ignored("contention-profiling", "bool", "false", "Generic flags:", "profiling endpoints are not served"),
  ignored("feature-gates", "string", "", "Generic flags:", "ccm has no feature gates"),
  ignored("webhooks", "list", "", "Generic flags:", "ccm serves no webhooks"),
  ignored("webhook-secure-port", "int", "10260", "Generic flags:", "ccm serves no webhooks"),
  ignored("webhook-bind-address", "string", "0.0.0.0", "Generic flags:", "ccm serves no webhooks"),
  ignored("webhook-cert-dir", "string", "", "Generic flags:", "ccm serves no webhooks"),
  ignored("webhook-tls-cert-file", "string", "", "Generic flags:", "ccm serves no webhooks"),
  ignored("webhook-tls-private-key-file", "string", "", "Generic flags:", "ccm serves no webhooks"),

  // Controllers
  {
    name: "node-monitor-period",
    kind: "duration",
    default: "5s",
    group: "Controller flags:",
    description: "The period for syncing NodeStatus in the cloud node lifecycle controller",
    option: "nodeMonitorPeriodMs",
  },
  {
    name: "node-status-update-frequency",
    kind: "duration",
    default: "5m0s",
    group: "Controller flags:",
    description: "How often the cloud node controller refreshes node addresses",
    option: "nodeStatusUpdateFrequencyMs",
  },
  {
    name: "concurrent-node-syncs",
    kind: "int",
    default: "1",
    group: "Controller flags:",
    description: "Number of workers concurrently synchronizing nodes",
    option: "concurrentNodeSyncs",
  },
  {
    name: "concurrent-node-status-updates",
    kind: "int",
    default: "0",
    group: "Controller flags:",
    description: "Number of workers concurrently refreshing node addresses; 0 uses --concurrent-node-syncs",
    option: "concurrentNodeStatusUpdates",
  },
  {
    name: "concurrent-service-syncs",
    kind: "int",
    default: "1",
    group: "Controller flags:",
    description:
      "Number of services allowed to sync concurrently with the cloud provider (their Kubernetes writes overlap)",
    option: "concurrentServiceSyncs",
  },
  ignored("configure-cloud-routes", "bool", "true", "Controller flags:", NO_ROUTES),
  ignored("route-reconciliation-period", "duration", "10s", "Controller flags:", NO_ROUTES),
  ignored("allocate-node-cidrs", "bool", "false", "Controller flags:", NO_ROUTES),
  ignored("cluster-cidr", "string", "", "Controller flags:", NO_ROUTES),
  ignored("cidr-allocator-type", "string", "RangeAllocator", "Controller flags:", NO_ROUTES),

  // Leader election
  {
    name: "leader-elect",
    kind: "bool",
    default: "true",
    group: "Leader election flags:",
    description: "Start a leader election client and gain leadership before running controllers",
    option: "leaderElect",
  },
  {
    name: "leader-elect-lease-duration",
    kind: "duration",
    default: "15s",
    group: "Leader election flags:",
    description: "How long non-leaders wait after an observed renewal before trying to take over the lease",
    option: "leaderElectLeaseDurationMs",
  },
  {
    name: "leader-elect-renew-deadline",
    kind: "duration",
    default: "10s",
    group: "Leader election flags:",
    description: "How long the leader keeps trying to renew before it stops leading; less than the lease",
    option: "leaderElectRenewDeadlineMs",
  },
  {
    name: "leader-elect-retry-period",
    kind: "duration",
    default: "2s",
    group: "Leader election flags:",
    description: "How long clients wait between attempts to acquire or renew leadership",
    option: "leaderElectRetryPeriodMs",
  },
  {
    name: "leader-elect-resource-lock",
    kind: "string",
    default: "leases",
    group: "Leader election flags:",
    description: "The type of resource object used for locking",
    choices: ["leases"],
    option: "leaderElectResourceLock",
  },
  {
    name: "leader-elect-resource-name",
    kind: "string",
    default: "cloud-controller-manager",
    group: "Leader election flags:",
    description: "The name of the Lease used for locking",
    option: "leaderElectResourceName",
  },
  {
    name: "leader-elect-resource-namespace",
    kind: "string",
    default: "kube-system",
    group: "Leader election flags:",
    description: "The namespace of the Lease used for locking",
    option: "leaderElectResourceNamespace",
  },

  // Secure serving
  {
    name: "bind-address",
    kind: "string",
    default: "0.0.0.0",
    group: "Secure serving flags:",
    description: "The IP address to listen on for --secure-port",
    option: "bindAddress",
  },
  {
    name: "secure-port",
    kind: "int",
    default: "10258",
    group: "Secure serving flags:",
    description: "The port to serve HTTPS with authentication and authorization on; 0 disables it",
    option: "securePort",
  },
  {
    name: "tls-cert-file",
    kind: "string",
    default: "",
    group: "Secure serving flags:",
    description: "File with the default x509 certificate for HTTPS; empty for a self-signed one in memory",
    option: "tlsCertFile",
  },
  {
    name: "tls-private-key-file",
    kind: "string",
    default: "",
    group: "Secure serving flags:",
    description: "File with the x509 private key matching --tls-cert-file",
    option: "tlsPrivateKeyFile",
  },
  ignored("cert-dir", "string", "", "Secure serving flags:", "self-signed certificates are kept in memory"),
  ignored("tls-cipher-suites", "list", "", "Secure serving flags:", TLS_DEFAULTS),
  ignored("tls-min-version", "string", "", "Secure serving flags:", TLS_DEFAULTS),
  ignored("tls-sni-cert-key", "list", "", "Secure serving flags:", TLS_DEFAULTS),
  ignored("http2-max-streams-per-connection", "int", "0", "Secure serving flags:", TLS_DEFAULTS),
  ignored("permit-port-sharing", "bool", "false", "Secure serving flags:", "the port is not shared"),
  ignored("permit-address-sharing", "bool", "false", "Secure serving flags:", "the address is not shared"),
  ...[
    ["authentication-kubeconfig", "string", ""],
    ["authentication-skip-lookup", "bool", "false"],
    ["authentication-token-webhook-cache-ttl", "duration", "10s"],
    ["authentication-tolerate-lookup-failure", "bool", "false"],
    ["client-ca-file", "string", ""],
    ["requestheader-allowed-names", "list", ""],
    ["requestheader-client-ca-file", "string", ""],
    ["requestheader-extra-headers-prefix", "list", "x-remote-extra-"],
    ["requestheader-group-headers", "list", "x-remote-group"],
    ["requestheader-username-headers", "list", "x-remote-user"],
    ["requestheader-uid-headers", "list", ""],
    ["authorization-kubeconfig", "string", ""],
    ["authorization-always-allow-paths", "list", "/healthz,/readyz,/livez"],
    ["authorization-webhook-cache-authorized-ttl", "duration", "10s"],
    ["authorization-webhook-cache-unauthorized-ttl", "duration", "10s"],
  ].map(([name, kind, def]) =>
    ignored(name as string, kind as FlagKind, def as string, "Secure serving flags:", NO_DELEGATED_AUTH)
  ),

  // Logging
  {
    name: "v",
    short: "v",
    kind: "int",
    default: "0",
    group: "Logging flags:",
    description: "Log verbosity: 2 normal operations, 4 debug, 5 every call",
    option: "verbosity",
  },
  {
    name: "logging-format",
    kind: "string",
    default: "json",
    group: "Logging flags:",
    description: "Log format: 'json' (klog JSON lines) or 'text'",
    choices: ["json", "text"],
    option: "loggingFormat",
  },
  ignored("vmodule", "string", "", "Logging flags:", "per-file verbosity is not supported; use -v"),
  ignored("log-flush-frequency", "duration", "5s", "Logging flags:", LOG_SINK),
  ignored("log-json-split-stream", "bool", "false", "Logging flags:", LOG_SINK),
  ignored("log-json-info-buffer-size", "string", "0", "Logging flags:", LOG_SINK),
  ignored("log-text-split-stream", "bool", "false", "Logging flags:", LOG_SINK),
  ignored("log-text-info-buffer-size", "string", "0", "Logging flags:", LOG_SINK),
];
