/**
 * The cloud provider contract: what a provider (such as `metal/`) implements and the framework's controllers
 * call. Our counterpart of k8s.io/cloud-provider's `cloud.go`, reduced to the parts this CCM uses.
 *
 * @module
 */
import type { V1LoadBalancerStatus, V1Node, V1NodeAddress, V1Service } from "@kubernetes/client-node";
import type { Logger } from "@logtape/logtape";
import type { Registry } from "prom-client";
import type { EventRecorder } from "./events.ts";
import type { InformerFactory } from "./kube/informer_factory.ts";
import type { KubeClients } from "./kube/client.ts";

/** What the framework hands a provider when it starts, after this replica won leader election. */
export interface CloudInitContext {
  /** Rate-limited Kubernetes API clients shared by the provider and the informers. */
  kube: KubeClients;
  /**
   * A client of its own (own `--kube-api-qps` budget) for one of the provider's controllers, so its bulk
   * writes (BGP annotations on every joining node) never hold up the others'; absent means use `kube`.
   */
  kubeFor?: (controller: string) => KubeClients;
  /** Shared informers (one cache per resource) that controllers and providers read from. */
  informers: InformerFactory;
  /** Records Kubernetes Events; use {@linkcode EventRecorder.warn} for Warning Event + log line. */
  recorder: EventRecorder;
  /** Registry the provider adds its own metrics to; served on `/metrics`. */
  metrics: Registry;
  /** Aborted when this replica stops leading or the process shuts down. */
  signal: AbortSignal;
  /** Logger for the provider, category `["ccm", <provider name>]`. */
  logger: Logger;
  /**
   * Leader-election fencing: call right before every write to the cloud; it throws when this replica may no
   * longer hold the lease (after a pause past the renew deadline), so a deposed leader never acts. Writes
   * through {@linkcode kube} are fenced already.
   */
  fence?: () => void;
}

/** Signals handed to {@linkcode Controller.run}. */
export interface ControllerRunContext {
  /** Aborted to stop: take no new work, finish the work in hand, then resolve. */
  signal: AbortSignal;
  /** Passed to provider calls; aborted only when in-flight work must be abandoned (shutdown timeout). */
  syncSignal: AbortSignal;
}

/**
 * A controller loop that runs only on the leader: the framework's (cloud-node, service-lb...) and a provider's
 * own (BGP, control-plane EIP). A framework controller that rejects stops the process; a provider's is logged
 * and restarted with backoff (1 s → 60 s).
 */
export interface Controller {
  /** Stable, canonical name (`cloud-node-controller`, ...): logs, metrics and `/healthz/<name>`. */
  readonly name: string;
  /** Runs until `ctx.signal` aborts and the work in hand is done. */
  run(ctx: ControllerRunContext): Promise<void>;
}

/** A named readiness/health probe contributed by the provider (for example "Metal API reachable"). */
export interface HealthCheck {
  readonly name: string;
  /** Resolves when healthy; rejects with an error that says what is wrong. */
  check(signal: AbortSignal): Promise<void>;
}

/** The provider as a whole; our counterpart of `cloudprovider.Interface`. */
export interface CloudProvider {
  /** Registered provider name, for example `equinixmetal`. Never change it: clusters store it. */
  readonly providerName: string;
  /**
   * Builds what the provider offers once leadership is acquired (upstream `Initialize`), the only way to get
   * it. A rejection is fatal: the process logs it and exits non-zero.
   */
  initialize(ctx: CloudInitContext): Promise<CloudServices>;
  /** Whether the provider tags its resources with a cluster id. */
  hasClusterID(): boolean;
}

/** What an initialized provider offers the framework; an absent part is unsupported. */
export interface CloudServices {
  /** Node lifecycle support; without it the cloud-node controllers are not started. */
  instances?: InstancesV2;
  /** Service load balancers; without it the service controller is not started. */
  loadBalancer?: LoadBalancer;
  /** The provider's own loops, started on the leader beside the framework's controllers. */
  controllers?: readonly Controller[];
  /** Extra checks served under `/readyz`. */
  healthChecks?: readonly HealthCheck[];
}

/** Metadata of the machine behind a Node; upstream `cloudprovider.InstanceMetadata`. */
export interface InstanceMetadata {
  /** `<provider>://<id>`; written to `node.spec.providerID` when the node has none. */
  providerID: string;
  /** Written to `node.kubernetes.io/instance-type` (and the beta key) when non-empty. */
  instanceType: string;
  /** Addresses in priority order; the framework merges them with the kubelet's provided node IP. */
  nodeAddresses: V1NodeAddress[];
  /** Written to `topology.kubernetes.io/zone` (and the beta key) when non-empty. */
  zone: string;
  /** Written to `topology.kubernetes.io/region` (and the beta key) when non-empty. */
  region: string;
  /** Extra labels the provider wants on the Node. */
  additionalLabels?: Record<string, string>;
}

