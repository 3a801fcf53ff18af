import assert from "node:assert/strict";
import { FakeClock } from "./clock.ts";
import { DEFAULT_TRIM_INTERVAL_MS, openGlibcAllocator, runNativeMemoryTrimmer } from "./native_memory.ts";

Deno.test("openGlibcAllocator() tunes and trims through glibc on Linux", () => {
  const allocator = openGlibcAllocator();
  if (Deno.build.os !== "linux") {
    assert.equal(allocator, undefined);
    return;
  }
  assert.ok(allocator, "glibc's malloc_trim is reachable");
  try {
    allocator.tune();
    // Freed native memory to give back: a large buffer made and dropped.
    new Uint8Array(64 * 1024 * 1024).fill(1);
    assert.equal(typeof allocator.trim(), "boolean");
  } finally {
    allocator.close();
  }
});

Deno.test("runNativeMemoryTrimmer() tunes at once, trims once per interval until stopped, then closes the library", async () => {
  const clock = new FakeClock();
  let tuned = 0;
  let trims = 0;
  let closed = 0;
  const stop = new AbortController();
  const running = runNativeMemoryTrimmer({
    openAllocator: () => ({
      tune: () => void tuned++,
      trim: () => (trims++, true),
      close: () => void closed++,
    }),
    signal: stop.signal,
    clock,
  });
  assert.equal(tuned, 1);
  await clock.advance(DEFAULT_TRIM_INTERVAL_MS - 1);
  assert.equal(trims, 0);
  await clock.advance(1);
  assert.equal(trims, 1);
  await clock.advance(2 * DEFAULT_TRIM_INTERVAL_MS);
  assert.equal(trims, 3);
  stop.abort();
  await running;
  assert.deepEqual([tuned, trims, closed], [1, 3, 1]);
});

Deno.test("runNativeMemoryTrimmer() without an allocator returns at once, without waiting for a stop", async () => {
  const clock = new FakeClock();
  await runNativeMemoryTrimmer({
    openAllocator: () => undefined,
    signal: new AbortController().signal,
    clock,
  });
  assert.equal(clock.pendingSleeps, 0);
});
