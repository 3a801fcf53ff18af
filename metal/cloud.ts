/**
 * The Equinix Metal cloud provider façade: what the framework calls, delegating to the Metal modules
 * (instances, load balancers, BGP, control plane) as they are wired in.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type {
  CloudInitContext,
  CloudProvider,
  InstancesV2,
  LoadBalancer,
  ProviderController,
} from "../provider/mod.ts";
import type { Clock } from "../util/clock.ts";
import { TokenBucket } from "../util/token_bucket.ts";
import type { MetalClient } from "./api/client.ts";
import { HttpMetalClient } from "./api/http_client.ts";
import { MetalApiMetrics } from "./api/metrics.ts";
import type { MetalConfig } from "./config.ts";
import { type ControlPlaneEndpointController, createControlPlaneController } from "./control_plane/mod.ts";
import type { HealthProber } from "./control_plane/health_probe.ts";
import { DeviceCache } from "./device_cache.ts";
import { MetalInstances } from "./instances.ts";
import { type LoadBalancerSetup, setupLoadBalancers } from "./loadbalancers/setup.ts";

/**
 * Registered provider name. Never change it: clusters store it in `--cloud-provider` and providerIDs
 * (`equinixmetal://<device-id>`).
 */
export const PROVIDER_NAME = "equinixmetal";

/** Input of {@linkcode MetalCloud}. */
export interface MetalCloudOptions {
  /** Validated configuration. */
  config: MetalConfig;
  /** Logger of the provider, category `["ccm", "equinixmetal"]`. */
  logger: Logger;
  /** Version of this build, for the API user agent. */
  version: string;
  /** Replaces `fetch` for Metal API calls; for tests. */
  fetch?: (request: Request) => Response | Promise<Response>;
  /** Replaces the control-plane API server health check; for tests and the local demo. */
  controlPlaneProber?: HealthProber;
  /** Time source of the device cache; for tests. */
  clock?: Clock;
}

/** Equinix Metal as a {@linkcode CloudProvider}; upstream's `cloud` type. */
export class MetalCloud implements CloudProvider {
  readonly providerName = PROVIDER_NAME;
  /** The configuration this provider was built with. */
  readonly config: MetalConfig;
  /** The provider's logger. */
  readonly logger: Logger;
  /** Version of this build. */
  readonly version: string;
  #fetch: MetalCloudOptions["fetch"];
  #controlPlaneProber: HealthProber | undefined;
  #clock: Clock | undefined;
  #client: MetalClient | undefined;
  #instances: MetalInstances | undefined;
  #loadBalancers: LoadBalancerSetup | undefined;
  #controlPlane: ControlPlaneEndpointController | undefined;

  constructor(options: MetalCloudOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.version = options.version;
    this.#fetch = options.fetch;
    this.#controlPlaneProber = options.controlPlaneProber;
    this.#clock = options.clock;
  }

  /** The Metal API client shared by every part of the provider; `undefined` before {@linkcode initialize}. */
  get client(): MetalClient | undefined {
    return this.#client;
  }

  /**
   * Prepares the provider on the leader: one Metal API client (one rate limiter, metrics on the served
   * registry) and one device cache shared by everything, the instances implementation, and the Service load
   * balancers with BGP (see `loadbalancers/setup.ts`).
   *
   * @throws {Error} When load balancers are configured and the cluster id cannot be read or BGP enabled.
   */
  async initialize(ctx: CloudInitContext): Promise<void> {
    const client = new HttpMetalClient({
      apiKey: this.config.apiKey,
      baseUrl: this.config.baseUrl,
      version: this.version,
      rateLimiter: new TokenBucket({ qps: this.config.apiRateLimit, burst: this.config.apiRateBurst }),
      timeoutMs: this.config.apiTimeout * 1000,
      observer: new MetalApiMetrics(ctx.metrics),
      fetch: this.#fetch,
      beforeWrite: ctx.fence,
    });
    const devices = new DeviceCache({
      client,
      projectId: this.config.projectId,
      ttlMs: this.config.deviceCacheTtl * 1000,
      clock: this.#clock,
      metrics: ctx.metrics,
    });
    this.#client = client;
    this.#instances = new MetalInstances({
      devices,
      projectId: this.config.projectId,
      recorder: ctx.recorder,
      logger: getLogger([...ctx.logger.category, "instances"]),
    });
    // LBaaS and token exchange calls: fenced like the Metal API's writes.
    const lbaasFetch = async (request: Request) => {
      if (request.method !== "GET") ctx.fence?.();
      return await (this.#fetch ?? fetch)(request);
    };
    this.#loadBalancers = await setupLoadBalancers({
      ctx,
      config: this.config,
      client,
      devices,
      version: this.version,
      fetch: lbaasFetch,
    });
    this.#controlPlane = createControlPlaneController({
      config: this.config,
      metal: client,
      ctx,
      userAgent: `cloud-provider-equinix-metal/${this.version}`,
      fetch: lbaasFetch,
      prober: this.#controlPlaneProber,
    });
  }

  /** Node lifecycle support; available once {@linkcode initialize} has run (the framework calls it first). */
  instancesV2(): InstancesV2 | undefined {
    return this.#instances;
  }

  /**
   * Service load balancers; `undefined` when `METAL_LOAD_BALANCER` is empty (the service controller then does
   * not start) and before {@linkcode initialize} (the framework calls it first).
   */
  loadBalancer(): LoadBalancer | undefined {
    return this.#loadBalancers?.loadBalancer;
  }

  /**
   * Provider loops for the leader: the BGP node controller, the load balancer janitor and the control-plane
   * endpoint (`METAL_EIP_TAG` / `METAL_LOAD_BALANCER_ID`).
   */
  controllers(): ProviderController[] {
    return [...this.#loadBalancers?.controllers ?? [], ...this.#controlPlane ? [this.#controlPlane] : []];
  }

  /** Always true: Metal resources are tagged with the cluster id, as upstream. */
  hasClusterID(): boolean {
    return true;
  }
}
