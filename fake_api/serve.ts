/**
 * Serves the simulator on a socket with `Deno.serve`, and computes the `METAL_*` environment that points
 * `ccm run` (or any Metal client) at it.
 *
 * @example A server on a free port for an integration test
 * ```ts
 * const server = await serveFakeApi({ port: 0, seed: testSeed() });
 * // … use server.env.METAL_BASE_URL …
 * await server.shutdown();
 * ```
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { createFakeApi, type FakeApi, type FakeApiOptions, PATHS } from "./app.ts";

/** Options of {@linkcode serveFakeApi}. */
export interface ServeOptions extends FakeApiOptions {
  /** Interface to listen on. @default {"127.0.0.1"} */
  hostname?: string;
  /** Port; 0 picks a free one. @default {8080} */
  port?: number;
}

/** A running server. */
export interface FakeApiServer {
  api: FakeApi;
  /** `http://host:port` (no trailing slash). */
  url: string;
  /** `METAL_*` variables for this server; API key and project only when started without a seed. */
  env: Record<string, string>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
  /** Stops accepting connections and waits for in-flight requests (and their state writes) to finish. */
  shutdown(): Promise<void>;
}

const logger = getLogger(["fake-api"]);

/** Whether `hostname` (a name or an IP address) can only be reached from this machine. */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname.toLowerCase() === "localhost") return true;
  let canonical: string;
  try {
    canonical = new URL(`http://${hostname.includes(":") ? `[${hostname}]` : hostname}/`).hostname;
  } catch {
    return false;
  }
  return /^127\.\d+\.\d+\.\d+$/.test(canonical) || canonical === "[::1]" ||
    /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical); // IPv4-mapped 127.0.0.0/8
}

/**
 * Why the simulator must not listen on `hostname`, or `undefined` when it may: the admin API has no
 * authentication without a token, so anyone who can reach a non-loopback address could rewrite every device and
 * read the request log.
 */
export function adminExposureProblem(hostname: string, adminToken: string | undefined): string | undefined {
  if (adminToken !== undefined || isLoopbackHost(hostname)) return undefined;
  return `Refusing to serve the unauthenticated admin API (${PATHS.admin}) on '${hostname}', which is not a ` +
    "loopback address; pass --admin-token TOKEN (clients then send 'Authorization: Bearer TOKEN'), or " +
    "listen on 127.0.0.1";
}

/** The `METAL_*` variables for a server at `baseUrl`. */
export function metalEnv(
  baseUrl: string,
  defaults?: { projectId: string; apiKey: string },
): Record<string, string> {
  const env: Record<string, string> = {};
  if (defaults) {
    env.METAL_API_KEY = defaults.apiKey;
    env.METAL_PROJECT_ID = defaults.projectId;
  }
  env.METAL_BASE_URL = `${baseUrl}${PATHS.metal}`;
  env.METAL_LBAAS_URL = `${baseUrl}${PATHS.lbaas}`;
  env.METAL_TOKEN_EXCHANGE_URL = `${baseUrl}${PATHS.tokenExchange}`;
  return env;
}

/** `export NAME=value` lines (values are shell-safe: URLs, UUIDs and base64url keys). */
export function exportLines(env: Record<string, string>): string {
  return Object.entries(env).map(([name, value]) => `export ${name}=${value}\n`).join("");
}

/**
 * Builds the simulator and serves it.
 *
 * @throws {Error} When `hostname` is not a loopback address and no `adminToken` is given (see
 *   {@linkcode adminExposureProblem}).
 */
export async function serveFakeApi(options: ServeOptions = {}): Promise<FakeApiServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const problem = adminExposureProblem(hostname, options.adminToken);
  if (problem !== undefined) throw new Error(problem);
  const api = await createFakeApi(options);
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname,
    port: options.port ?? 8080,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
    onError: (err) => {
      logger.error("Failed to handle request", { err });
      return new Response(JSON.stringify({ errors: ["Internal error in the simulator"] }), {
        status: 500,
        headers: { "content-type": "application/json" },
      });
    },
  }, api.app.fetch);
  const addr = await listening;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `http://${host}:${addr.port}`;
  logger.info("Serving the simulated Equinix Metal API", {
    url,
    metal: `${url}${PATHS.metal}`,
    lbaas: `${url}${PATHS.lbaas}`,
    tokenExchange: `${url}${PATHS.tokenExchange}`,
    admin: `${url}${PATHS.admin}`,
    adminAuth: options.adminToken !== undefined,
    stateFile: options.stateFile ?? null,
  });
  return {
    api,
    url,
    env: metalEnv(url, api.defaults),
    finished: server.finished,
    shutdown: () => {
      api.close(); // the console's event streams would keep shutdown() waiting
      return server.shutdown();
    },
  };
}
