/**
 * {@linkcode HttpMetalClient}: the {@linkcode MetalClient} over `fetch`, with pagination, retries, a shared
 * client-side rate limiter, typed errors, validated answers, metrics and trace logging.
 *
 * @module
 */
import { STATUS_CODES } from "node:http";
import { getLogger, type Logger } from "@logtape/logtape";
import type { z } from "zod";
import { type Clock, systemClock } from "../../provider/clock.ts";
import { TokenBucket } from "../../provider/token_bucket.ts";
import type { CallOptions, IncludeOptions, ListIpReservationsOptions, MetalClient } from "./client.ts";
import {
  MetalApiError,
  MetalForbiddenError,
  MetalInvalidError,
  MetalNotFoundError,
  MetalRateLimitedError,
  type MetalRequestInfo,
  MetalResponseError,
  MetalTransientError,
  MetalUnauthorizedError,
} from "./errors.ts";
import type { MetalApiObserver } from "./metrics.ts";
import { backoffDelayMs, DEFAULT_RETRY_POLICY, retryAfterMs, type RetryPolicy } from "./retry.ts";
import {
  type BgpConfig,
  type BgpConfigRequest,
  bgpConfigSchema,
  type BgpNeighbor,
  bgpNeighborSchema,
  type BgpSession,
  bgpSessionSchema,
  type Device,
  deviceSchema,
  type IpAssignment,
  ipAssignmentSchema,
  type IpReservation,
  type IpReservationRequest,
  ipReservationSchema,
  type IpReservationUpdate,
  metaSchema,
  type Project,
  projectSchema,
} from "./types.ts";

/** The public Equinix Metal API. */
export const DEFAULT_METAL_BASE_URL = "https://api.equinix.com/metal/v1";

/** The largest `per_page` the API schema allows for device and IP lists. */
export const MAX_PER_PAGE = 1000;

/** Safety stop for a server whose pagination never ends (the API's own `page` maximum). */
const MAX_PAGES = 100_000;

/** Default client-side limit shared by every controller: 10 requests/s sustained, bursts of 20. */
export const DEFAULT_METAL_RATE_LIMIT = Object.freeze({ qps: 10, burst: 20 });

/** Options of {@linkcode HttpMetalClient}. */
export interface HttpMetalClientOptions {
  /** Metal API key, sent as `X-Auth-Token`. Never logged. */
  apiKey: string;
  /** API base URL, without trailing slash; default {@linkcode DEFAULT_METAL_BASE_URL}. */
  baseUrl?: string;
  /** CCM version for the user agent `cloud-provider-equinix-metal/<version> ccm`. */
  version?: string;
  /** Per-attempt timeout, covering the response body too; default 30 s. */
  timeoutMs?: number;
  /** Retry tuning; missing fields take {@linkcode DEFAULT_RETRY_POLICY} values. */
  retry?: Partial<RetryPolicy>;
  /**
   * Client-side rate limiter, shared by everything that uses this client; default
   * {@linkcode DEFAULT_METAL_RATE_LIMIT}.
   */
  rateLimiter?: TokenBucket;
  /** `per_page` for device and IP reservation lists; default {@linkcode MAX_PER_PAGE}. */
  perPage?: number;
  /** Receives per-request metrics, usually a `MetalApiMetrics`. */
  observer?: MetalApiObserver;
  /** Default category `["ccm", "metal", "api"]`; every request is logged at trace level (-v=5). */
  logger?: Logger;
  /** Injected for tests; default the global `fetch`. */
  fetch?: (request: Request) => Promise<Response>;
  /** Injected for tests; times backoff, pauses and the rate limiter. */
  clock?: Clock;
  /** Uniform random numbers in [0, 1) for jitter; injected for tests. */
  random?: () => number;
}

/** When a request may be sent again after a failure. */
type RetryMode =
  /** Safe to repeat (GET, PUT, PATCH, DELETE, or a POST whose duplicate the API rejects harmlessly). */
  | "idempotent"
  /**
   * Not safe to repeat once it may have reached the server; retried only on 429, which the API answers before
   * doing anything.
   */
  | "rate-limit-only";

