/**
 * The HTTP layer under every typed API client: client-side rate limiting, user agent, request counting, and
 * one connection pool per (cluster, credentials) instead of the library's new pool per request.
 *
 * @module
 */
import {
  type Cluster,
  type KubeConfig,
  type PromiseHttpLibrary,
  type RequestContext,
  ResponseContext,
} from "@kubernetes/client-node";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { AgentOptions } from "node:https";
import { Agent, type Dispatcher, request } from "undici";
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

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Options of {@linkcode RateLimitedHttpLibrary}. */
export interface RateLimitedHttpLibraryOptions {
  limiter: TokenBucket;
  userAgent: string;
  stats: RequestStats;
  /** The library doing the actual request; defaults to the client library's fetch. */
  inner?: PromiseHttpLibrary;
  /**
   * Called right before every request that is not a read (any method but GET, HEAD, OPTIONS), after the
   * limiter; throwing cancels the request (leader-election fencing).
   */
  beforeWrite?: (url: URL) => void;
}

/** A `PromiseHttpLibrary` that waits for the rate limiter, sets the user agent and counts each request. */
export class RateLimitedHttpLibrary implements PromiseHttpLibrary {
  #limiter: TokenBucket;
  #userAgent: string;
  #stats: RequestStats;
  #inner: PromiseHttpLibrary;
  #beforeWrite: ((url: URL) => void) | undefined;

  constructor(options: RateLimitedHttpLibraryOptions) {
    this.#limiter = options.limiter;
    this.#userAgent = options.userAgent;
    this.#stats = options.stats;
    this.#inner = options.inner ?? new UndiciHttpLibrary();
    this.#beforeWrite = options.beforeWrite;
  }

  async send(ctx: RequestContext): Promise<ResponseContext> {
    await this.#limiter.acquire(ctx.getSignal());
    ctx.setHeaderParam("User-Agent", this.#userAgent);
    const url = new URL(ctx.getUrl());
    const method = ctx.getHttpMethod();
    if (!READ_METHODS.has(method)) this.#beforeWrite?.(url);
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

let fallbackAgent: Agent | undefined;

/** Turns an async iterable of chunks into a web stream whose reads fail when the iterable fails. */
function toWebStream(body: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await chunks.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await chunks.return?.();
    },
  });
}

/**
 * The request layer: undici's `request()` instead of the library's undici `fetch()`. Under Deno 2.9.6 a
 * `fetch()` body never ends or fails when the server closes the connection mid-response, so a watch (or any
 * request) cut by an API server restart would hang forever; `request()` reports "other side closed".
 * Bodies are read in full before the response is returned (the generated clients do not always read them,
 * which would hold the connection), except for watches, which stream and have no body timeout (the watch
 * applies its own idle timeout).
 */
export class UndiciHttpLibrary implements PromiseHttpLibrary {
  async send(ctx: RequestContext): Promise<ResponseContext> {
    const url = ctx.getUrl();
    const watch = new URL(url).searchParams.get("watch") === "true";
    const body = ctx.getBody();
    const response = await request(url, {
      method: ctx.getHttpMethod(),
      headers: ctx.getHeaders(),
      body: body === undefined || typeof body === "string" ? body : body.toString(),
      signal: ctx.getSignal(),
      dispatcher: (ctx.getDispatcher() as Dispatcher | undefined) ??
        (fallbackAgent ??= new Agent({ allowH2: false })),
      bodyTimeout: watch ? 0 : undefined,
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    if (watch) {
      const stream = toWebStream(response.body);
      return new ResponseContext(response.statusCode, headers, {
        text: () => response.body.text(),
        binary: async () => Buffer.from(await response.body.arrayBuffer()),
        stream: () => stream,
      });
    }
    const buffer = Buffer.from(await response.body.arrayBuffer());
    return new ResponseContext(response.statusCode, headers, {
      text: () => Promise.resolve(buffer.toString("utf8")),
      binary: () => Promise.resolve(buffer),
      stream: () => new Blob([buffer]).stream(),
    });
  }
}

/**
 * Makes `kc` reuse one HTTP/1.1 connection pool per distinct TLS configuration, replacing its private
 * `createDispatcher`:
 * - @kubernetes/client-node 2.0.1 builds a new undici Agent for every request (a TLS handshake each time, and
 *   idle sockets left behind);
 * - undici offers HTTP/2, which the API server picks, and Deno 2.9.6 aborts the whole process when an HTTP/2
 *   server sends GOAWAY (denoland/deno#36788) — as kube-apiserver does whenever it restarts.
 * Proxy configurations keep the library's own dispatcher. Returns a function that closes every pool.
 */
export function shareDispatchers(kc: KubeConfig): () => Promise<void> {
  const pools = new Map<string, Dispatcher>();
  type CreateDispatcher = (cluster: Cluster | null, agentOptions: AgentOptions) => Dispatcher | undefined;
  const create: CreateDispatcher = kc["createDispatcher"].bind(kc);
  const shared: CreateDispatcher = (cluster, agentOptions) => {
    const options = kc.createDispatcherOptions(cluster, agentOptions);
    const key = createHash("sha256").update(JSON.stringify(options)).digest("hex");
    let pool = pools.get(key);
    if (!pool) {
      if (options.type === "agent") pool = new Agent({ allowH2: false, connect: options.connect });
      else if (options.type === "none") pool = new Agent({ allowH2: false });
      else pool = create(cluster, agentOptions);
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
