/**
 * The temporary directory of a test bed and the cleanups of what was started for it: `stop()` runs them in
 * reverse order, then removes the directory (kept when env `CCM_TEST_KEEP_DIR=1`, to read the logs).
 *
 * @module
 */

/** A temporary directory with a stack of cleanups; `await using` stops it at the end of the scope. */
export interface TestDir extends AsyncDisposable {
  readonly path: string;
  /** Adds a cleanup; `stop()` runs the last added first and ignores their errors. */
  defer(cleanup: () => Promise<unknown>): void;
  /** Runs the cleanups and removes the directory; later calls return the same promise. */
  stop(): Promise<void>;
}

/** Options of {@linkcode makeTestDir}. */
export interface TestDirOptions {
  /** Prefix of the directory name, e.g. `ccm-lb-test-`. */
  prefix: string;
  /** Keep the directory after `stop()`; default: env `CCM_TEST_KEEP_DIR` is `1`. */
  keepDir?: boolean;
}

/** Creates a temporary directory for a test bed. */
export async function makeTestDir(options: TestDirOptions): Promise<TestDir> {
  const keepDir = options.keepDir ?? Deno.env.get("CCM_TEST_KEEP_DIR") === "1";
  const path = await Deno.makeTempDir({ prefix: options.prefix });
  const cleanups: Array<() => Promise<unknown>> = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
      if (!keepDir) await Deno.remove(path, { recursive: true }).catch(() => {});
    })();
  return {
    path,
    defer(cleanup) {
      cleanups.push(cleanup);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
