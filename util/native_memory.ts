/**
 * Returns freed native memory to the operating system. glibc's malloc keeps what the runtime frees (V8's
 * off-heap buffers, the HTTP and TLS layers' allocations) in its arenas, so after a burst — thousands of Nodes
 * listed at start-up, a device list with `include` per node during BGP set-up — a process idles far above its
 * live data: at 3,000 nodes 364 MB RSS against 246 MB after one `malloc_trim`. The Go CCM's runtime returns
 * such memory by itself; here the allocator is tuned at start and trimmed every minute (at 1,000 nodes: idle
 * RSS 210 → 177 MB, see bench/RESULTS.md). On systems without glibc nothing happens.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { type Clock, systemClock } from "./clock.ts";
import { runPeriodically } from "./periodic.ts";

/** How often freed native memory is handed back; a trim of a few hundred MB of arenas takes milliseconds. */
export const DEFAULT_TRIM_INTERVAL_MS = 60_000;

/** glibc `mallopt` parameters (malloc.h). */
const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;
const M_ARENA_MAX = -8;

/** The allocator's tuning and trim calls. */
export interface NativeAllocator {
  /**
   * Lets freed memory go back by itself where it can: blocks of 128 KiB and more get their own mapping, which
   * a free unmaps (glibc otherwise raises that threshold up to 32 MB as big blocks are freed, and keeps them),
   * the heap top is returned past 1 MiB free, and threads share at most 2 arenas.
   */
  tune(): void;
  /** Hands free memory at the top of and inside the arenas back; whether any was released. */
  trim(): boolean;
  close(): void;
}

/** glibc's `mallopt` and `malloc_trim` through FFI, or `undefined` without glibc (musl, macOS, Windows). */
export function openGlibcAllocator(): NativeAllocator | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const symbols = {
    malloc_trim: { parameters: ["usize"], result: "i32" },
    mallopt: { parameters: ["i32", "i32"], result: "i32" },
  } as const;
  let lib: Deno.DynamicLibrary<typeof symbols>;
  try {
    lib = Deno.dlopen("libc.so.6", symbols);
  } catch {
    // Not glibc, or FFI not permitted (a `deno run` without --allow-ffi).
    return undefined;
  }
  return {
    tune: () => {
      lib.symbols.mallopt(M_MMAP_THRESHOLD, 128 * 1024);
      lib.symbols.mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
      lib.symbols.mallopt(M_ARENA_MAX, 2);
    },
    trim: () => lib.symbols.malloc_trim(0n) === 1,
    close: () => lib.close(),
  };
}

/** Options of {@linkcode runNativeMemoryTrimmer}. */
export interface NativeMemoryTrimmerOptions {
  signal: AbortSignal;
  /** Default {@linkcode openGlibcAllocator}. */
  openAllocator?: () => NativeAllocator | undefined;
  intervalMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** Trims every `intervalMs` until `signal` aborts; resolves at once when there is no allocator to trim. */
export async function runNativeMemoryTrimmer(options: NativeMemoryTrimmerOptions): Promise<void> {
  const allocator = (options.openAllocator ?? openGlibcAllocator)();
  if (allocator === undefined) {
    options.logger?.debug("Not trimming native memory: no glibc allocator");
    return;
  }
  allocator.tune();
  const clock = options.clock ?? systemClock;
  const intervalMs = options.intervalMs ?? DEFAULT_TRIM_INTERVAL_MS;
  try {
    await runPeriodically(() => allocator.trim(), {
      periodMs: intervalMs,
      signal: options.signal,
      clock,
      immediate: false,
    });
  } finally {
    allocator.close();
  }
}
