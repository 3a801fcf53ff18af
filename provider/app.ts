/**
 * `ccm run`: start-up of the cloud controller manager — logging, provider and configuration — then the
 * controllers. Everything that can be wrong in the configuration fails here, before the cluster is touched.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { CloudProvider } from "./cloud.ts";
import { ConfigError } from "./errors.ts";
import { configureLogging } from "../util/log.ts";
import type { RunOptions } from "./options.ts";
import { runNativeMemoryTrimmer } from "../util/native_memory.ts";
import { getCloudProviderFactory } from "./registry.ts";
import { type FrameworkParts, runFramework } from "./framework.ts";
import { createKubeClients } from "./kube/client.ts";
import { createElector, createInformers } from "./framework_adapters.ts";
import { VERSION } from "./version.ts";

/** Dependencies of {@linkcode runController}, injectable for tests. */
export interface RunControllerDeps {
  /** Process environment. @default Deno.env.toObject() */
  env?: Record<string, string | undefined>;
  /** Reads the `--cloud-config` file. @default Deno.readTextFile */
  readTextFile?: (path: string) => Promise<string>;
  /** Receives log lines instead of stderr. */
  logWrite?: (line: string) => void;
  /** Aborted on SIGINT/SIGTERM; the controllers stop and the promise resolves. */
  signal?: AbortSignal;
  /** Starts the controllers; the seam the framework plugs into. @default {@linkcode startControllers} */
  startControllers?: typeof startControllers;
}

/**
 * Runs the cloud controller manager until `signal` aborts.
 *
 * @throws {Error} When the provider is unknown, its configuration is invalid or unreadable, or a controller
 *   fails fatally; the message says what to fix. Secrets are never part of it.
 */
export async function runController(options: RunOptions, deps: RunControllerDeps = {}): Promise<void> {
  await configureLogging({
    format: options.loggingFormat,
    verbosity: options.verbosity,
    write: deps.logWrite,
  });
  const logger = getLogger(["ccm", "app"]);
  const { ignoredFlags, ...effective } = options;
  logger.info("Starting cloud controller manager", { version: VERSION, options: effective });
  for (const { flag, reason } of ignoredFlags) {
    logger.info("Ignored flag {flag}: {reason}", { flag, reason });
  }
  const provider = await createProvider(options, deps);
  logger.info("Created cloud provider {provider}", { provider: provider.providerName });
  const trimStop = new AbortController();
  const trimming = runNativeMemoryTrimmer({ signal: trimStop.signal, logger });
  try {
    await (deps.startControllers ?? startControllers)({
      provider,
      options,
      signal: deps.signal ?? new AbortController().signal,
    });
  } finally {
    trimStop.abort();
    await trimming;
  }
}

/**
 * Looks up the `--cloud-provider` factory, reads `--cloud-config` and builds the provider (which validates its
 * configuration).
 *
 * @throws {Error} Listing the registered providers when the name is unknown.
 * @throws {ConfigError} When the file cannot be read or the provider rejects its configuration.
 */
export async function createProvider(
  options: RunOptions,
  deps: RunControllerDeps = {},
): Promise<CloudProvider> {
  const factory = getCloudProviderFactory(options.cloudProvider);
  const path = options.cloudConfig;
  let configFile: string | undefined;
  if (path !== "") {
    try {
      configFile = await (deps.readTextFile ?? Deno.readTextFile)(path);
    } catch (err) {
      throw new ConfigError(
        `Cannot read --cloud-config file '${path}': ${(err as Error).message}; ` +
          "check the path, and that the Secret holding it is mounted",
        { cause: err },
      );
    }
  }
  try {
    return await factory({
      configFile,
      configPath: path === "" ? undefined : path,
      env: deps.env ?? Deno.env.toObject(),
      logger: getLogger(["ccm", options.cloudProvider]),
      version: VERSION,
    });
  } catch (err) {
    const message = `Cannot start cloud provider '${options.cloudProvider}': ${(err as Error).message}`;
    throw err instanceof ConfigError
      ? new ConfigError(message, { cause: err })
      : new Error(message, { cause: err });
  }
}

/** What {@linkcode startControllers} gets. */
export interface StartControllersContext {
  provider: CloudProvider;
  options: RunOptions;
  /** Aborted on shutdown. */
  signal: AbortSignal;
  /** Replaces parts of the framework (tests). @default {@linkcode defaultFrameworkParts} */
  parts?: Partial<FrameworkParts>;
}

/**
 * Starts Kubernetes clients, serving, leader election, informers and the controllers; resolves after a
 * graceful stop when `signal` aborts, rejects when leadership is lost or start-up fails.
 */
export function startControllers(ctx: StartControllersContext): Promise<void> {
  return runFramework({
    provider: ctx.provider,
    options: ctx.options,
    signal: ctx.signal,
    parts: { ...defaultFrameworkParts(), ...ctx.parts },
  });
}

/** The real framework parts: rate-limited clients, shared informers and Lease-based leader election. */
export function defaultFrameworkParts(): FrameworkParts {
  return {
    kube: (options, role) =>
      createKubeClients({
        kubeconfig: options.kubeconfig,
        master: options.master,
        qps: options.kubeApiQps,
        burst: options.kubeApiBurst,
        userAgent: `ccm/${VERSION}/${role.name}`,
        stats: role.stats,
        beforeWrite: role.beforeWrite,
      }),
    informers: (kube, options) => createInformers(kube, options),
    elector: (kube, options, registry) => createElector(kube, options, registry),
  };
}
