/**
 * The HTTP layer under every Kubernetes call: credentials and TLS from the kubeconfig, client-side rate
 * limiting, user agent, write fencing, request counting, over an HTTP/1.1 connection pool (its own, or one
 * shared by clients: `sender_pool.ts`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Agent, type Dispatcher, request } from "undici";
import type { TokenBucket } from "../../util/token_bucket.ts";
import type { Cluster, KubeConfig, User } from "./kubeconfig.ts";
import { errorMessage } from "../../util/errors.ts";

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

/** What the HTTP layer is asked to send. */
export interface HttpInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** A watch: the body streams for as long as the server keeps it open (no body timeout). */
  watch: boolean;
  /**
   * Called right before the request is written to its connection, after any connect and TLS handshake;
   * throwing cancels it unsent. A write fence checked only before a slow connect would let a process paused
   * meanwhile (SIGSTOP) write after resuming, when another replica may lead.
   */
  beforeSend?: () => void;
}

/** A response whose body is read once, as text or as a stream. */
export interface HttpResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  text(): Promise<string>;
  stream(): ReadableStream<Uint8Array>;
}

/** Sends one HTTP request; {@linkcode UndiciSender} in production, fakes in tests. */
export interface HttpSender {
  send(url: URL, init: HttpInit): Promise<HttpResponse>;
  /** Closes the pooled connections (open watches end). */
  close?(): Promise<void>;
}

/** One Kubernetes API request. */
export interface KubeRequest {
  method: string;
  /** Path and query below the server URL, for example `/api/v1/nodes?limit=500`. */
  path: string;
  /** JSON (or YAML for apply patches) text. */
  body?: string;
  contentType?: string;
  signal?: AbortSignal;
}

/** Options of {@linkcode KubeTransport}. */
export interface KubeTransportOptions {
  config: KubeConfig;
  limiter: TokenBucket;
  userAgent: string;
  stats: RequestStats;
  /** Does the HTTP; default an {@linkcode UndiciSender} with the kubeconfig's TLS settings. */
  sender?: HttpSender;
  /** Builds the sender from the kubeconfig's TLS settings when `sender` is not given (a shared pool). */
  senderFor?: (tls: TlsOptions) => HttpSender;
  /**
   * Called right before every request that is not a read (any method but GET, HEAD, OPTIONS), after the
   * limiter; throwing cancels the request (leader-election fencing).
   */
  beforeWrite?: (url: URL) => void;
  /** Reads credential files (token, certificates); injectable for tests. */
  readTextFile?: (path: string) => string;
  /** Monotonic milliseconds, for re-reading the token file; injectable for tests. */
  now?: () => number;
}

/** How often a token file is read again (client-go re-reads projected tokens every minute). */
const TOKEN_FILE_REREAD_MS = 60_000;

/**
 * Sends Kubernetes API requests to the current cluster of a kubeconfig: waits for the rate limiter, adds the
 * user agent and credentials, checks writes with `beforeWrite`, and counts each request.
 */
export class KubeTransport {
  /** Server URL without a trailing slash. */
  readonly server: string;
  #limiter: TokenBucket;
  #userAgent: string;
  #stats: RequestStats;
  #sender: HttpSender;
  #beforeWrite: ((url: URL) => void) | undefined;
  #auth: () => string | undefined;

  constructor(options: KubeTransportOptions) {
    const cluster = options.config.getCurrentCluster();
    if (!cluster) throw new Error("Kubeconfig has no current cluster; set current-context");
    const user = options.config.getCurrentUser();
    const read = options.readTextFile ?? Deno.readTextFileSync;
    this.server = cluster.server.replace(/\/+$/, "");
    this.#limiter = options.limiter;
    this.#userAgent = options.userAgent;
    this.#stats = options.stats;
    this.#beforeWrite = options.beforeWrite;
    this.#sender = options.sender ??
      (options.senderFor ?? ((tls) => new UndiciSender(tls)))(tlsOptions(cluster, user, read));
    this.#auth = authorization(user, read, options.now ?? (() => performance.now()));
  }

  /** Sends `req` and reads the whole response body. */
  async request(
    req: KubeRequest,
  ): Promise<{ status: number; headers: Record<string, string>; text: string }> {
    return await this.#send(req, false, async (response) => ({
      status: response.status,
      headers: response.headers,
      text: await response.text(),
    }));
  }

  /** Sends a watch request `req`; the caller reads the body as a stream. */
  async watch(req: KubeRequest): Promise<HttpResponse> {
    return await this.#send(req, true, (response) => Promise.resolve(response));
  }

  /** Closes every pooled connection (open watches end). */
  async close(): Promise<void> {
    await this.#sender.close?.();
  }

  async #send<T>(req: KubeRequest, watch: boolean, read: (response: HttpResponse) => Promise<T>): Promise<T> {
    await this.#limiter.acquire(req.signal);
    const url = new URL(this.server + req.path);
    const method = req.method;
    const write = !READ_METHODS.has(method);
    if (write) this.#beforeWrite?.(url);
    const headers: Record<string, string> = { "User-Agent": this.#userAgent, Accept: "application/json" };
    if (req.contentType) headers["Content-Type"] = req.contentType;
    const auth = this.#auth();
    if (auth) headers.Authorization = auth;
    const base = { verb: requestVerb(method, url), method, host: url.host };
    const start = performance.now();
    let code = "<error>";
    try {
      const response = await this.#sender.send(url, {
        method,
        headers,
        body: req.body,
        signal: req.signal,
        watch,
        beforeSend: write && this.#beforeWrite ? () => this.#beforeWrite!(url) : undefined,
      });
      code = String(response.status);
      return await read(response);
    } finally {
      this.#stats.record({ ...base, code, durationSeconds: (performance.now() - start) / 1000 });
    }
  }
}

