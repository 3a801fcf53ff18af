/**
 * What route modules get: the store, timings, and the Hono environment type.
 *
 * @module
 */
import type { Timings } from "./domain/devices.ts";
import type { ApiKeyRecord } from "./model.ts";
import type { Store } from "./store.ts";

/** Dependencies of the route modules. */
export interface RouteDeps {
  store: Store;
  timings: Timings;
}

/** Hono environment: the authenticated API key is set by the auth middleware. */
export type AppEnv = { Variables: { apiKey: ApiKeyRecord } };
