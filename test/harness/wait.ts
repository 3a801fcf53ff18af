/**
 * Polling helpers for integration tests.
 *
 * @module
 */
import { errorMessage } from "../../util/errors.ts";

/** Options of {@linkcode waitFor}. */
export interface WaitForOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Poll interval (default 50 ms). */
  intervalMs?: number;
  /** What was awaited, for the timeout error. */
  message?: string;
  signal?: AbortSignal;
}

/**
 * Calls `fn` until it returns a value other than `undefined`, `null` or `false` (resolving with it), or times
 * out (rejecting with `message` and the last error `fn` threw, if any).
 *
 * @example
 * ```ts
 * const node = await waitFor(() => informer.get("n1"), { message: "node n1 in the cache" });
 * ```
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Exclude<T, undefined | null | false>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) {
        return value as Exclude<T, undefined | null | false>;
      }
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (performance.now() >= deadline) {
      const what = options.message ?? "condition";
      const last = lastError ? `; last error: ${errorMessage(lastError)}` : "";
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
