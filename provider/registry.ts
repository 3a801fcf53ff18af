/**
 * The cloud provider registry: providers register a factory under their name when their module is imported,
 * and `ccm run` looks one up by `--cloud-provider`.
 *
 * @module
 */
import type { CloudProviderFactory } from "./cloud.ts";

const factories = new Map<string, CloudProviderFactory>();

/**
 * Registers a provider factory under `name`.
 *
 * @throws {Error} When a provider with that name is already registered.
 */
export function registerCloudProvider(name: string, factory: CloudProviderFactory): void {
  if (factories.has(name)) {
    throw new Error(
      `Cannot register cloud provider '${name}': a provider with that name is already registered`,
    );
  }
  factories.set(name, factory);
}

/** Names of all registered providers, sorted. */
export function registeredCloudProviders(): string[] {
  return [...factories.keys()].sort();
}

/**
 * Returns the factory registered under `name`.
 *
 * @throws {Error} Naming the registered providers when `name` is unknown.
 */
export function getCloudProviderFactory(name: string): CloudProviderFactory {
  const factory = factories.get(name);
  if (factory === undefined) {
    const known = registeredCloudProviders().map((n) => `'${n}'`).join(", ") || "none";
    throw new Error(
      `Cannot use cloud provider '${name}': it is not registered; registered providers: ${known}`,
    );
  }
  return factory;
}

/** Removes a registration; for tests only. */
export function unregisterCloudProvider(name: string): void {
  factories.delete(name);
}
