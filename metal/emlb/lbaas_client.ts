/**
 * A small client of the Equinix Metal Load Balancer API (LBaaS): the calls the CCM makes, answers validated
 * leniently with zod (unknown fields ignored, only what we read required), a per-attempt timeout, retries of
 * 429 for every call and of 5xx/network errors for calls that are safe to repeat (GET, DELETE), and one token
 * refresh when the API answers 401.
 *
 * @module
 */
import { z } from "zod";
import { type Clock, systemClock } from "../../util/clock.ts";
import { backoffDelayMs, DEFAULT_RETRY_POLICY, retryAfterMs, type RetryPolicy } from "../api/retry.ts";
import type { TokenProvider } from "./token_source.ts";

const portSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  number: z.number(),
  pool_ids: z.array(z.string()).nullish(),
});
const poolShortSchema = z.looseObject({ id: z.string(), name: z.string().nullish() });
const loadBalancerSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  ports: z.array(portSchema).nullish(),
  pools: z.array(z.array(poolShortSchema).nullish()).nullish(),
  ips: z.array(z.string()).nullish(),
});
const originSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  target: z.string(),
  port_number: z.number(),
});
const poolSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  ports: z.array(z.looseObject({ id: z.string() })).nullish(),
});
const createdSchema = z.looseObject({ id: z.string().min(1) });

/** A load balancer as read (only the fields we use). */
export type LoadBalancer = z.infer<typeof loadBalancerSchema>;
/** A pool origin as read. */
export type Origin = z.infer<typeof originSchema>;
/** A project pool as read. */
export type Pool = z.infer<typeof poolSchema>;

/** Why an LBaaS call failed. */
export type LbaasErrorKind =
  | "not-found"
  | "rejected"
  | "unauthorized"
  | "rate-limited"
  | "transient"
  | "invalid";

/** A failed LBaaS call; the message names the operation, method, path and the server's answer. */
export class LbaasError extends Error {
  readonly kind: LbaasErrorKind;
  readonly status: number | undefined;
  readonly operation: string;
  constructor(
    info: { operation: string; method: string; path: string; status?: number },
    kind: LbaasErrorKind,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`LBaaS request '${info.operation}' (${info.method} ${info.path}) failed: ${detail}`, options);
    this.name = "LbaasError";
    this.kind = kind;
    this.status = info.status;
    this.operation = info.operation;
  }
}

/** Whether `err` is an LBaaS 404. */
export function isLbaasNotFound(err: unknown): boolean {
  return err instanceof LbaasError && err.kind === "not-found";
}

/** Options of {@linkcode LbaasClient}. */
export interface LbaasClientOptions {
  /** API base URL, for example `https://lb.metalctrl.io`. */
  baseUrl: string;
  projectId: string;
  tokens: TokenProvider;
  /** Per-attempt timeout; default 30 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  userAgent?: string;
  /** Called after every attempt: operation, status code (or `timeout`/`network`), seconds. */
  observe?: (operation: string, code: string, seconds: number) => void;
  /** Injected for tests. */
  fetch?: (request: Request) => Promise<Response>;
  /** Injected for tests: times backoff. */
  clock?: Clock;
  /** Injected for tests: backoff jitter. */
  random?: () => number;
}

interface Call<T> {
  operation: string;
  method: "GET" | "POST" | "DELETE";
  path: string;
  body?: unknown;
  schema?: z.ZodType<T>;
  signal?: AbortSignal;
}

/** See the module documentation. */
export class LbaasClient {
  #options: LbaasClientOptions;
  #base: string;
  #retry: RetryPolicy;
  #clock: Clock;
  #fetch: (request: Request) => Promise<Response>;

  constructor(options: LbaasClientOptions) {
    this.#options = options;
    this.#base = options.baseUrl.replace(/\/+$/, "");
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#clock = options.clock ?? systemClock;
    this.#fetch = options.fetch ?? ((request) => fetch(request));
  }

