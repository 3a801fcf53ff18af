/**
 * Health checks behind `/healthz`, `/livez` and `/readyz`, rendered the way Kubernetes components do
 * (`[+]name ok` / `[-]name failed: reason withheld`, `?verbose`, `?exclude=name`, `/healthz/<name>`).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../util/errors.ts";

/** One named check; resolves (or returns) when healthy, throws/rejects with what is wrong otherwise. */
export interface NamedCheck {
  readonly name: string;
  check(signal: AbortSignal): Promise<void> | void;
}

/** The always-passing check every endpoint starts with. */
export const PING: NamedCheck = { name: "ping", check: () => {} };

/** Result of running a set of checks. */
export interface HealthReport {
  /** HTTP status: 200 when every check passed, 500 otherwise (404 for an unknown single check). */
  status: number;
  body: string;
}

const logger = getLogger(["ccm", "health"]);

/**
 * A mutable set of checks for one endpoint (`healthz`, `livez` or `readyz`). Controllers add their ping check
 * when they start; providers add theirs after initialization.
 */
export class HealthChecks {
  readonly endpoint: string;
  readonly #checks = new Map<string, NamedCheck>();
  readonly #timeoutMs: number;

  constructor(endpoint: string, options: { timeoutMs?: number; checks?: NamedCheck[] } = {}) {
    this.endpoint = endpoint;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    for (const check of [PING, ...(options.checks ?? [])]) this.add(check);
  }

  /** Adds (or replaces) a check; returns a function that removes it. */
  add(check: NamedCheck): () => void {
    this.#checks.set(check.name, check);
    return () => {
      if (this.#checks.get(check.name) === check) this.#checks.delete(check.name);
    };
  }

  /** Names of the registered checks, in registration order. */
  names(): string[] {
    return [...this.#checks.keys()];
  }

  /**
   * Runs all checks (except `exclude`) in parallel, each bounded by the timeout; `verbose` lists every check
   * even when all pass.
   */
  async run(options: { verbose?: boolean; exclude?: readonly string[] } = {}): Promise<HealthReport> {
    const excluded = new Set(options.exclude ?? []);
    const checks = [...this.#checks.values()].filter((c) => !excluded.has(c.name));
    const results = await Promise.all(checks.map((c) => this.#runOne(c)));
    const failed = results.some((r) => r !== undefined);
    if (!failed && !options.verbose) return { status: 200, body: "ok" };
    const lines = checks.map((c, i) =>
      results[i] === undefined ? `[+]${c.name} ok` : `[-]${c.name} failed: reason withheld`
    );
    for (const name of excluded) lines.push(`[+]${name} excluded: ok`);
    lines.push(`${this.endpoint} check ${failed ? "failed" : "passed"}`);
    if (failed) {
      const reasons = checks.flatMap((c, i) => results[i] === undefined ? [] : [`${c.name}: ${results[i]}`]);
      logger.warn("Health check failed", { endpoint: this.endpoint, failed: reasons });
    }
    return { status: failed ? 500 : 200, body: lines.join("\n") + "\n" };
  }

  /** Runs one check by name, as `/<endpoint>/<name>`. */
  async runOne(name: string): Promise<HealthReport> {
    const check = this.#checks.get(name);
    if (check === undefined) return { status: 404, body: `${this.endpoint} check "${name}" not found\n` };
    const failure = await this.#runOne(check);
    return failure === undefined
      ? { status: 200, body: "ok" }
      : { status: 500, body: `internal server error: ${failure}\n` };
  }

  /** `undefined` when the check passed, otherwise the failure message. */
  async #runOne(check: NamedCheck): Promise<string | undefined> {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new Error(`check "${check.name}" timed out after ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
    });
    try {
      await Promise.race([Promise.resolve().then(() => check.check(abort.signal)), timeout]);
      return undefined;
    } catch (err) {
      return errorMessage(err);
    } finally {
      clearTimeout(timer);
    }
  }
}
