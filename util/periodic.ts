/**
 * A loop that runs a function every period until a signal aborts, on an injectable {@linkcode Clock}.
 *
 * @module
 */
import { type Clock, systemClock } from "./clock.ts";

/** Options of {@linkcode runPeriodically}. */
export interface RunPeriodicallyOptions {
  /** Pause after each run, from its end to the next start (upstream `wait.Until`'s sliding period). */
  periodMs: number;
  /** Ends the loop: the pause is cut short, and a run in progress is finished first. */
  signal: AbortSignal;
  clock?: Clock | undefined;
  /**
   * Run at once, then after every period (`true`, as `wait.Until`), or wait a period before the first run.
   *
   * @default {true}
   */
  immediate?: boolean;
  /**
   * Told about a run that threw; the loop goes on. Without it, an error ends the loop and the returned promise
   * rejects with it.
   */
  onError?: ((err: unknown) => void) | undefined;
}

/**
 * Calls `fn` (awaiting what it returns) every `periodMs` until `signal` aborts; resolves once the loop has
 * stopped.
 *
 * @example
 * ```ts
 * await runPeriodically(() => janitor.pass(signal), { periodMs: 60_000, signal });
 * ```
 */
export async function runPeriodically(
  fn: () => unknown,
  options: RunPeriodicallyOptions,
): Promise<void> {
  const { signal, periodMs, onError } = options;
  const clock = options.clock ?? systemClock;
  const pause = () => clock.sleep(periodMs, signal).then(() => true, () => false);
  if (options.immediate === false && !(await pause())) return;
  while (!signal.aborted) {
    try {
      await fn();
    } catch (err) {
      if (onError === undefined) throw err;
      onError(err);
    }
    if (!(await pause())) return;
  }
}