  #project(): string {
    return `/v1/projects/${encodeURIComponent(this.#options.projectId)}`;
  }

  /** Load balancers of the project. */
  async listLoadBalancers(signal?: AbortSignal): Promise<LoadBalancer[]> {
    const schema = z.looseObject({ loadbalancers: z.array(loadBalancerSchema).nullish() });
    const r = await this.#call({
      operation: "list_load_balancers",
      method: "GET",
      path: `${this.#project()}/loadbalancers`,
      schema,
      signal,
    });
    return r.loadbalancers ?? [];
  }

  /** Creates a load balancer; returns its id. */
  async createLoadBalancer(
    req: { name: string; locationId: string; providerId: string },
    signal?: AbortSignal,
  ): Promise<string> {
    const body = {
      name: req.name,
      "location_id": req.locationId,
      "port_ids": null,
      "provider_id": req.providerId,
    };
    const r = await this.#call({
      operation: "create_load_balancer",
      method: "POST",
      path: `${this.#project()}/loadbalancers`,
      body,
      schema: createdSchema,
      signal,
    });
    return r.id;
  }

  /** One load balancer, with its ports, pools (parallel to ports) and IPs. */
  async getLoadBalancer(id: string, signal?: AbortSignal): Promise<LoadBalancer> {
    return await this.#call({
      operation: "get_load_balancer",
      method: "GET",
      path: `/v1/loadbalancers/${encodeId(id)}`,
      schema: loadBalancerSchema,
      signal,
    });
  }

  /** Deletes a load balancer (its ports go with it); an absent one counts as deleted. */
  async deleteLoadBalancer(id: string, signal?: AbortSignal): Promise<void> {
    return await this.#delete("delete_load_balancer", `/v1/loadbalancers/${encodeId(id)}`, signal);
  }

  /** Pools of the project. */
  async listPools(signal?: AbortSignal): Promise<Pool[]> {
    const schema = z.looseObject({ pools: z.array(poolSchema).nullish() });
    const r = await this.#call({
      operation: "list_pools",
      method: "GET",
      path: `${this.#project()}/loadbalancers/pools`,
      schema,
      signal,
    });
    return r.pools ?? [];
  }

  /** Creates a TCP pool; returns its id. */
  async createPool(name: string, signal?: AbortSignal): Promise<string> {
    const r = await this.#call({
      operation: "create_pool",
      method: "POST",
      path: `${this.#project()}/loadbalancers/pools`,
      body: { name, protocol: "tcp" },
      schema: createdSchema,
      signal,
    });
    return r.id;
  }

  /** Deletes a pool and its origins; an absent one counts as deleted. */
  async deletePool(id: string, signal?: AbortSignal): Promise<void> {
    return await this.#delete("delete_pool", `/v1/loadbalancers/pools/${encodeId(id)}`, signal);
  }

  /** Origins of a pool. */
  async listOrigins(poolId: string, signal?: AbortSignal): Promise<Origin[]> {
    const schema = z.looseObject({ origins: z.array(originSchema).nullish() });
    const r = await this.#call({
      operation: "list_pool_origins",
      method: "GET",
      path: `/v1/loadbalancers/pools/${encodeId(poolId)}/origins`,
      schema,
      signal,
    });
    return r.origins ?? [];
  }

  /** Adds an active origin to a pool; returns its id. */
  async createOrigin(
    req: { poolId: string; name: string; target: string; portNumber: number },
    signal?: AbortSignal,
  ): Promise<string> {
    const body = {
      name: req.name,
      target: req.target,
      "port_number": req.portNumber,
      active: true,
      "pool_id": req.poolId,
    };
    const r = await this.#call({
      operation: "create_pool_origin",
      method: "POST",
      path: `/v1/loadbalancers/pools/${encodeId(req.poolId)}/origins`,
      body,
      schema: createdSchema,
      signal,
    });
    return r.id;
  }

  /** Deletes an origin; an absent one counts as deleted. */
  async deleteOrigin(id: string, signal?: AbortSignal): Promise<void> {
    return await this.#delete(
      "delete_pool_origin",
      `/v1/loadbalancers/pools/origins/${encodeId(id)}`,
      signal,
    );
  }

  /** Adds a listener port forwarding to pools; returns its id. */
  async createPort(
    loadBalancerId: string,
    req: { name: string; number: number; poolIds: string[] },
    signal?: AbortSignal,
  ): Promise<string> {
    const r = await this.#call({
      operation: "create_port",
      method: "POST",
      path: `/v1/loadbalancers/${encodeId(loadBalancerId)}/ports`,
      body: { name: req.name, number: req.number, "pool_ids": req.poolIds },
      schema: createdSchema,
      signal,
    });
    return r.id;
  }

  /** Deletes a port; an absent one counts as deleted. */
  async deletePort(id: string, signal?: AbortSignal): Promise<void> {
    return await this.#delete("delete_port", `/v1/loadbalancers/ports/${encodeId(id)}`, signal);
  }

  async #delete(operation: string, path: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#call({ operation, method: "DELETE", path, signal });
    } catch (err) {
      if (!isLbaasNotFound(err)) throw err;
    }
  }

  async #call<T>(call: Call<T>): Promise<T> {
    const info = { operation: call.operation, method: call.method, path: call.path };
    const idempotent = call.method !== "POST";
    let refreshedToken = false;
    for (let attempt = 0;; attempt++) {
      const authorization = await this.#options.tokens.authorization(call.signal);
      const outcome = await this.#attempt(call, authorization);
      if ("error" in outcome) {
        const { error, timedOut } = outcome;
        if (call.signal?.aborted) throw error;
        const detail = timedOut
          ? `no answer within ${this.#timeoutMs()} ms`
          : `connection failed: ${error.message}`;
        if (idempotent && attempt < this.#retry.maxRetries) {
          await this.#clock.sleep(backoffDelayMs(attempt, this.#retry, this.#options.random), call.signal);
          continue;
        }
        throw new LbaasError(info, "transient", detail, { cause: error });
      }
      const { response, text } = outcome;
      const status = response.status;
      const failed = { ...info, status };
      if (status >= 200 && status < 300) return this.#decode(call, failed, text);
      if (status === 401 && !refreshedToken) {
        refreshedToken = true;
        this.#options.tokens.invalidate();
        attempt--;
        continue;
      }
      const retryable = status === 429 || (idempotent && status >= 500);
      if (retryable && attempt < this.#retry.maxRetries) {
        const asked = retryAfterMs(response.headers, this.#clock.now());
        if (asked === undefined || asked <= this.#retry.maxRetryAfterMs) {
          const wait = asked ?? backoffDelayMs(attempt, this.#retry, this.#options.random);
          await this.#clock.sleep(wait, call.signal);
          continue;
        }
      }
      throw new LbaasError(failed, errorKind(status), `HTTP ${status}${serverMessage(text)}`);
    }
  }

  #timeoutMs(): number {
    return this.#options.timeoutMs ?? 30_000;
  }

  async #attempt<T>(
    call: Call<T>,
    authorization: string,
  ): Promise<{ response: Response; text: string } | { error: Error; timedOut: boolean }> {
    const timeoutMs = this.#timeoutMs();
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException(`No answer within ${timeoutMs} ms`, "TimeoutError")),
      timeoutMs,
    );
    const headers = new Headers({ Authorization: authorization, Accept: "application/json" });
    if (this.#options.userAgent) headers.set("User-Agent", this.#options.userAgent);
    if (call.body !== undefined) headers.set("Content-Type", "application/json");
    const start = performance.now();
    try {
      const response = await this.#fetch(
        new Request(`${this.#base}${call.path}`, {
          method: call.method,
          headers,
          body: call.body === undefined ? undefined : JSON.stringify(call.body),
          signal: call.signal ? AbortSignal.any([call.signal, timeout.signal]) : timeout.signal,
        }),
      );
      const text = await response.text();
      this.#options.observe?.(call.operation, String(response.status), (performance.now() - start) / 1000);
      return { response, text };
    } catch (err) {
      const timedOut = timeout.signal.aborted;
      this.#options.observe?.(
        call.operation,
        timedOut ? "timeout" : "network",
        (performance.now() - start) / 1000,
      );
      return { error: err instanceof Error ? err : new Error(String(err)), timedOut };
    } finally {
      clearTimeout(timer);
    }
  }

  #decode<T>(
    call: Call<T>,
    info: { operation: string; method: string; path: string; status: number },
    text: string,
  ): T {
    if (!call.schema) return undefined as T;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new LbaasError(info, "invalid", "the answer is not JSON");
    }
    const parsed = call.schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join(".") || "body";
      throw new LbaasError(info, "invalid", `unexpected answer: ${where}: ${issue?.message ?? "invalid"}`);
    }
    return parsed.data;
  }
}

function encodeId(id: string): string {
  if (id === "") throw new Error("LBaaS object id is empty; refusing to call the API with an empty id");
  return encodeURIComponent(id);
}

function errorKind(status: number): LbaasErrorKind {
  if (status === 404) return "not-found";
  if (status === 401 || status === 403) return "unauthorized";
  if (status === 429) return "rate-limited";
  if (status >= 500) return "transient";
  return "rejected";
}

/** `: <messages>` from an error body (`errors[]`, `error` or `message`), or nothing. */
function serverMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { errors?: unknown; error?: unknown; message?: unknown };
    const messages = [
      ...(Array.isArray(body.errors) ? body.errors : []),
      body.error,
      body.message,
    ].filter((m): m is string => typeof m === "string" && m !== "");
    return messages.length > 0 ? `: ${messages.join(", ")}` : "";
  } catch {
    return text.trim() === "" ? "" : `: ${text.trim().slice(0, 200)}`;
  }
}
