/**
 * A bounded worker pool over a list: at most N calls in flight, items taken in order.
 *
 * @module
 */

/** Options of {@linkcode forEachConcurrently}. */
export interface ForEachConcurrentlyOptions {
  /** Most calls in flight at once; values below 1 count as 1. */
  concurrency: number;
  /** Once aborted, no further item is started; the calls in flight are finished (and awaited). */
  signal?: AbortSignal | undefined;
}

/**
 * Calls `fn` for every item, at most `concurrency` at a time, starting items in list order. Resolves when every
 * started call has finished. When a call rejects, no further item is started, and the returned promise rejects
 * with that first error once the calls still in flight have settled.
 *
 * @example
 * ```ts
 * await forEachConcurrently(nodes, (node) => refresh(node), { concurrency: 4, signal });
 * ```
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  fn: (item: T, index: number) => Promise<void>,
  options: ForEachConcurrentlyOptions,
): Promise<void> {
  const { signal } = options;
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && failure === undefined && !signal?.aborted) {
      const index = next++;
      try {
        await fn(items[index]!, index);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  const workers = Math.min(Math.max(1, options.concurrency), items.length);
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure !== undefined) throw failure.err;
}