interface RequestSpec {
  operation: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: URLSearchParams;
  body?: unknown;
  retry: RetryMode;
  signal: AbortSignal | undefined;
}

/** Outcome of one attempt that may be retried. */
interface RetryableFailure {
  error: MetalApiError;
  /** Metric label: status code, `timeout` or `network`. */
  reason: string;
  /** Server-requested delay. */
  waitMs?: number;
}

/**
 * The Metal API client over `fetch`.
 *
 * - Every list follows pagination to the last page (`page`/`per_page`, `meta.last_page`, `meta.next`).
 * - Retries with exponential backoff and full jitter on 429 (honouring `Retry-After` / `X-RateLimit-Reset`),
 *   5xx, timeouts and connection errors — for calls that are safe to repeat; POSTs only on 429.
 * - A 429 pauses every call of this client until the server's `Retry-After` has passed.
 * - Answers are validated; a malformed one is a `MetalResponseError`, never a crash.
 *
 * @example
 * ```ts
 * const client = new HttpMetalClient({ apiKey: config.apiKey, baseUrl: config.baseURL, version: VERSION });
 * const devices = await client.listDevices(config.projectID);
 * ```
 */
export class HttpMetalClient implements MetalClient {
  #apiKey: string;
  #baseUrl: string;
  #userAgent: string;
  #timeoutMs: number;
  #retry: RetryPolicy;
  #limiter: TokenBucket;
  #perPage: number;
  #observer: MetalApiObserver | undefined;
  #logger: Logger;
  #fetch: (request: Request) => Promise<Response>;
  #clock: Clock;
  #random: () => number;
  /** Until when (clock ms) every request waits, after a 429. */
  #pausedUntil = 0;

