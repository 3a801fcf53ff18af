/**
 * Builds the simulator as a Hono app (no sockets): Metal API under `/metal/v1`, LBaaS under `/lbaas`
 * (mirroring `https://lb.metalctrl.io`), the token exchange at `/iam/api-keys/exchange` (mirroring
 * `https://iam.metalctrl.io/api-keys/exchange`), the admin API under `/_fake` and the console under `/console`.
 *
 * @example In-process use (tests)
 * ```ts
 * const api = await createFakeApi({ seed });
 * const res = await api.app.request("/metal/v1/projects", { headers: { "X-Auth-Token": "key" } });
 * ```
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { Hono, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { type Clock, systemClock } from "../util/clock.ts";
import { adminAuth, adminRoutes } from "./admin.ts";
import { ApiError } from "./api_error.ts";
import { metalAuth } from "./auth.ts";
import { mountConsole } from "./console.ts";
import type { AppEnv, RouteDeps } from "./deps.ts";
import type { Timings } from "./domain/devices.ts";
import { Faults, type FaultSettings } from "./faults.ts";
import { exchangeToken, lbaasAuth } from "./lbaas_auth.ts";
import { isoTime, type Snapshot } from "./model.ts";
import { RequestLog } from "./request_log.ts";
import { accountRoutes } from "./routes/account.ts";
import { bgpRoutes } from "./routes/bgp.ts";
import { catalogRoutes } from "./routes/catalog.ts";
import { deviceRoutes } from "./routes/devices.ts";
import { ipRoutes } from "./routes/ips.ts";
import { lbaasRoutes } from "./routes/lbaas.ts";
import { applySeed, type Seed, seedDefaults } from "./seed.ts";
import { StateFile } from "./state_file.ts";
import { Store } from "./store.ts";

/** Path prefixes of the three APIs (append them to the server's base URL). */
export const PATHS = {
  metal: "/metal/v1",
  lbaas: "/lbaas",
  tokenExchange: "/iam/api-keys/exchange",
  admin: "/_fake",
  console: "/console",
} as const;

/** Options of {@linkcode createFakeApi}. */
export interface FakeApiOptions {
  /** Projects, keys, devices and reservations to start from (ignored when the state file exists). */
  seed?: Seed;
  /** Durable state: loaded at start when present, rewritten (atomically) before every mutation is answered. */
  stateFile?: string;
  clock?: Clock;
  /** Random source for the error rate. */
  random?: () => number;
  /** queued → active time for new devices (default 0: active at once). */
  provisionDelayMs?: number;
  /** powering_off/powering_on time (default 2000 ms, 0 with provisionDelayMs 0 unless set). */
  powerDelayMs?: number;
  /** Initial fault settings. */
  faults?: Partial<FaultSettings>;
  /** klog-style verbosity; at 2 and above every request is logged. */
  verbosity?: number;
  /** Entries kept in the admin request log (default 10,000). */
  requestLogCapacity?: number;
  /** When set, every admin call (`/_fake/...`) needs `Authorization: Bearer <adminToken>`. */
  adminToken?: string;
}

/** A built simulator. */
export interface FakeApi {
  /** The Hono app; use `app.request()` in tests or `app.fetch` with `Deno.serve`. */
  app: Hono;
  store: Store;
  faults: Faults;
  requestLog: RequestLog;
  timings: Timings;
  /** The default project and key when started without a seed (also after a restart from state). */
  defaults?: { projectId: string; apiKey: string };
  /** Restores the starting state, clears faults and the request log. */
  reset(): Promise<void>;
  /** Ends the console's event streams; call it before shutting a server down (serve.ts does). */
  close(): void;
}

const logger = getLogger(["fake-api"]);

