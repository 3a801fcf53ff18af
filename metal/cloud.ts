/**
 * The Equinix Metal cloud provider façade: what the framework calls, delegating to the Metal modules
 * (instances, load balancers, BGP, control plane) as they are wired in.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { CloudInitContext, CloudProvider, InstancesV2, LoadBalancer } from "../provider/cloud.ts";
import type { MetalConfig } from "./config.ts";

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

  constructor(options: MetalCloudOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.version = options.version;
  }

  /** Prepares the provider on the leader; nothing to do until the Metal modules are wired in. */
  initialize(_ctx: CloudInitContext): Promise<void> {
    return Promise.resolve();
  }

  /** Node lifecycle support; not wired in yet. */
  instancesV2(): InstancesV2 | undefined {
    return undefined;
  }

  /** Service load balancers; not wired in yet. */
  loadBalancer(): LoadBalancer | undefined {
    return undefined;
  }

  /** Always true: Metal resources are tagged with the cluster id, as upstream. */
  hasClusterID(): boolean {
    return true;
  }
}
