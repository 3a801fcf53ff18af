/**
 * The HTTP layer under every typed API client: client-side rate limiting, user agent, request counting, and
 * one connection pool per (cluster, credentials) instead of the library's new pool per request.
 *
 * @module
 */
import {
  type Cluster,
  IsomorphicFetchHttpLibrary,
  type KubeConfig,
  type PromiseHttpLibrary,
  type RequestContext,
  type ResponseContext,
} from "@kubernetes/client-node";
import { createHash } from "node:crypto";
import type { AgentOptions } from "node:https";
import type { TokenBucket } from "../token_bucket.ts";

/** One finished API request, as seen by {@linkcode RequestStats} listeners. */
export interface RequestRecord {
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection. */
  verb: string;
  /** HTTP method. */
  method: string;
  /** HTTP status code as a string, or `"<error>"` when no response arrived. */
  code: string;
  host: string;
  durationSeconds: number;
}

/** Cheap request counters, per Kubernetes verb. */
export class RequestStats {
  #byVerb = new Map<string, number>();
  #listeners: Array<(record: RequestRecord) => void> = [];

  /** Requests counted so far, by verb. */
  byVerb(): Record<string, number> {
    return Object.fromEntries(this.#byVerb);
  }

  /** Total requests counted so far. */
  total(): number {
    let sum = 0;
    for (const n of this.#byVerb.values()) sum += n;
    return sum;
  }

  /** Calls `listener` after every request; returns a function that removes it. */
  onRequest(listener: (record: RequestRecord) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Counts one finished request. */
  record(record: RequestRecord): void {
    this.#byVerb.set(record.verb, (this.#byVerb.get(record.verb) ?? 0) + 1);
    for (const listener of this.#listeners) listener(record);
  }
}

/**
 * Derives the Kubernetes verb from method and URL: GET on a collection is `list`, GET with `watch=true` is
 * `watch`, DELETE on a collection is `deletecollection`.
 */
export function requestVerb(method: string, url: URL): string {
  if (method === "GET" && url.searchParams.get("watch") === "true") return "watch";
  const segments = url.pathname.split("/").filter(Boolean);
  // /api/v1/... or /apis/<group>/<version>/...
  let rest = segments[0] === "api" ? segments.slice(2) : segments.slice(3);
  if (rest[0] === "namespaces" && rest.length >= 3) rest = rest.slice(2);
  const collection = rest.length === 1;
  switch (method) {
    case "GET":
      return collection ? "list" : "get";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return collection ? "deletecollection" : "delete";
    default:
      return method.toLowerCase();
  }
}

/** Options of {@linkcode RateLimitedHttpLibrary}. */
export interface RateLimitedHttpLibraryOptions {
  limiter: TokenBucket;
  userAgent: string;
  stats: RequestStats;
  /** The library doing the actual request; defaults to the client library's fetch. */
  inner?: PromiseHttpLibrary;
}

/** A `PromiseHttpLibrary` that waits for the rate limiter, sets the user agent and counts each request. */
export class RateLimitedHttpLibrary implements PromiseHttpLibrary {
  #limiter: TokenBucket;
  #userAgent: string;
  #stats: RequestStats;
  #inner: PromiseHttpLibrary;

  constructor(options: RateLimitedHttpLibraryOptions) {
    this.#limiter = options.limiter;
    this.#userAgent = options.userAgent;
    this.#stats = options.stats;
    const fetchLibrary = new IsomorphicFetchHttpLibrary();
    this.#inner = options.inner ?? { send: (ctx) => fetchLibrary.send(ctx).toPromise() };
  }

  async send(ctx: RequestContext): Promise<ResponseContext> {
    await this.#limiter.acquire(ctx.getSignal());
    ctx.setHeaderParam("User-Agent", this.#userAgent);
    const url = new URL(ctx.getUrl());
    const method = ctx.getHttpMethod();
    const base = { verb: requestVerb(method, url), method, host: url.host };
    const start = performance.now();
    try {
      const response = await this.#inner.send(ctx);
      const durationSeconds = (performance.now() - start) / 1000;
      this.#stats.record({ ...base, code: String(response.httpStatusCode), durationSeconds });
      return response;
    } catch (err) {
      this.#stats.record({ ...base, code: "<error>", durationSeconds: (performance.now() - start) / 1000 });
      throw err;
    }
  }
}

/** What we need of an undici dispatcher. */
interface Closable {
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * Makes `kc` reuse one connection pool per distinct TLS configuration. @kubernetes/client-node 2.0.1 builds a
 * new undici Agent for every request (a TLS handshake each time, and idle sockets left behind); we wrap its
 * private `createDispatcher` so equal options share one Agent. Returns a function that closes every pool.
 */
export function shareDispatchers(kc: KubeConfig): () => Promise<void> {
  const pools = new Map<string, Closable>();
  type CreateDispatcher = (cluster: Cluster | null, agentOptions: AgentOptions) => Closable | undefined;
  const create: CreateDispatcher = kc["createDispatcher"].bind(kc);
  const shared: CreateDispatcher = (cluster, agentOptions) => {
    const key = createHash("sha256")
      .update(JSON.stringify(kc.createDispatcherOptions(cluster, agentOptions)))
      .digest("hex");
    let pool = pools.get(key);
    if (!pool) {
      pool = create(cluster, agentOptions);
      if (!pool) return undefined;
      pools.set(key, pool);
    }
    return pool;
  };
  kc["createDispatcher"] = shared;
  return async () => {
    kc["createDispatcher"] = create;
    const all = [...pools.values()];
    pools.clear();
    // destroy, not close: open watches would keep close() waiting until their streams end.
    await Promise.all(all.map((pool) => pool.destroy()));
  };
}
