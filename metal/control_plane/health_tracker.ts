/**
 * Remembers health-check results per target (a node's host address, or the EIP path) and turns them into a
 * state with hysteresis: a target becomes `unhealthy` only after `failureThreshold` consecutive failures, so
 * one lost probe never moves the EIP.
 *
 * @module
 */

/** Result of one health check of one target. */
export interface ProbeResult {
  ok: boolean;
  /** What happened, for Events and logs: `HTTP 200`, `HTTP 500`, `timed out after 5000 ms`, ... */
  detail: string;
  /** URL that answered (the first healthy one) or the last one tried. */
  url: string;
  /** Address that answered healthy, when `ok`. */
  address?: string;
}

/**
 * - `unknown`: never checked;
 * - `healthy`: the last check passed;
 * - `failing`: failed fewer than `failureThreshold` times in a row (not acted on yet);
 * - `unhealthy`: failed at least `failureThreshold` times in a row.
 */
export type HealthState = "unknown" | "healthy" | "failing" | "unhealthy";

/** What is known of one target. */
export interface HealthRecord {
  state: HealthState;
  consecutiveFailures: number;
  last: ProbeResult;
  /** When the last result was recorded (clock ms). */
  at: number;
}

/** See the module documentation. */
export class HealthTracker {
  readonly failureThreshold: number;
  #records = new Map<string, HealthRecord>();

  constructor(failureThreshold: number) {
    if (!Number.isInteger(failureThreshold) || failureThreshold < 1) {
      throw new Error(`Health check failure threshold must be a positive integer, got ${failureThreshold}`);
    }
    this.failureThreshold = failureThreshold;
  }

  /** Records a result and returns the target's new record. */
  record(key: string, result: ProbeResult, now: number): HealthRecord {
    const failures = result.ok ? 0 : (this.#records.get(key)?.consecutiveFailures ?? 0) + 1;
    const state: HealthState = result.ok
      ? "healthy"
      : failures >= this.failureThreshold
      ? "unhealthy"
      : "failing";
    const record = { state, consecutiveFailures: failures, last: result, at: now };
    this.#records.set(key, record);
    return record;
  }

  /** The target's record, if it was ever checked. */
  get(key: string): HealthRecord | undefined {
    return this.#records.get(key);
  }

  /** The target's state (`unknown` when never checked). */
  state(key: string): HealthState {
    return this.#records.get(key)?.state ?? "unknown";
  }

  /** Forgets a target (for example the EIP path after the EIP moved). */
  forget(key: string): void {
    this.#records.delete(key);
  }

  /** Forgets every target not in `keys` (nodes that are gone). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of [...this.#records.keys()]) if (!keys.has(key)) this.#records.delete(key);
  }
}