/** The `Authorization` header of `user`, read fresh from its token file at most once a minute. */
function authorization(
  user: User | null,
  read: (path: string) => string,
  clock: () => number,
): () => string | undefined {
  if (user?.token) return () => `Bearer ${user.token}`;
  if (user?.tokenFile) {
    const path = user.tokenFile;
    let token = "";
    let readAt = -Infinity;
    return () => {
      const now = clock();
      if (now - readAt >= TOKEN_FILE_REREAD_MS) {
        try {
          token = read(path).trim();
          readAt = now;
        } catch (err) {
          // Keep the last token when a rotation is in progress; without one the request can only fail.
          if (!token) {
            throw new Error(`Failed to read token file "${path}": ${errorMessage(err)}`, { cause: err });
          }
        }
      }
      return `Bearer ${token}`;
    };
  }
  if (user?.username !== undefined && user.password !== undefined) {
    const basic = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`;
    return () => basic;
  }
  return () => undefined;
}

/** TLS settings of undici's `connect` for a cluster and user. */
export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  servername?: string;
}

/** The TLS settings for `cluster` and `user`: CA, client certificate and key (inline data or files). */
export function tlsOptions(cluster: Cluster, user: User | null, read: (path: string) => string): TlsOptions {
  const pem = (data: string | undefined, file: string | undefined, what: string): string | undefined => {
    if (data) return Buffer.from(data, "base64").toString("utf8");
    if (!file) return undefined;
    try {
      return read(file);
    } catch (err) {
      throw new Error(
        `Failed to read the ${what} "${file}": ${errorMessage(err)}; check the kubeconfig`,
        {
          cause: err,
        },
      );
    }
  };
  return {
    ca: cluster.skipTLSVerify ? undefined : pem(cluster.caData, cluster.caFile, "certificate authority file"),
    cert: pem(user?.certData, user?.certFile, "client certificate file"),
    key: pem(user?.keyData, user?.keyFile, "client key file"),
    rejectUnauthorized: !cluster.skipTLSVerify,
    servername: cluster.tlsServerName,
  };
}

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
 * An undici interceptor that runs `check` when the request is about to be written to a connected socket
 * (`onRequestStart`) and aborts it unsent when `check` throws.
 */
function checkBeforeSend(check: () => void): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) =>
    dispatch(
      options,
      new Proxy(handler, {
        get(target, property) {
          if (property === "onRequestStart") {
            return (controller: { abort(reason: Error): void }, context: unknown) => {
              try {
                check();
              } catch (err) {
                controller.abort(err as Error);
                return;
              }
              return target.onRequestStart?.(controller as never, context);
            };
          }
          const value = Reflect.get(target, property, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
    );
}

/**
 * The request layer: undici's `request()` over one HTTP/1.1 connection pool.
 * - Not `fetch()`: under Deno 2.9.6 a `fetch()` body never ends or fails when the server closes the connection
 *   mid-response, so a watch cut by an API server restart would hang forever; `request()` reports "other side
 *   closed".
 * - Not HTTP/2, which the API server would pick: Deno 2.9.6 aborts the whole process when an HTTP/2 server
 *   sends GOAWAY (denoland/deno#36788), as kube-apiserver does whenever it restarts.
 * Watches stream and have no body timeout (the watch applies its own idle timeout).
 */
export class UndiciSender implements HttpSender {
  #agent: Dispatcher;

  constructor(tls: TlsOptions) {
    this.#agent = new Agent({ allowH2: false, connect: { ...tls } });
  }

  async send(url: URL, init: HttpInit): Promise<HttpResponse> {
    const response = await request(url, {
      method: init.method as Dispatcher.HttpMethod,
      headers: init.headers,
      body: init.body,
      signal: init.signal,
      dispatcher: init.beforeSend ? this.#agent.compose(checkBeforeSend(init.beforeSend)) : this.#agent,
      bodyTimeout: init.watch ? 0 : undefined,
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    return {
      status: response.statusCode,
      headers,
      text: () => response.body.text(),
      stream: () => toWebStream(response.body),
    };
  }

  async close(): Promise<void> {
    // destroy, not close: open watches would keep close() waiting until their streams end.
    await this.#agent.destroy();
  }
}
