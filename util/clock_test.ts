import assert from "node:assert/strict";
import { FakeClock, systemClock } from "./clock.ts";

Deno.test("FakeClock wakes sleepers in deadline order only when advanced far enough", async () => {
  const clock = new FakeClock(1000);
  const woke: string[] = [];
  const late = clock.sleep(500).then(() => woke.push(`late@${clock.now()}`));
  const early = clock.sleep(100).then(() => woke.push(`early@${clock.now()}`));
  await clock.advance(99);
  assert.deepEqual(woke, []);
  assert.equal(clock.pendingSleeps, 2);
  await clock.advance(401);
  await Promise.all([late, early]);
  assert.deepEqual(woke, ["early@1100", "late@1500"]);
  assert.equal(clock.now(), 1500);
});

Deno.test("FakeClock sleep rejects with the abort reason and is forgotten", async () => {
  const clock = new FakeClock();
  const controller = new AbortController();
  const slept = clock.sleep(100, controller.signal);
  controller.abort(new Error("stopped"));
  await assert.rejects(slept, /stopped/);
  assert.equal(clock.pendingSleeps, 0);
});

Deno.test("systemClock sleep resolves after the delay and rejects on abort", async () => {
  const start = performance.now();
  await systemClock.sleep(20);
  assert.ok(performance.now() - start >= 15);
  const controller = new AbortController();
  const slept = systemClock.sleep(10_000, controller.signal);
  controller.abort(new Error("cancelled"));
  await assert.rejects(slept, /cancelled/);
});
