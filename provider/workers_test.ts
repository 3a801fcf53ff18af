import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { Registry } from "prom-client";
import { isTransientError, NodeNotManagedError, RetryError, TRANSIENT } from "./errors.ts";
import { ItemExponentialRateLimiter } from "./rate_limiter.ts";
import { FakeClock, settle } from "../util/clock.ts";
import { runWorkers } from "./workers.ts";
import { WorkQueue } from "./workqueue.ts";

const logger = getLogger(["ccm", "test"]);

function newQueue(clock: FakeClock) {
  return new WorkQueue({
    name: "svc",
    clock,
    rateLimiter: new ItemExponentialRateLimiter({ baseMs: 5_000, maxMs: 300_000 }),
  });
}

Deno.test("runWorkers() runs at most N syncs at once and never one key twice at once", async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  const stop = new AbortController();
  let running = 0;
  let maxRunning = 0;
  const active = new Set<string>();
  const releases: Array<() => void> = [];
  const done = runWorkers({
    queue,
    workers: 3,
    logger,
    signal: stop.signal,
    clock,
    sync: async (key) => {
      assert.ok(!active.has(key), `key ${key} synced twice at once`);
      active.add(key);
      maxRunning = Math.max(maxRunning, ++running);
      await new Promise<void>((r) => releases.push(r));
      running--;
      active.delete(key);
    },
  });
  for (const key of ["a", "b", "c", "d", "e", "a"]) queue.add(key);
  await settle();
  assert.equal(maxRunning, 3);
  queue.add("a"); // a is in flight: it must wait
  while (releases.length > 0 || queue.len() > 0) {
    releases.shift()?.();
    await settle();
  }
  assert.equal(maxRunning, 3);
  stop.abort();
  await done;
});

Deno.test("runWorkers() retries failures with backoff and forgets on success", async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  const stop = new AbortController();
  const attempts: number[] = [];
  const done = runWorkers({
    queue,
    workers: 1,
    logger,
    signal: stop.signal,
    clock,
    sync: () => {
      attempts.push(clock.now());
      return attempts.length < 3 ? Promise.reject(new Error("boom")) : Promise.resolve();
    },
  });
  const start = clock.now();
  queue.add("k");
  await settle();
  await clock.advance(60_000);
  assert.deepEqual(attempts.map((t) => t - start), [0, 5_000, 15_000]);
  assert.equal(queue.numRequeues("k"), 0);
  stop.abort();
  await done;
});

class OutageError extends Error {
  readonly [TRANSIENT] = true;
}

Deno.test("runWorkers() caps the backoff of transient failures at transientMaxBackoffMs, not of others", async () => {
  for (const transient of [true, false]) {
    const clock = new FakeClock();
    const queue = newQueue(clock);
    const stop = new AbortController();
    const attempts: number[] = [];
    // Failing for 10 minutes, then fine: a long outage of the cloud API (or a long refusal).
    const done = runWorkers({
      queue,
      workers: 1,
      logger,
      signal: stop.signal,
      clock,
      transientMaxBackoffMs: 30_000,
      sync: () => {
        attempts.push(clock.now());
        if (clock.now() >= 600_000) return Promise.resolve();
        const err = transient ? new OutageError("503") : new Error("refused");
        // Wrapped as providers do: the mark is found in the cause chain.
        return Promise.reject(new Error("ensure load balancer", { cause: err }));
      },
    });
    queue.add("k");
    await settle();
    for (let t = 0; t < 1_200_000; t += 5_000) await clock.advance(5_000);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    const recovered = attempts.find((t) => t >= 600_000)!;
    if (transient) {
      assert.deepEqual(gaps.slice(0, 4), [5_000, 10_000, 20_000, 30_000]);
      assert.ok(Math.max(...gaps) <= 30_000, `gaps ${gaps}`);
      assert.ok(recovered - 600_000 <= 30_000, `synced ${recovered - 600_000} ms after the outage`);
    } else {
      assert.deepEqual(gaps.slice(0, 6), [5_000, 10_000, 20_000, 40_000, 80_000, 160_000]);
      assert.equal(Math.max(...gaps), 300_000);
    }
    assert.equal(queue.numRequeues("k"), 0);
    stop.abort();
    await done;
  }
});

Deno.test("isTransientError() finds the mark on the error or in its cause chain, and survives cycles", () => {
  assert.equal(isTransientError(new OutageError("x")), true);
  assert.equal(
    isTransientError(new Error("a", { cause: new Error("b", { cause: new OutageError("c") }) })),
    true,
  );
  assert.equal(isTransientError(new Error("plain")), false);
  assert.equal(isTransientError("string"), false);
  assert.equal(isTransientError(undefined), false);
  const loop: { cause?: unknown } = {};
  loop.cause = loop;
  assert.equal(isTransientError(loop), false);
});

Deno.test("runWorkers() requeues a RetryError after its own delay, and drops NodeNotManagedError", async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  const stop = new AbortController();
  const calls: Array<[string, number]> = [];
  const start = clock.now();
  const done = runWorkers({
    queue,
    workers: 1,
    logger,
    signal: stop.signal,
    clock,
    sync: (key) => {
      calls.push([key, clock.now() - start]);
      if (key === "retry" && calls.filter(([k]) => k === key).length === 1) {
        return Promise.reject(new RetryError("not yet", 42_000));
      }
      if (key === "foreign") return Promise.reject(new NodeNotManagedError("not ours"));
      return Promise.resolve();
    },
  });
  queue.add("retry");
  queue.add("foreign");
  await settle();
  await clock.advance(100_000);
  assert.deepEqual(calls, [["retry", 0], ["foreign", 0], ["retry", 42_000]]);
  stop.abort();
  await done;
});

Deno.test("runWorkers() stops taking keys on abort and finishes the ones in hand", async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  const stop = new AbortController();
  const synced: string[] = [];
  let release!: () => void;
  const done = runWorkers({
    queue,
    workers: 1,
    logger,
    signal: stop.signal,
    clock,
    sync: async (key, signal) => {
      assert.equal(signal.aborted, false);
      await new Promise<void>((r) => release = r);
      synced.push(key);
    },
  });
  queue.add("a");
  queue.add("b");
  await settle();
  stop.abort();
  let finished = false;
  done.then(() => finished = true);
  await settle();
  assert.equal(finished, false, "waits for the in-flight sync");
  release();
  await done;
  assert.deepEqual(synced, ["a"]);
});

Deno.test("runWorkers() records ccm_reconcile_duration_seconds by controller and result", async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  const registry = new Registry();
  const stop = new AbortController();
  const done = runWorkers({
    queue,
    workers: 1,
    logger,
    signal: stop.signal,
    clock,
    registry,
    controller: "service-lb-controller",
    sync: (key) => key === "bad" ? Promise.reject(new Error("x")) : Promise.resolve(),
  });
  queue.add("good");
  queue.add("bad");
  await settle();
  const text = await registry.metrics();
  assert.match(
    text,
    /ccm_reconcile_duration_seconds_count\{controller="service-lb-controller",result="success"\} 1/,
  );
  assert.match(
    text,
    /ccm_reconcile_duration_seconds_count\{controller="service-lb-controller",result="error"\} 1/,
  );
  stop.abort();
  await done;
});
