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
  CloudProviderFactoryOptions,
  CloudServices,
  Controller,
} from "../provider/mod.ts";
import { registerSecret } from "../util/log.ts";
import type { Clock } from "../util/clock.ts";
import { TokenBucket } from "../util/token_bucket.ts";
import type { MetalClient } from "./api/client.ts";
import { HttpMetalClient } from "./api/http_client.ts";
import { MetalApiMetrics } from "./api/metrics.ts";
import { loadMetalConfig, type MetalConfig } from "./config.ts";
import { createControlPlaneController } from "./control_plane/mod.ts";
import type { HealthProber } from "./control_plane/health_probe.ts";
import { DeviceCache } from "./device_cache.ts";
import { MetalInstances } from "./instances.ts";
import type { MetalLoadBalancer } from "./loadbalancers/service_lb.ts";
import { setupLoadBalancers } from "./loadbalancers/setup.ts";

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

/** What {@linkcode MetalCloud.initialize} built: the framework's {@linkcode CloudServices} and the API client. */
export interface MetalServices extends CloudServices {
  /** The Metal API client shared by every part of the provider. */
  client: MetalClient;
  instances: MetalInstances;
  /** `undefined` when `METAL_LOAD_BALANCER` is empty (the service controller then does not start). */
  loadBalancer?: MetalLoadBalancer;
  /**
   * The leader's loops: the BGP node controller, the load balancer janitor and the control-plane endpoint
   * (`METAL_EIP_TAG` / `METAL_LOAD_BALANCER_ID`), those that are configured.
   */
  controllers: Controller[];
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

  constructor(options: MetalCloudOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.version = options.version;
    this.#fetch = options.fetch;
    this.#controlPlaneProber = options.controlPlaneProber;
    this.#clock = options.clock;
  }

  /**
   * Builds the provider's parts on the leader: one Metal API client (one rate limiter, metrics on the served
   * registry) and one device cache shared by everything, the instances implementation, and the Service load
   * balancers with BGP (see `loadbalancers/setup.ts`).
   *
   * @throws {Error} When load balancers are configured and the cluster id cannot be read or BGP enabled.
   */
  async initialize(ctx: CloudInitContext): Promise<MetalServices> {
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
    const instances = new MetalInstances({
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
    const loadBalancers = await setupLoadBalancers({
      ctx,
      config: this.config,
      client,
      devices,
      version: this.version,
      fetch: lbaasFetch,
    });
    const controlPlane = createControlPlaneController({
      config: this.config,
      metal: client,
      ctx,
      userAgent: `cloud-provider-equinix-metal/${this.version}`,
      fetch: lbaasFetch,
      prober: this.#controlPlaneProber,
    });
    return {
      client,
      instances,
      loadBalancer: loadBalancers?.loadBalancer,
      controllers: [...loadBalancers?.controllers ?? [], ...controlPlane ? [controlPlane] : []],
    };
  }

  /** Always true: Metal resources are tagged with the cluster id, as upstream. */
  hasClusterID(): boolean {
    return true;
  }
}

/**
 * Builds the provider: loads and validates the configuration (before anything touches the cluster), makes
 * sure its secrets can never be logged, and logs the effective configuration once, masked.
 *
 * @throws {ConfigError} When the configuration is invalid; the message names each setting and its fix.
 */
export function createMetalCloud(options: CloudProviderFactoryOptions): MetalCloud {
  const { env, logger } = options;
  // Mask the raw values first: even a failed load must not let them reach a line.
  registerSecret(env.METAL_API_KEY?.trim());
  registerSecret(env.METAL_BGP_PASS?.trim());
  const config = loadMetalConfig({ env, configFile: options.configFile, configPath: options.configPath });
  registerSecret(config.apiKey);
  registerSecret(config.bgpPass);
  logger.info("Loaded Equinix Metal configuration", { config: config.redacted() });
  for (const key of config.unknownKeys) {
    logger.warn("Ignored unknown key {key} in the cloud config file", { key, path: options.configPath });
  }
  return new MetalCloud({ config, logger, version: options.version });
}
