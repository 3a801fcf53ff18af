/**
 * Fault injection for the API routes: added latency, a share of simulated 500s, a requests-per-second limit
 * (429 with Retry-After and X-RateLimit-* headers), and scripted failures ("fail the next 2 POSTs to this
 * path with 503"). Settings change at run time through the admin API.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { Clock } from "../util/clock.ts";

/** Global fault settings. */
export interface FaultSettings {
  /** Added to every API request before it is handled. */
  latencyMs: number;
  /** Share (0–1) of API requests answered with a simulated 500 before they are handled. */
  errorRate: number;
  /** Requests per second allowed (0 = unlimited); excess requests get 429. */
  rateLimit: number;
}

/** A scripted failure: the next `count` matching requests get `status` (before they are handled). */
export interface ScriptedFailure {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Request path prefix to match, e.g. `/metal/v1/projects/<id>/ips`. */
  path: string;
  status: number;
  count: number;
  message?: string;
  /** Seconds sent as `Retry-After` with the failure (none when absent). */
  retryAfter?: number;
}

/** Default settings: no faults. */
export const NO_FAULTS: FaultSettings = { latencyMs: 0, errorRate: 0, rateLimit: 0 };

/** Fault state plus the middleware that applies it. */
export class Faults {
  settings: FaultSettings;
  scripted: ScriptedFailure[] = [];
  #clock: Clock;
  #random: () => number;
  #windowStart = 0;
  #windowCount = 0;

  constructor(options: { clock: Clock; random?: () => number; settings?: Partial<FaultSettings> }) {
    this.#clock = options.clock;
    this.#random = options.random ?? Math.random;
    this.settings = { ...NO_FAULTS, ...options.settings };
  }

  /** Clears settings and scripted failures. */
  reset(): void {
    this.settings = { ...NO_FAULTS };
    this.scripted = [];
    this.#windowCount = 0;
  }

  /** Hono middleware applying the faults (mount it on API routes only). */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const { latencyMs, errorRate, rateLimit } = this.settings;
      if (rateLimit > 0) {
        const now = this.#clock.now();
        const windowStart = Math.floor(now / 1000) * 1000;
        if (windowStart !== this.#windowStart) {
          this.#windowStart = windowStart;
          this.#windowCount = 0;
        }
        this.#windowCount++;
        const remaining = Math.max(0, rateLimit - this.#windowCount);
        const reset = (windowStart + 1000) / 1000;
        c.header("X-RateLimit-Limit", String(rateLimit));
        c.header("X-RateLimit-Remaining", String(remaining));
        c.header("X-RateLimit-Reset", String(reset));
        if (this.#windowCount > rateLimit) {
          c.header("Retry-After", String(Math.max(1, Math.ceil((windowStart + 1000 - now) / 1000))));
          return c.json({
            errors: [
              `Rate limit exceeded: at most ${rateLimit} requests per second; retry after the Retry-After delay`,
            ],
          }, 429);
        }
      }
      if (latencyMs > 0) await this.#clock.sleep(latencyMs);
      const scripted = this.#takeScripted(c.req.method, c.req.path);
      if (scripted) {
        if (scripted.retryAfter !== undefined) c.header("Retry-After", String(scripted.retryAfter));
        return c.json(
          { errors: [scripted.message ?? `Simulated failure (scripted with status ${scripted.status})`] },
          scripted.status as 500,
        );
      }
      if (errorRate > 0 && this.#random() < errorRate) {
        return c.json({ errors: [`Simulated internal server error (error rate ${errorRate})`] }, 500);
      }
      await next();
    };
  }

  #takeScripted(method: string, path: string): ScriptedFailure | undefined {
    const i = this.scripted.findIndex((f) =>
      (f.method === undefined || f.method.toUpperCase() === method) && path.startsWith(f.path)
    );
    if (i < 0) return undefined;
    const f = this.scripted[i]!;
    if (--f.count <= 0) this.scripted.splice(i, 1);
    return f;
  }
}
