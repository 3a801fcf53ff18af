import assert from "node:assert/strict";
import {
  controllerRateLimiter,
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
  NODE_MAX_BACKOFF_MS,
  nodeRateLimiter,
  serviceRateLimiter,
  TokenBucketRateLimiter,
} from "./rate_limiter.ts";
import { FakeClock } from "../util/clock.ts";

Deno.test("ItemExponentialRateLimiter doubles per failure up to the cap, per item", () => {
  const limiter = new ItemExponentialRateLimiter({ baseMs: 5_000, maxMs: 300_000 });
  const delays = Array.from({ length: 9 }, () => limiter.when("a"));
  assert.deepEqual(delays, [5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  assert.equal(limiter.when("b"), 5_000);
  assert.equal(limiter.numRequeues("a"), 9);
});

Deno.test("ItemExponentialRateLimiter.forget() restarts the backoff", () => {
  const limiter = new ItemExponentialRateLimiter({ baseMs: 5, maxMs: 1000 });
  limiter.when("a");
  limiter.when("a");
  limiter.forget("a");
  assert.equal(limiter.numRequeues("a"), 0);
  assert.equal(limiter.when("a"), 5);
});

Deno.test("ItemExponentialRateLimiter stays at the cap after many failures", () => {
  const limiter = new ItemExponentialRateLimiter({ baseMs: 5, maxMs: 1_000_000 });
  let last = 0;
  for (let i = 0; i < 2000; i++) last = limiter.when("a");
  assert.equal(last, 1_000_000);
});

Deno.test("ItemExponentialRateLimiter rejects a base above the max", () => {
  assert.throws(() => new ItemExponentialRateLimiter({ baseMs: 10, maxMs: 5 }), /'baseMs' must be positive/);
});

Deno.test("TokenBucketRateLimiter lets a burst through, then spaces items by 1/qps", async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucketRateLimiter({ qps: 10, burst: 3, clock });
  assert.deepEqual([bucket.when("a"), bucket.when("b"), bucket.when("c")], [0, 0, 0]);
  assert.equal(bucket.when("d"), 100);
  assert.equal(bucket.when("e"), 200);
  await clock.advance(1000);
  // 1 s refills 10 tokens, capped at the burst of 3, after paying back the two borrowed ones.
  assert.deepEqual([bucket.when("f"), bucket.when("g"), bucket.when("h")], [0, 0, 0]);
  assert.equal(bucket.when("i"), 100);
});

Deno.test("MaxOfRateLimiter returns the longest delay and forgets in all limiters", () => {
  const clock = new FakeClock();
  const limiter = new MaxOfRateLimiter(
    new ItemExponentialRateLimiter({ baseMs: 5, maxMs: 1000 }),
    new TokenBucketRateLimiter({ qps: 1, burst: 1, clock }),
  );
  assert.equal(limiter.when("a"), 5);
  assert.equal(limiter.when("a"), 1000); // bucket empty: 1 s; backoff 10 ms
  limiter.forget("a");
  assert.equal(limiter.numRequeues("a"), 0);
});

Deno.test("serviceRateLimiter() backs off 5 s -> 300 s", () => {
  const limiter = serviceRateLimiter({ clock: new FakeClock() });
  assert.equal(limiter.when("default/web"), 5_000);
  assert.equal(limiter.when("default/web"), 10_000);
  for (let i = 0; i < 10; i++) limiter.when("default/web");
  assert.equal(limiter.when("default/web"), 300_000);
});

Deno.test("nodeRateLimiter() backs off 5 ms -> 30 s, not upstream's 1000 s", () => {
  const limiter = nodeRateLimiter({ clock: new FakeClock() });
  assert.equal(limiter.when("n1"), 5);
  assert.equal(limiter.when("n1"), 10);
  const delays = Array.from({ length: 30 }, () => limiter.when("n1"));
  assert.equal(NODE_MAX_BACKOFF_MS, 30_000);
  assert.equal(Math.max(...delays), 30_000);
  assert.equal(delays.at(-1), 30_000);
});

Deno.test("controllerRateLimiter() defaults to 5 ms backoff under a 10 qps/100 burst bucket", () => {
  const limiter = controllerRateLimiter({ clock: new FakeClock() });
  assert.equal(limiter.when("a"), 5);
  for (let i = 0; i < 99; i++) limiter.when(`n${i}`);
  // 100 tokens used; the 101st waits 100 ms for the bucket.
  assert.equal(limiter.when("z"), 100);
});
