import assert from "node:assert/strict";
import { FakeClock, settle } from "./clock.ts";
import { runPeriodically } from "./periodic.ts";
import { errorMessage } from "./errors.ts";

Deno.test("runPeriodically() runs at once, then a period after each run ends, until the signal aborts", async () => {
  const clock = new FakeClock(0);
  const stop = new AbortController();
  const runs: number[] = [];
  const loop = runPeriodically(async () => {
    runs.push(clock.now());
    await clock.sleep(10); // the run itself takes time: the period starts at its end
  }, { periodMs: 100, signal: stop.signal, clock });
  await clock.advance(10);
  await clock.advance(100);
  await clock.advance(10);
  assert.deepEqual(runs, [0, 110]);
  stop.abort();
  await loop;
  assert.equal(clock.pendingSleeps, 0);
});

Deno.test("runPeriodically() with 'immediate: false' waits a period before the first run", async () => {
  const clock = new FakeClock(0);
  const stop = new AbortController();
  const runs: number[] = [];
  const loop = runPeriodically(() => {
    runs.push(clock.now());
  }, { periodMs: 50, signal: stop.signal, clock, immediate: false });
  await settle();
  assert.deepEqual(runs, []);
  await clock.advance(50);
  await clock.advance(50);
  assert.deepEqual(runs, [50, 100]);
  stop.abort();
  await loop;
});

Deno.test("runPeriodically() reports errors to 'onError' and goes on; without it the loop rejects", async () => {
  const clock = new FakeClock(0);
  const stop = new AbortController();
  const errors: unknown[] = [];
  let calls = 0;
  const loop = runPeriodically(() => {
    calls++;
    throw new Error(`run ${calls}`);
  }, { periodMs: 10, signal: stop.signal, clock, onError: (err) => errors.push(err) });
  await clock.advance(10);
  assert.deepEqual(errors.map((e) => errorMessage(e)), ["run 1", "run 2"]);
  stop.abort();
  await loop;

  const failing = runPeriodically(() => {
    throw new Error("boom");
  }, { periodMs: 10, signal: new AbortController().signal, clock });
  await assert.rejects(failing, { message: "boom" });
});

Deno.test("runPeriodically() does nothing when the signal is already aborted", async () => {
  let calls = 0;
  await runPeriodically(() => {
    calls++;
  }, { periodMs: 10, signal: AbortSignal.abort(), clock: new FakeClock(0) });
  assert.equal(calls, 0);
});