  constructor(options: HttpMetalClientOptions) {
    if (!options.apiKey) {
      throw new Error("Cannot create Metal API client: the API key is empty; set METAL_API_KEY or 'apiKey'");
    }
    this.#apiKey = options.apiKey;
    const baseUrl = options.baseUrl || DEFAULT_METAL_BASE_URL;
    try {
      new URL(baseUrl);
    } catch {
      throw new Error(
        `Cannot create Metal API client: invalid base URL "${baseUrl}"; use an absolute URL such as "${DEFAULT_METAL_BASE_URL}"`,
      );
    }
    this.#baseUrl = baseUrl.replace(/\/+$/, "");
    this.#userAgent = `cloud-provider-equinix-metal/${options.version ?? "dev"} ccm`;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#clock = options.clock ?? systemClock;
    this.#limiter = options.rateLimiter ??
      new TokenBucket({ ...DEFAULT_METAL_RATE_LIMIT, clock: this.#clock });
    const perPage = options.perPage ?? MAX_PER_PAGE;
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_PER_PAGE) {
      throw new Error(
        `Invalid Metal API per-page size "${perPage}": use an integer from 1 to ${MAX_PER_PAGE}`,
      );
    }
    this.#perPage = perPage;
    this.#observer = options.observer;
    this.#logger = options.logger ?? getLogger(["ccm", "metal", "api"]);
    this.#fetch = options.fetch ?? ((request) => fetch(request));
    this.#random = options.random ?? Math.random;
  }

  /** The base URL requests go to. */
  get baseUrl(): string {
    return this.#baseUrl;
  }

  listDevices(projectId: string, options?: IncludeOptions): Promise<Device[]> {
    return this.#listAll({
      operation: "list_devices",
      path: `/projects/${id(projectId)}/devices`,
      query: includeQuery(options?.include),
      key: "devices",
      schema: deviceSchema,
      signal: options?.signal,
    });
  }

  async getDevice(deviceId: string, options?: IncludeOptions): Promise<Device> {
    const spec = this.#get("get_device", `/devices/${id(deviceId)}`, options, includeQuery(options?.include));
    return decode(spec, deviceSchema, await this.#request(spec));
  }

  listIpReservations(projectId: string, options?: ListIpReservationsOptions): Promise<IpReservation[]> {
    const query = includeQuery(options?.includeAssignments ? ["assignments"] : undefined);
    for (const type of options?.types ?? []) query.append("types", type);
    return this.#listAll({
      operation: "list_ip_reservations",
      path: `/projects/${id(projectId)}/ips`,
      query,
      key: "ip_addresses",
      schema: ipReservationSchema,
      signal: options?.signal,
      // VRF blocks have another shape and are never ours; skipping them is what the CCM needs.
      skip: (item) => isRecord(item) && item.type === "vrf",
    });
  }

  async createIpReservation(
    projectId: string,
    request: IpReservationRequest,
    options?: CallOptions,
  ): Promise<IpReservation> {
    const spec: RequestSpec = {
      operation: "create_ip_reservation",
      method: "POST",
      path: `/projects/${id(projectId)}/ips`,
      body: compact({
        type: request.type,
        quantity: request.quantity,
        metro: request.metro,
        facility: request.facility,
        tags: request.tags,
        details: request.details,
        customdata: request.customdata,
        fail_on_approval_required: request.failOnApprovalRequired,
      }),
      retry: "rate-limit-only",
      signal: options?.signal,
    };
    return decode(spec, ipReservationSchema, await this.#request(spec));
  }

  async getIpReservation(reservationId: string, options?: IncludeOptions): Promise<IpReservation> {
    const spec = this.#get(
      "get_ip_reservation",
      `/ips/${id(reservationId)}`,
      options,
      includeQuery(options?.include),
    );
    return decodeReservation(spec, await this.#request(spec));
  }

  async updateIpReservation(
    reservationId: string,
    update: IpReservationUpdate,
    options?: CallOptions,
  ): Promise<IpReservation> {
    const spec: RequestSpec = {
      operation: "update_ip_reservation",
      method: "PATCH",
      path: `/ips/${id(reservationId)}`,
      body: compact({ details: update.details, tags: update.tags, customdata: update.customdata }),
      // Sets fields to given values, so repeating it is harmless.
      retry: "idempotent",
      signal: options?.signal,
    };
    return decodeReservation(spec, await this.#request(spec));
  }

  async deleteIpReservation(reservationId: string, options?: CallOptions): Promise<void> {
    await this.#request(this.#delete("delete_ip_reservation", reservationId, options));
  }

  async assignIp(deviceId: string, address: string, options?: CallOptions): Promise<IpAssignment> {
    const spec: RequestSpec = {
      operation: "assign_ip",
      method: "POST",
      path: `/devices/${id(deviceId)}/ips`,
      body: { address },
      retry: "rate-limit-only",
      signal: options?.signal,
    };
    return decode(spec, ipAssignmentSchema, await this.#request(spec));
  }

  async unassignIp(assignmentId: string, options?: CallOptions): Promise<void> {
    await this.#request(this.#delete("unassign_ip", assignmentId, options));
  }

  async getBgpConfig(projectId: string, options?: CallOptions): Promise<BgpConfig> {
    const spec = this.#get("get_bgp_config", `/projects/${id(projectId)}/bgp-config`, options);
    return decode(spec, bgpConfigSchema, (await this.#request(spec)) ?? {});
  }

  async createBgpConfig(projectId: string, request: BgpConfigRequest, options?: CallOptions): Promise<void> {
    await this.#request({
      operation: "create_bgp_config",
      method: "POST",
      path: `/projects/${id(projectId)}/bgp-configs`,
      body: compact({
        asn: request.asn,
        deployment_type: request.deploymentType,
        md5: request.md5 || undefined,
        use_case: request.useCase,
      }),
      retry: "rate-limit-only",
      signal: options?.signal,
    });
  }

  async createBgpSession(
    deviceId: string,
    addressFamily: "ipv4" | "ipv6",
    options?: CallOptions,
  ): Promise<BgpSession> {
    const spec: RequestSpec = {
      operation: "create_bgp_session",
      method: "POST",
      path: `/devices/${id(deviceId)}/bgp/sessions`,
      body: { address_family: addressFamily },
      // A repeat is answered 422 "already has session", which callers treat as success.
      retry: "idempotent",
      signal: options?.signal,
    };
    return decode(spec, bgpSessionSchema, await this.#request(spec));
  }

  async listBgpSessions(deviceId: string, options?: CallOptions): Promise<BgpSession[]> {
    const spec = this.#get("list_bgp_sessions", `/devices/${id(deviceId)}/bgp/sessions`, options);
    return decodeItems(spec, "bgp_sessions", bgpSessionSchema, await this.#request(spec));
  }

  async getBgpNeighbors(deviceId: string, options?: CallOptions): Promise<BgpNeighbor[]> {
    const spec = this.#get("get_bgp_neighbors", `/devices/${id(deviceId)}/bgp/neighbors`, options);
    return decodeItems(spec, "bgp_neighbors", bgpNeighborSchema, await this.#request(spec));
  }

  async getProject(projectId: string, options?: CallOptions): Promise<Project> {
    const spec = this.#get("get_project", `/projects/${id(projectId)}`, options);
    return decode(spec, projectSchema, await this.#request(spec));
  }

  #get(operation: string, path: string, options?: CallOptions, query?: URLSearchParams): RequestSpec {
    return { operation, method: "GET", path, query, retry: "idempotent", signal: options?.signal };
  }

  #delete(operation: string, ipId: string, options?: CallOptions): RequestSpec {
    // Repeating a delete that already succeeded gives 404, which callers read as "already gone".
    return {
      operation,
      method: "DELETE",
      path: `/ips/${id(ipId)}`,
      retry: "idempotent",
      signal: options?.signal,
    };
  }

  /** Reads every page of a list; items with an `id` seen twice (a page boundary shifted) are kept once. */
  async #listAll<S extends z.ZodType<{ id: string }>>(list: {
    operation: string;
    path: string;
    query: URLSearchParams;
    key: string;
    schema: S;
    signal: AbortSignal | undefined;
    skip?: (item: unknown) => boolean;
  }): Promise<z.output<S>[]> {
    const items = new Map<string, z.output<S>>();
    for (let page = 1;; page++) {
      const query = new URLSearchParams(list.query);
      query.set("page", String(page));
      query.set("per_page", String(this.#perPage));
      const spec = this.#get(list.operation, list.path, list, query);
      const body = await this.#request(spec);
      if (!isRecord(body) || !Array.isArray(body[list.key])) {
        throw new MetalResponseError(
          info(spec),
          `unexpected response body: field '${list.key}' is not a list`,
        );
      }
      const raw = body[list.key] as unknown[];
      raw.forEach((item, index) => {
        if (list.skip?.(item)) return;
        const parsed = decode(spec, list.schema, item, `${list.key}[${index}]`);
        items.set(parsed.id, parsed);
      });
      const meta = decode(spec, metaSchema.optional(), body.meta ?? undefined, "meta");
      if (meta?.current_page !== undefined && meta.current_page !== page) {
        throw new MetalResponseError(
          info(spec),
          `unexpected response body: asked for page ${page} but got 'meta.current_page' ${meta.current_page}`,
        );
      }
      const more = meta?.last_page !== undefined
        ? meta.last_page > page
        : meta?.next?.href !== undefined && raw.length > 0;
      if (!more) return [...items.values()];
      if (page >= MAX_PAGES) {
        throw new MetalResponseError(info(spec), `pagination did not end after ${MAX_PAGES} pages`);
      }
    }
  }

  /** Sends one logical request with retries; resolves with the parsed JSON body (`undefined` when empty). */
  async #request(spec: RequestSpec): Promise<unknown> {
    try {
      return await this.#attempts(spec);
    } catch (err) {
      if (err instanceof MetalApiError) this.#observer?.failure(spec.operation, err.name);
      throw err;
    }
  }

  async #attempts(spec: RequestSpec): Promise<unknown> {
    for (let retry = 0;; retry++) {
      await this.#waitForTurn(spec);
      const outcome = await this.#attempt(spec);
      if (!("error" in outcome)) return outcome.body;
      const { error, reason, waitMs } = outcome;
      const rateLimited = error instanceof MetalRateLimitedError;
      const mayRetry = spec.retry === "idempotent" || rateLimited;
      const delayMs = waitMs ?? backoffDelayMs(retry, this.#retry, this.#random);
      if (!mayRetry || retry >= this.#retry.maxRetries || (waitMs ?? 0) > this.#retry.maxRetryAfterMs) {
        throw error;
      }
      if (rateLimited) this.#pausedUntil = Math.max(this.#pausedUntil, this.#clock.now() + delayMs);
      this.#observer?.retry(spec.operation, reason);
      this.#logger.debug("Retrying Metal API request after {reason}", {
        operation: spec.operation,
        method: spec.method,
        path: spec.path,
        reason,
        retry: retry + 1,
        delayMs,
      });
      if (!rateLimited) await this.#clock.sleep(delayMs, spec.signal);
    }
  }

  /** Waits out a server-requested pause and takes a token from the shared rate limiter. */
  async #waitForTurn(spec: RequestSpec): Promise<void> {
    spec.signal?.throwIfAborted();
    const started = this.#clock.now();
    const pauseMs = this.#pausedUntil - started;
    if (pauseMs > 0) await this.#clock.sleep(pauseMs, spec.signal);
    await this.#limiter.acquire(spec.signal);
    const waitedMs = this.#clock.now() - started;
    if (waitedMs > 0) this.#observer?.rateLimitWait(spec.operation, waitedMs / 1000);
  }

  /** One HTTP attempt: a parsed body, a retryable failure, or a thrown final error. */
  async #attempt(spec: RequestSpec): Promise<{ body: unknown } | RetryableFailure> {
    const url = `${this.#baseUrl}${spec.path}${spec.query?.size ? `?${spec.query}` : ""}`;
    const headers = new Headers({
      "Accept": "application/json",
      "User-Agent": this.#userAgent,
      "X-Auth-Token": this.#apiKey,
    });
    if (spec.body !== undefined) headers.set("Content-Type", "application/json");
    // A plain timer rather than AbortSignal.timeout, so it is cleared as soon as the attempt ends.
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException(`No answer within ${this.#timeoutMs} ms`, "TimeoutError")),
      this.#timeoutMs,
    );
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout.signal]) : timeout.signal;
    const reqInfo: MetalRequestInfo = { operation: spec.operation, method: spec.method, path: pathOf(spec) };
    const started = performance.now();
    let status: number | undefined;
    let text: string;
    let response: Response;
    try {
      response = await this.#fetch(
        new Request(url, {
          method: spec.method,
          headers,
          body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
          signal,
        }),
      );
      status = response.status;
      text = await response.text();
    } catch (err) {
      if (spec.signal?.aborted) throw spec.signal.reason;
      const timedOut = timeout.signal.aborted;
      const reason = timedOut ? "timeout" : "network";
      this.#record(spec, reason, started, status);
      const detail = timedOut
        ? `no answer within ${this.#timeoutMs} ms`
        : `connection failed: ${err instanceof Error ? err.message : String(err)}`;
      return {
        error: new MetalTransientError({ ...reqInfo, status }, detail, {
          kind: timedOut ? "timeout" : "network",
          cause: err,
        }),
        reason,
      };
    } finally {
      clearTimeout(timer);
    }
    this.#record(spec, String(status), started, status);
    reqInfo.status = status;
    if (status >= 200 && status < 300) return { body: parseBody(reqInfo, text) };
    return this.#failure(reqInfo, response, text);
  }

  #failure(reqInfo: MetalRequestInfo, response: Response, text: string): RetryableFailure {
    const status = response.status;
    const detail = `${status} ${STATUS_CODES[status] ?? response.statusText}`.trim();
    const serverMessages = errorMessages(text);
    const options = { serverMessages };
    if (status === 429) {
      const waitMs = retryAfterMs(response.headers, this.#clock.now());
      const retryAfter = waitMs ?? this.#retry.baseDelayMs;
      return {
        error: new MetalRateLimitedError(reqInfo, detail, { ...options, retryAfterMs: retryAfter }),
        reason: "429",
        waitMs: waitMs ?? backoffDelayMs(0, this.#retry, this.#random),
      };
    }
    if (status >= 500) {
      return {
        error: new MetalTransientError(reqInfo, detail, { ...options, kind: "server" }),
        reason: String(status),
        waitMs: retryAfterMs(response.headers, this.#clock.now()),
      };
    }
    switch (status) {
      case 401:
        throw new MetalUnauthorizedError(reqInfo, `${detail} (check the API key)`, options);
      case 403:
        throw new MetalForbiddenError(
          reqInfo,
          `${detail} (the API key may not access this resource)`,
          options,
        );
      case 404:
        throw new MetalNotFoundError(reqInfo, detail, options);
      case 422:
        throw new MetalInvalidError(reqInfo, detail, options);
      default:
        throw new MetalResponseError(reqInfo, `unexpected status ${detail}`, options);
    }
  }

  #record(spec: RequestSpec, code: string, started: number, status: number | undefined): void {
    const durationMs = performance.now() - started;
    this.#observer?.request(spec.operation, code, durationMs / 1000);
    // The token travels only in headers, which are never logged.
    this.#logger.trace("Sent Metal API request", {
      operation: spec.operation,
      method: spec.method,
      path: pathOf(spec),
      status: status ?? code,
      durationMs: Math.round(durationMs),
    });
  }
}

