import assert from "node:assert/strict";
import { FakeClock, flush, settle, systemClock, until } from "./clock.ts";

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

Deno.test("flush() runs promise chains that take several macrotask turns, waking sleepers due now", async () => {
  const clock = new FakeClock(0);
  const steps: string[] = [];
  (async () => {
    for (let i = 0; i < 5; i++) await settle();
    steps.push("chain");
    await clock.sleep(0);
    steps.push("slept 0");
    await clock.sleep(1);
    steps.push("slept 1");
  })();
  await flush(clock);
  assert.deepEqual(steps, ["chain", "slept 0"]);
  assert.equal(clock.now(), 0, "time does not move");
});

Deno.test("until() resolves once the predicate holds and rejects after timeoutMs", async () => {
  let ready = false;
  setTimeout(() => ready = true, 20);
  await until(() => ready);
  await assert.rejects(until(() => false, { timeoutMs: 30, message: "never" }), {
    message: "Timed out after 30 ms waiting for never",
  });
});

Deno.test("until() with a clock wakes its due sleepers while polling", async () => {
  const clock = new FakeClock(0);
  let woke = false;
  clock.sleep(0).then(() => woke = true);
  await until(() => woke, { clock, timeoutMs: 1_000 });
  assert.equal(woke, true);
});