/**
 * Node lifecycle support; upstream `cloudprovider.InstancesV2`.
 *
 * Contract for safety: `instanceExists` resolves `false` only when the provider is certain the machine is gone
 * (a definite "not found" from a healthy, authenticated API). Any doubt — auth errors, 5xx, timeouts, rate
 * limits — must reject, so that the lifecycle controller keeps the Node. A Node that belongs to another provider
 * makes every method reject with {@linkcode NodeNotManagedError} (see `errors.ts`), which controllers skip
 * quietly.
 */
export interface InstancesV2 {
  instanceExists(node: V1Node, signal?: AbortSignal): Promise<boolean>;
  instanceShutdown(node: V1Node, signal?: AbortSignal): Promise<boolean>;
  instanceMetadata(node: V1Node, signal?: AbortSignal): Promise<InstanceMetadata>;
}

/** Result of {@linkcode LoadBalancer.getLoadBalancer}. */
export interface LoadBalancerLookup {
  status?: V1LoadBalancerStatus;
  exists: boolean;
}

/**
 * Service load balancers; upstream `cloudprovider.LoadBalancer`. `nodes` are the eligible nodes the service
 * controller computed (not being deleted, not excluded by label).
 */
export interface LoadBalancer {
  /**
   * `spec.loadBalancerClass` values this provider handles besides "unset". Services with any other class are
   * ignored by the service controller.
   */
  readonly loadBalancerClasses?: readonly string[];
  /**
   * Whether the provider itself finds and releases what it made for Services that no longer exist (an orphan
   * sweep), even when the Service never carried the cleanup finalizer. Then the service controller adds the
   * finalizer in the same write as the first status instead of in a write of its own before ensuring, one
   * write and one round trip less per new Service. Not in upstream's interface.
   */
  readonly releasesOrphans?: boolean;
  getLoadBalancer(clusterName: string, service: V1Service, signal?: AbortSignal): Promise<LoadBalancerLookup>;
  getLoadBalancerName(clusterName: string, service: V1Service): string;
  ensureLoadBalancer(
    clusterName: string,
    service: V1Service,
    nodes: V1Node[],
    signal?: AbortSignal,
  ): Promise<V1LoadBalancerStatus>;
  /**
   * {@linkcode ensureLoadBalancer} that may answer before the provider's own write to the Service (an
   * announcer's annotations) has landed: `written` settles when it has, so the service controller writes the
   * status meanwhile — one round trip less per Service on a busy API server. Not in upstream's interface.
   */
  ensureLoadBalancerConcurrently?(
    clusterName: string,
    service: V1Service,
    nodes: V1Node[],
    signal?: AbortSignal,
  ): Promise<EnsuredLoadBalancer>;
  updateLoadBalancer(
    clusterName: string,
    service: V1Service,
    nodes: V1Node[],
    signal?: AbortSignal,
  ): Promise<void>;
  ensureLoadBalancerDeleted(clusterName: string, service: V1Service, signal?: AbortSignal): Promise<void>;
  /**
   * Asked after each successful ensure: milliseconds until `service` should be synced again although nothing
   * changed (for example, to look for the late effect of a cloud request whose outcome was unknown), or
   * `undefined` for no extra sync. Not in upstream's interface.
   */
  recheckAfterMs?(service: V1Service): number | undefined;
}

/** What {@linkcode LoadBalancer.ensureLoadBalancerConcurrently} answers. */
export interface EnsuredLoadBalancer {
  status: V1LoadBalancerStatus;
  /** Settles when the provider's own write to the Service has landed (rejects when it failed). */
  written: Promise<void>;
}

/** Builds a provider from its configuration file contents (`--cloud-config`, `undefined` when not given). */
export type CloudProviderFactory = (
  config: CloudProviderFactoryOptions,
) => Promise<CloudProvider> | CloudProvider;

/** Input to a {@linkcode CloudProviderFactory}. */
export interface CloudProviderFactoryOptions {
  /** Contents of the `--cloud-config` file, or `undefined` when the flag is empty. */
  configFile?: string;
  /** Path of the `--cloud-config` file, for error messages. */
  configPath?: string;
  /** Process environment (injected so tests need not mutate the real one). */
  env: Record<string, string | undefined>;
  /** Root logger for the provider. */
  logger: Logger;
  /** Version of this build, for user agents. */
  version: string;
}