function info(spec: RequestSpec): MetalRequestInfo {
  return { operation: spec.operation, method: spec.method, path: pathOf(spec) };
}

function pathOf(spec: RequestSpec): string {
  return spec.query?.size ? `${spec.path}?${spec.query}` : spec.path;
}

/** Encodes an id for a path segment; an empty id is a programming error, not a request for the collection. */
function id(value: string): string {
  if (!value) throw new TypeError("Cannot call the Metal API with an empty id");
  return encodeURIComponent(value);
}

function includeQuery(include: string[] | undefined): URLSearchParams {
  const query = new URLSearchParams();
  // The API reads `include` as one comma-separated value.
  if (include?.length) query.set("include", include.join(","));
  return query;
}

/** Drops `undefined` fields so they are not sent. */
function compact(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseBody(reqInfo: MetalRequestInfo, text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new MetalResponseError(reqInfo, "unexpected response body: not JSON");
  }
}

/** The `errors[]` and `error` strings of an error body; none when the body is not the API's error JSON. */
function errorMessages(text: string): string[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [];
  }
  if (!isRecord(body)) return [];
  const messages = Array.isArray(body.errors) ? body.errors.filter((m) => typeof m === "string") : [];
  if (typeof body.error === "string" && body.error) messages.push(body.error);
  return messages;
}