/** Builds the simulator. Loads the state file if there is one, else applies the seed (or defaults). */
export async function createFakeApi(options: FakeApiOptions = {}): Promise<FakeApi> {
  const clock = options.clock ?? systemClock;
  const provisionDelayMs = options.provisionDelayMs ?? 0;
  const timings: Timings = {
    provisionDelayMs,
    powerDelayMs: options.powerDelayMs ?? (provisionDelayMs === 0 ? 0 : 2000),
  };
  const file = options.stateFile ? new StateFile(options.stateFile) : undefined;
  const store = new Store({ clock, file });
  const saved = file ? await file.read() : undefined;
  const baseline = buildBaseline(clock, timings, options.seed, saved);
  store.load(saved ?? baseline);
  if (!saved && file) await store.commit();

  const faults = new Faults({ clock, random: options.random, settings: options.faults });
  const requestLog = new RequestLog(options.requestLogCapacity);
  const defaults = options.seed ? undefined : defaultsOf(store);
  const deps: RouteDeps = { store, timings };
  const reset = async () => {
    const secret = store.tokenSecret;
    store.load({ ...baseline, tokenSecret: secret });
    faults.reset();
    requestLog.clear();
    await store.commit();
  };

  const app = new Hono();
  app.use("*", requestLogger({ clock, requestLog, verbosity: options.verbosity ?? 0 }));
  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json({ errors: err.errors }, err.status);
    if (err instanceof HTTPException) return err.getResponse(); // the admin token check
    logger.error("Failed to handle request", { method: c.req.method, path: c.req.path, err });
    return c.json({ errors: [`Internal error in the simulator: ${err.message}`] }, 500);
  });
  app.notFound((c) => c.json({ errors: [`Not found: no route for ${c.req.method} ${c.req.path}`] }, 404));

  const metal = new Hono<AppEnv>();
  metal.use("*", faults.middleware(), metalAuth(store));
  catalogRoutes(metal, deps);
  deviceRoutes(metal, deps);
  ipRoutes(metal, deps);
  bgpRoutes(metal, deps);
  accountRoutes(metal, deps);
  app.route(PATHS.metal, metal);

  const lbaas = new Hono<AppEnv>();
  lbaas.use("*", faults.middleware(), lbaasAuth(store));
  lbaasRoutes(lbaas, deps);
  app.route(PATHS.lbaas, lbaas);

  app.post(PATHS.tokenExchange, faults.middleware(), (c) => exchangeToken(c, store));
  if (options.adminToken !== undefined) app.use(`${PATHS.admin}/*`, adminAuth(options.adminToken));
  const admin = adminRoutes({ store, faults, requestLog, timings, reset });
  app.route(PATHS.admin, admin);
  const consoleApp = mountConsole(app, PATHS.console, {
    store,
    faults,
    requestLog,
    admin,
    adminToken: options.adminToken,
  });

  return { app, store, faults, requestLog, timings, defaults, reset, close: () => consoleApp.close() };
}

/** The starting state: the seed, or the default project and key; after a restart, the saved projects and keys. */
function buildBaseline(
  clock: Clock,
  timings: Timings,
  seed: Seed | undefined,
  saved: Snapshot | undefined,
): Snapshot {
  const scratch = new Store({ clock });
  if (seed) {
    applySeed(scratch, seed, timings);
  } else if (saved) {
    const at = isoTime(clock.now());
    for (const p of saved.projects) {
      scratch.addProject({ id: p.id, name: p.name, createdAt: at, updatedAt: at });
    }
    for (const k of saved.apiKeys) scratch.addApiKey(k);
  } else {
    seedDefaults(scratch);
  }
  if (saved) scratch.tokenSecret = saved.tokenSecret;
  return scratch.snapshot();
}

function retryAfterOf(res: Response): { retryAfter?: string } {
  const value = res.headers.get("retry-after");
  return value === null ? {} : { retryAfter: value };
}

function defaultsOf(store: Store): FakeApi["defaults"] {
  const project = store.projects.values().next().value;
  const key = store.apiKeys.values().next().value;
  return project && key ? { projectId: project.id, apiKey: key.token } : undefined;
}

/** Middleware: request log entry per API request (admin and console calls excluded), and a log line at verbosity ≥ 2. */
function requestLogger(
  options: { clock: Clock; requestLog: RequestLog; verbosity: number },
): MiddlewareHandler {
  return async (c, next) => {
    const path = c.req.path;
    if (path.startsWith(PATHS.admin) || path.startsWith(PATHS.console)) return next();
    const started = performance.now();
    const time = new Date(options.clock.now()).toISOString();
    await next();
    const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    const url = c.req.url;
    const q = url.indexOf("?");
    const entry = {
      method: c.req.method,
      path,
      query: q < 0 ? "" : url.slice(q + 1),
      status: c.res.status,
      time,
      durationMs,
      userAgent: c.req.header("user-agent") ?? "",
      ...retryAfterOf(c.res),
    };
    options.requestLog.add(entry);
    if (options.verbosity >= 2) {
      logger.info("Handled request", {
        v: 2,
        method: entry.method,
        path,
        query: entry.query,
        status: entry.status,
        durationMs,
      });
    }
  };
}
