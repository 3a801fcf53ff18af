import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { ItemExponentialRateLimiter } from "./rate_limiter.ts";
import { FakeClock, settle } from "../util/clock.ts";
import { WorkQueue } from "./workqueue.ts";

function newQueue(clock = new FakeClock(), registry?: Registry) {
  return new WorkQueue({
    name: "test",
    clock,
    registry,
    rateLimiter: new ItemExponentialRateLimiter({ baseMs: 5_000, maxMs: 300_000 }),
  });
}

Deno.test("WorkQueue.add() de-duplicates queued items and keeps FIFO order", async () => {
  const queue = newQueue();
  for (const key of ["a", "b", "a", "c", "b"]) queue.add(key);
  assert.equal(queue.len(), 3);
  assert.deepEqual([await queue.get(), await queue.get(), await queue.get()], ["a", "b", "c"]);
});

Deno.test("WorkQueue re-processes an item added while it was being processed, after done()", async () => {
  const queue = newQueue();
  queue.add("a");
  const first = await queue.get();
  assert.equal(first, "a");
  queue.add("a");
  queue.add("a");
  assert.equal(queue.len(), 0, "an in-flight item is not handed to a second worker");
  queue.done("a");
  assert.equal(queue.len(), 1);
  assert.equal(await queue.get(), "a");
  queue.done("a");
  assert.equal(queue.len(), 0);
});

Deno.test("WorkQueue.get() waits for an add", async () => {
  const queue = newQueue();
  const pending = queue.get();
  await settle();
  queue.add("x");
  assert.equal(await pending, "x");
});

Deno.test("WorkQueue.addAfter() queues once the delay passes, earliest time wins", async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  queue.addAfter("a", 10_000);
  queue.addAfter("a", 2_000);
  queue.addAfter("a", 5_000);
  await clock.advance(1_999);
  assert.equal(queue.len(), 0);
  await clock.advance(1);
  assert.equal(queue.len(), 1);
  await clock.advance(20_000);
  assert.equal(queue.len(), 1, "superseded timers do not add again");
});

Deno.test("WorkQueue.addRateLimited() backs off per item and forget() resets it", async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  const readyAfter: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const start = clock.now();
    queue.addRateLimited("a");
    while (queue.len() === 0) await clock.advance(1_000);
    readyAfter.push(clock.now() - start);
    queue.done((await queue.get())!);
  }
  assert.deepEqual(readyAfter, [5_000, 10_000, 20_000]);
  assert.equal(queue.numRequeues("a"), 3);
  queue.forget("a");
  assert.equal(queue.numRequeues("a"), 0);
});

Deno.test("WorkQueue.shutDown() wakes getters, ignores adds and cancels delayed adds", async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  const pending = queue.get();
  queue.addAfter("later", 1_000);
  queue.shutDown();
  assert.equal(await pending, undefined);
  queue.add("a");
  await clock.advance(2_000);
  assert.equal(queue.len(), 0);
  assert.equal(await queue.get(), undefined);
  assert.equal(clock.pendingSleeps, 0);
});

Deno.test("WorkQueue.get() stops handing out queued items after shutdown", async () => {
  const queue = newQueue();
  queue.add("a");
  queue.shutDown();
  assert.equal(await queue.get(), undefined);
});

Deno.test("WorkQueue.get() resolves undefined when its signal aborts", async () => {
  const queue = newQueue();
  const abort = new AbortController();
  const pending = queue.get(abort.signal);
  abort.abort();
  assert.equal(await pending, undefined);
  queue.add("a");
  assert.equal(await queue.get(), "a", "an aborted getter does not swallow a later item");
});

Deno.test("WorkQueue.shutDownWithDrain() waits for in-flight items, bounded by a timeout", async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  queue.add("a");
  queue.add("b");
  await queue.get();
  let drained: boolean | undefined;
  queue.shutDownWithDrain().then((d) => drained = d);
  await settle();
  assert.equal(drained, undefined);
  queue.done("a");
  await settle();
  assert.equal(drained, true);

  const stuck = newQueue(clock);
  stuck.add("x");
  await stuck.get();
  let timedOut: boolean | undefined;
  stuck.shutDownWithDrain(30_000).then((d) => timedOut = d);
  await clock.advance(30_000);
  assert.equal(timedOut, false);
});

Deno.test("WorkQueue reports the upstream workqueue metrics labelled by name", async () => {
  const clock = new FakeClock();
  const registry = new Registry();
  const queue = newQueue(clock, registry);
  queue.add("a");
  queue.add("a");
  queue.add("b");
  await clock.advance(2_000);
  await queue.get(); // a waited 2 s
  await clock.advance(3_000);
  queue.addRateLimited("b");
  const text = await registry.metrics();
  assert.match(text, /^workqueue_depth\{name="test"\} 1$/m);
  assert.match(text, /^workqueue_adds_total\{name="test"\} 2$/m);
  assert.match(text, /^workqueue_retries_total\{name="test"\} 1$/m);
  assert.match(text, /^workqueue_queue_duration_seconds_count\{name="test"\} 1$/m);
  assert.match(text, /^workqueue_queue_duration_seconds_sum\{name="test"\} 2$/m);
  assert.match(text, /^workqueue_unfinished_work_seconds\{name="test"\} 3$/m);
  assert.match(text, /^workqueue_longest_running_processor_seconds\{name="test"\} 3$/m);
  queue.done("a");
  assert.match(await registry.metrics(), /^workqueue_work_duration_seconds_sum\{name="test"\} 3$/m);
  queue.shutDown();
});

Deno.test("WorkQueue metrics of two queues share one registry", async () => {
  const registry = new Registry();
  const a = new WorkQueue({ name: "service", registry });
  const b = new WorkQueue({ name: "cloud-node", registry });
  a.add("x");
  b.add("y");
  b.add("z");
  const text = await registry.metrics();
  assert.match(text, /^workqueue_depth\{name="service"\} 1$/m);
  assert.match(text, /^workqueue_depth\{name="cloud-node"\} 2$/m);
  a.shutDown();
  b.shutDown();
});