/** Validates `value` with `schema`; a mismatch is a `MetalResponseError` naming the first bad fields. */
function decode<S extends z.ZodType>(spec: RequestSpec, schema: S, value: unknown, at?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 3).map((issue) => {
    const path = [at, ...issue.path.map(String)].filter(Boolean).join(".");
    return `${path || "body"}: ${issue.message}`;
  });
  throw new MetalResponseError(info(spec), `unexpected response body: ${problems.join("; ")}`);
}

function decodeItems<S extends z.ZodType>(
  spec: RequestSpec,
  key: string,
  schema: S,
  body: unknown,
): z.output<S>[] {
  const raw = isRecord(body) ? body[key] : undefined;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    throw new MetalResponseError(info(spec), `unexpected response body: field '${key}' is not a list`);
  }
  return raw.map((item, index) => decode(spec, schema, item, `${key}[${index}]`));
}

/** `GET|PATCH /ips/{id}` may answer an assignment or a VRF block; only a reservation is accepted. */
function decodeReservation(spec: RequestSpec, body: unknown): IpReservation {
  const type = isRecord(body) ? body.type : undefined;
  if (typeof type !== "string" || type === "vrf" || type === "IPAssignment") {
    throw new MetalResponseError(
      info(spec),
      `the address is not an IP reservation (type ${JSON.stringify(type ?? null)})`,
    );
  }
  return decode(spec, ipReservationSchema, body);
}
