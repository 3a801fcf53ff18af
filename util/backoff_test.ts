import assert from "node:assert/strict";
import { Backoff, backoffDelayMs, jitter } from "./backoff.ts";

Deno.test("Backoff doubles the base up to maxMs without jitter, and reset() starts over", () => {
  const backoff = new Backoff({ initialMs: 1_000, maxMs: 5_000 });
  assert.deepEqual(Array.from({ length: 5 }, () => backoff.next()), [1_000, 2_000, 4_000, 5_000, 5_000]);
  assert.equal(backoff.failures, 5);
  backoff.reset();
  assert.equal(backoff.failures, 0);
  assert.equal(backoff.next(), 1_000);
});

Deno.test("Backoff jitter stretches each base by up to 'jitter' times itself, never below it", () => {
  const low = new Backoff({ initialMs: 100, maxMs: 400, jitter: 1, random: () => 0 });
  assert.deepEqual(Array.from({ length: 4 }, () => low.next()), [100, 200, 400, 400]);
  const high = new Backoff({ initialMs: 100, maxMs: 400, jitter: 1, random: () => 0.999999 });
  assert.deepEqual(Array.from({ length: 4 }, () => high.next()), [200, 400, 800, 800]);
  const half = new Backoff({ initialMs: 100, maxMs: 400, factor: 3, jitter: 0.5, random: () => 0.5 });
  assert.deepEqual(Array.from({ length: 3 }, () => half.next()), [125, 375, 500]);
});

Deno.test("backoffDelayMs() computes the delay of a given retry and rounds it to whole milliseconds", () => {
  const options = { initialMs: 125, maxMs: 5_000, jitter: 1, random: () => 0.5 };
  assert.equal(backoffDelayMs(0, options), 188);
  assert.equal(backoffDelayMs(3, options), 1_500);
  assert.equal(backoffDelayMs(-1, options), 188, "a negative retry counts as the first");
  assert.equal(backoffDelayMs(50, options), 7_500);
});

Deno.test("jitter() stretches by up to maxFactor, and not at all for a factor of 0 or less", () => {
  assert.equal(jitter(1_000, 1.2, () => 0), 1_000);
  assert.equal(jitter(1_000, 1.2, () => 0.5), 1_600);
  assert.equal(jitter(1_000, 0, () => 0.5), 1_000);
  assert.equal(jitter(1_000, -1, () => 0.5), 1_000);
});
