import assert from "node:assert/strict";
import { HealthTracker } from "./health_tracker.ts";

const ok = { ok: true, detail: "HTTP 200", url: "https://a/healthz" };
const bad = { ok: false, detail: "HTTP 500", url: "https://a/healthz" };

Deno.test("HealthTracker needs the threshold of consecutive failures before a target is unhealthy", () => {
  const tracker = new HealthTracker(3);
  assert.equal(tracker.state("a"), "unknown");
  assert.equal(tracker.record("a", bad, 1).state, "failing");
  assert.equal(tracker.record("a", bad, 2).state, "failing");
  const third = tracker.record("a", bad, 3);
  assert.deepEqual([third.state, third.consecutiveFailures, third.at], ["unhealthy", 3, 3]);
  assert.equal(tracker.record("a", ok, 4).state, "healthy", "one success heals");
  assert.equal(tracker.record("a", bad, 5).state, "failing", "the count starts again");
});

Deno.test("HealthTracker with threshold 1 acts on the first failure", () => {
  const tracker = new HealthTracker(1);
  assert.equal(tracker.record("a", bad, 1).state, "unhealthy");
});

Deno.test("HealthTracker forgets targets", () => {
  const tracker = new HealthTracker(2);
  tracker.record("a", ok, 1);
  tracker.record("b", ok, 1);
  tracker.record("c", ok, 1);
  tracker.retain(new Set(["a", "b"]));
  tracker.forget("b");
  assert.deepEqual(["a", "b", "c"].map((k) => tracker.state(k)), ["healthy", "unknown", "unknown"]);
});

Deno.test("HealthTracker rejects a threshold below 1", () => {
  assert.throws(() => new HealthTracker(0), /positive integer, got 0/);
});
