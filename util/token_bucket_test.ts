import assert from "node:assert/strict";
import { FakeClock } from "./clock.ts";
import { TokenBucket } from "./token_bucket.ts";

Deno.test("TokenBucket lets a burst through, then paces callers at qps in arrival order", async () => {
  const clock = new FakeClock(0);
  const limiter = new TokenBucket({ qps: 10, burst: 3, clock });
  const done: Array<[number, number]> = [];
  const calls = Array.from(
    { length: 6 },
    (_, i) => limiter.acquire().then(() => done.push([i, clock.now()])),
  );
  await clock.advance(0);
  assert.deepEqual(done, [[0, 0], [1, 0], [2, 0]]);
  await clock.advance(100);
  assert.deepEqual(done.slice(3), [[3, 100]]);
  await clock.advance(200);
  await Promise.all(calls);
  assert.deepEqual(done.slice(3), [[3, 100], [4, 200], [5, 300]]);
});

Deno.test("TokenBucket refills up to burst only", async () => {
  const clock = new FakeClock(0);
  const limiter = new TokenBucket({ qps: 2, burst: 2, clock });
  assert.equal(limiter.reserve(), 0);
  assert.equal(limiter.reserve(), 0);
  assert.equal(limiter.reserve(), 500);
  await clock.advance(60_000);
  assert.equal(limiter.available(), 2);
});

Deno.test("TokenBucket gives the token back when a waiting caller aborts", async () => {
  const clock = new FakeClock(0);
  const limiter = new TokenBucket({ qps: 1, burst: 1, clock });
  await limiter.acquire();
  const controller = new AbortController();
  const waiting = limiter.acquire(controller.signal);
  assert.equal(limiter.available(), -1);
  controller.abort(new Error("gave up"));
  await assert.rejects(waiting, /gave up/);
  assert.equal(limiter.available(), 0);
});

Deno.test("TokenBucket with infinite qps never waits", () => {
  const limiter = new TokenBucket({ qps: Infinity, burst: 1, clock: new FakeClock() });
  for (let i = 0; i < 1000; i++) assert.equal(limiter.reserve(), 0);
});

Deno.test("TokenBucket rejects invalid settings naming the field", () => {
  assert.throws(() => new TokenBucket({ qps: 0, burst: 1 }), /Invalid qps "0"/);
  assert.throws(() => new TokenBucket({ qps: 1, burst: 0 }), /Invalid burst "0"/);
});

Deno.test("TokenBucket serves normal callers before background ones, even those that arrive later", async () => {
  const clock = new FakeClock(0);
  const limiter = new TokenBucket({ qps: 10, burst: 1, clock });
  const done: string[] = [];
  await limiter.acquire();
  const background = [1, 2].map((i) =>
    limiter.acquire(undefined, "background").then(() => done.push(`bg${i}`))
  );
  await clock.advance(50);
  // Arrives after both background callers, is served first.
  const normal = [1, 2].map((i) => limiter.acquire().then(() => done.push(`n${i}`)));
  await clock.advance(100);
  assert.deepEqual(done, ["n1"]);
  await clock.advance(100);
  assert.deepEqual(done, ["n1", "n2"]);
  await clock.advance(100);
  assert.deepEqual(done, ["n1", "n2", "bg1"]);
  await clock.advance(100);
  await Promise.all([...background, ...normal]);
  assert.deepEqual(done, ["n1", "n2", "bg1", "bg2"]);
  assert.equal(limiter.backgroundWaiting(), 0);
});

Deno.test("TokenBucket: a background caller takes a free token at once and leaves the queue when aborted", async () => {
  const clock = new FakeClock(0);
  const limiter = new TokenBucket({ qps: 1, burst: 1, clock });
  await limiter.acquire(undefined, "background");
  const controller = new AbortController();
  const waiting = limiter.acquire(controller.signal, "background");
  assert.equal(limiter.backgroundWaiting(), 1);
  controller.abort(new Error("stopped"));
  await assert.rejects(waiting, /stopped/);
  assert.equal(limiter.backgroundWaiting(), 0);
  await clock.advance(1000);
  assert.equal(limiter.available(), 1);
});

/** `count` background callers at once, as BGP backfill makes them; `served` counts those that got a token. */
function backgroundCallers(limiter: TokenBucket, count: number) {
  const backfill = { served: 0, done: Promise.resolve() };
  backfill.done = Promise.all(
    Array.from(
      { length: count },
      () => limiter.acquire(undefined, "background").then(() => backfill.served++),
    ),
  ).then(() => {});
  return backfill;
}

Deno.test("TokenBucket: background callers leave the reserve, so a normal caller under backfill waits for nothing", async () => {
  const clock = new FakeClock(0);
  const limiter = new TokenBucket({ qps: 10, burst: 20, clock });
  assert.equal(limiter.backgroundReserve, 19);
  // Backfill that always waits: 200 background callers, far more than the bucket holds.
  const backfill = backgroundCallers(limiter, 200);
  await clock.advance(0);
  assert.equal(backfill.served, 1, "the token beyond the reserve goes to the backfill at once");
  // Normal callers one at a time, as a single worker makes them, mid-refill: none waits.
  for (let i = 0; i < 30; i++) {
    await clock.advance(137);
    const before = clock.now();
    await limiter.acquire();
    assert.equal(clock.now(), before, `normal call ${i} waited`);
  }
  // Backfill still gets every token the normal callers left (10/s in all).
  const elapsed = clock.now() / 1000;
  assert.ok(
    backfill.served >= 1 + Math.floor(elapsed * 10) - 30 - 1,
    `backfilled ${backfill.served} in ${elapsed} s`,
  );
  await clock.advance(60_000);
  await backfill.done;
});

Deno.test("TokenBucket: a burst of normal callers under constant backfill finds all but one token waiting", async () => {
  const clock = new FakeClock(0);
  const limiter = new TokenBucket({ qps: 10, burst: 20, clock });
  const backfill = backgroundCallers(limiter, 100);
  await clock.advance(5_000);
  assert.equal(backfill.served, 51, "the backfill keeps the whole rate while nobody else calls");
  const start = clock.now();
  let served = 0;
  const burst = Array.from({ length: 30 }, () => limiter.acquire().then(() => served++));
  await clock.advance(0);
  assert.equal(served, 19, "19 of 30 at once; the rest at the rate");
  await clock.advance(1_100);
  assert.equal(served, 30);
  assert.equal(backfill.served, 51, "the backfill waited while normal callers did");
  await Promise.all(burst);
  assert.ok(clock.now() - start >= 1_100);
  await clock.advance(60_000);
  await backfill.done;
});

Deno.test("TokenBucket rejects a background reserve that leaves no token for background callers", () => {
  assert.throws(
    () => new TokenBucket({ qps: 1, burst: 2, backgroundReserve: 2 }),
    /Invalid backgroundReserve "2": must be between 0 and burst - 1 \(1\)/,
  );
});
