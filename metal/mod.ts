/**
 * The Equinix Metal provider's public surface. Importing this module registers it as `equinixmetal`.
 *
 * @module
 */
import { registerCloudProvider } from "../provider/mod.ts";
import { createMetalCloud, PROVIDER_NAME } from "./cloud.ts";

export { createMetalCloud, MetalCloud, type MetalServices, PROVIDER_NAME } from "./cloud.ts";
export { loadMetalConfig, type MetalConfig } from "./config.ts";

registerCloudProvider(PROVIDER_NAME, createMetalCloud);
