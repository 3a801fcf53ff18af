/**
 * LBaaS access tokens: the Metal API key is exchanged (`POST <exchange URL>`, `Authorization: Bearer <key>`,
 * no body) for a short-lived token, which is cached until shortly before it expires and shared by concurrent
 * callers (upstream exchanged before every single call). Expiry comes from `expires_in`, else `expiry`, else the
 * JWT's `exp` claim, else a conservative default.
 *
 * @module
 */
import { z } from "zod";
import { type Clock, systemClock } from "../../util/clock.ts";
import { backoffDelayMs, DEFAULT_RETRY_POLICY, retryAfterMs } from "../api/retry.ts";
import { errorMessage } from "../../util/errors.ts";

/** Gives the `Authorization` header value for LBaaS calls. */
export interface TokenProvider {
  /** `<type> <access token>`, from cache when still fresh. */
  authorization(signal?: AbortSignal): Promise<string>;
  /** Forgets the cached token (the API said it is no longer valid). */
  invalidate(): void;
}

/** Options of {@linkcode ExchangeTokenSource}. */
export interface ExchangeTokenSourceOptions {
  /** Token exchange URL. */
  url: string;
  /** Metal API key. Never logged. */
  apiKey: string;
  /** Refresh this long before expiry (at most half the token's lifetime); default 60 s. */
  refreshMarginMs?: number;
  /** Lifetime assumed when the answer does not say; default 5 min. */
  defaultTtlMs?: number;
  /** Per-attempt timeout; default 30 s. */
  timeoutMs?: number;
  /** Retries of 5xx, 429 and network errors; default 4. */
  maxRetries?: number;
  /** User agent. */
  userAgent?: string;
  /** Called after every exchange attempt with its outcome. */
  onExchange?: (result: "ok" | "error") => void;
  /** Injected for tests. */
  fetch?: (request: Request) => Promise<Response>;
  /** Injected for tests. */
  clock?: Clock;
  /** Uniform random numbers in [0, 1) for backoff jitter; injected for tests. */
  random?: () => number;
}

/** The token exchange failed; the message says why and never contains the API key. */
export class TokenExchangeError extends Error {
  /** HTTP status, when the server answered. */
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "TokenExchangeError";
    this.status = status;
  }
}

const tokenSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().nullish(),
  expires_in: z.number().nullish(),
  expiry: z.string().nullish(),
});

interface CachedToken {
  header: string;
  refreshAt: number;
}

/** See the module documentation. */
export class ExchangeTokenSource implements TokenProvider {
  #options: ExchangeTokenSourceOptions;
  #clock: Clock;
  #fetch: (request: Request) => Promise<Response>;
  #cached?: CachedToken;
  #inFlight?: Promise<string>;

  constructor(options: ExchangeTokenSourceOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#fetch = options.fetch ?? ((request) => fetch(request));
  }

  authorization(signal?: AbortSignal): Promise<string> {
    const cached = this.#cached;
    if (cached && this.#clock.now() < cached.refreshAt) return Promise.resolve(cached.header);
    // One exchange at a time: callers that arrive meanwhile share it (and its failure).
    this.#inFlight ??= this.#exchange(signal).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  invalidate(): void {
    this.#cached = undefined;
  }

  async #exchange(signal?: AbortSignal): Promise<string> {
    const maxRetries = this.#options.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries;
    for (let attempt = 0;; attempt++) {
      let response: Response;
      let text: string;
      try {
        ({ response, text } = await this.#post(signal));
      } catch (err) {
        this.#options.onExchange?.("error");
        if (signal?.aborted) throw err;
        if (attempt < maxRetries) {
          await this.#clock.sleep(
            backoffDelayMs(attempt, DEFAULT_RETRY_POLICY, this.#options.random),
            signal,
          );
          continue;
        }
        throw new TokenExchangeError(
          `Token exchange at ${this.#options.url} failed: ${errorMessage(err)}; check the token exchange URL`,
          undefined,
          { cause: err },
        );
      }
      if (response.status === 200) {
        this.#options.onExchange?.("ok");
        return this.#store(text);
      }
      this.#options.onExchange?.("error");
      const retryable = response.status === 429 || response.status >= 500;
      if (retryable && attempt < maxRetries) {
        const wait = retryAfterMs(response.headers, this.#clock.now()) ??
          backoffDelayMs(attempt, DEFAULT_RETRY_POLICY, this.#options.random);
        await this.#clock.sleep(Math.min(wait, DEFAULT_RETRY_POLICY.maxRetryAfterMs), signal);
        continue;
      }
      const hint = response.status === 401 || response.status === 403 ? "; check METAL_API_KEY" : "";
      throw new TokenExchangeError(
        `Token exchange request failed with status ${response.status}, body ${
          JSON.stringify(text.slice(0, 300))
        }${hint}`,
        response.status,
      );
    }
  }

  async #post(signal?: AbortSignal): Promise<{ response: Response; text: string }> {
    const timeoutMs = this.#options.timeoutMs ?? 30_000;
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException(`No answer within ${timeoutMs} ms`, "TimeoutError")),
      timeoutMs,
    );
    try {
      const headers = new Headers({
        Authorization: `Bearer ${this.#options.apiKey}`,
        Accept: "application/json",
      });
      if (this.#options.userAgent) headers.set("User-Agent", this.#options.userAgent);
      const response = await this.#fetch(
        new Request(this.#options.url, {
          method: "POST",
          headers,
          signal: signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal,
        }),
      );
      return { response, text: await response.text() };
    } finally {
      clearTimeout(timer);
    }
  }

  #store(text: string): string {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new TokenExchangeError("Token exchange answered 200 with a body that is not JSON", 200);
    }
    const parsed = tokenSchema.safeParse(body);
    if (!parsed.success) {
      throw new TokenExchangeError("Token exchange answered 200 without an access_token", 200);
    }
    const token = parsed.data;
    const now = this.#clock.now();
    const type = !token.token_type || token.token_type.toLowerCase() === "bearer"
      ? "Bearer"
      : token.token_type;
    const expiresAt = expiryOf(token, now) ?? now + (this.#options.defaultTtlMs ?? 5 * 60_000);
    const lifetime = Math.max(0, expiresAt - now);
    const margin = Math.min(this.#options.refreshMarginMs ?? 60_000, lifetime / 2);
    const header = `${type} ${token.access_token}`;
    this.#cached = { header, refreshAt: expiresAt - margin };
    return header;
  }
}

/** Absolute expiry in ms: `expires_in`, else `expiry` (RFC 3339), else the JWT `exp` claim. */
export function expiryOf(
  token: { access_token: string; expires_in?: number | null; expiry?: string | null },
  nowMs: number,
): number | undefined {
  if (typeof token.expires_in === "number" && token.expires_in > 0) return nowMs + token.expires_in * 1000;
  if (token.expiry) {
    const t = Date.parse(token.expiry);
    if (!Number.isNaN(t)) return t;
  }
  const payload = token.access_token.split(".")[1];
  if (payload) {
    try {
      const json = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
      if (typeof json.exp === "number") return json.exp * 1000;
    } catch {
      // Not a JWT: fall through to the default lifetime.
    }
  }
  return undefined;
}
