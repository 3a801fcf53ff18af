/**
 * The Equinix Metal provider. Importing this module registers it as `equinixmetal`.
 *
 * @module
 */
import { type CloudProviderFactoryOptions, registerCloudProvider } from "../provider/mod.ts";
import { registerSecret } from "../util/log.ts";
import { MetalCloud, PROVIDER_NAME } from "./cloud.ts";
import { loadMetalConfig } from "./config.ts";

export { MetalCloud, type MetalServices, PROVIDER_NAME } from "./cloud.ts";
export { loadMetalConfig, type MetalConfig } from "./config.ts";

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

registerCloudProvider(PROVIDER_NAME, createMetalCloud);
