import assert from "node:assert/strict";
import { forEachConcurrently } from "./worker_pool.ts";

/** A call that stays pending until released. */
function gate(): { promise: Promise<void>; release(): void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => release = resolve);
  return { promise, release };
}

Deno.test("forEachConcurrently() keeps at most 'concurrency' calls in flight, starting items in order", async () => {
  const gates = Array.from({ length: 5 }, gate);
  const started: number[] = [];
  let inFlight = 0;
  let most = 0;
  const done = forEachConcurrently([0, 1, 2, 3, 4], async (item, index) => {
    assert.equal(item, index);
    started.push(item);
    most = Math.max(most, ++inFlight);
    await gates[item]!.promise;
    inFlight--;
  }, { concurrency: 2 });
  await Promise.resolve();
  assert.deepEqual(started, [0, 1]);
  gates[1]!.release();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(started, [0, 1, 2]);
  for (const g of gates) g.release();
  await done;
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  assert.equal(most, 2);
});

Deno.test("forEachConcurrently() runs one call at a time when 'concurrency' is below 1, and nothing for no items", async () => {
  const seen: string[] = [];
  await forEachConcurrently(["a", "b"], async (item) => {
    seen.push(`start ${item}`);
    await Promise.resolve();
    seen.push(`end ${item}`);
  }, { concurrency: 0 });
  assert.deepEqual(seen, ["start a", "end a", "start b", "end b"]);
  await forEachConcurrently([], () => Promise.reject(new Error("called")), { concurrency: 3 });
});

Deno.test("forEachConcurrently() starts no item after 'signal' aborts but finishes the ones in flight", async () => {
  const stop = new AbortController();
  const first = gate();
  const finished: number[] = [];
  const done = forEachConcurrently([0, 1, 2], async (item) => {
    if (item === 0) await first.promise;
    finished.push(item);
  }, { concurrency: 1, signal: stop.signal });
  stop.abort();
  first.release();
  await done;
  assert.deepEqual(finished, [0]);
});

Deno.test("forEachConcurrently() rejects with the first error after the calls in flight settle, starting no more", async () => {
  const slow = gate();
  const events: string[] = [];
  const done = forEachConcurrently([0, 1, 2, 3], async (item) => {
    events.push(`start ${item}`);
    if (item === 0) {
      await slow.promise;
      events.push("end 0");
      return;
    }
    throw new Error(`failed ${item}`);
  }, { concurrency: 2 });
  let settled = false;
  done.catch(() => {}).finally(() => settled = true);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(settled, false, "waits for the call in flight");
  slow.release();
  await assert.rejects(done, { message: "failed 1" });
  assert.deepEqual(events, ["start 0", "start 1", "end 0"]);
});
