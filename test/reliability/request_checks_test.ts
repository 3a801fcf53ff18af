import assert from "node:assert/strict";
import type { LoggedRequest } from "./bed.ts";
import { peakCount, rateViolations, retryAfterViolations } from "./request_checks.ts";

const T0 = Date.parse("2026-06-30T00:00:00.000Z");
let seq = 0;

function req(atMs: number, fields: Partial<LoggedRequest> = {}): LoggedRequest {
  return {
    seq: ++seq,
    method: "GET",
    path: "/metal/v1/devices/d1",
    query: "",
    status: 200,
    time: new Date(T0 + atMs).toISOString(),
    durationMs: 0,
    userAgent: "cloud-provider-equinix-metal/dev ccm",
    ...fields,
  };
}

Deno.test("Retry-After: the next request for the same path must wait the given seconds", () => {
  const ok = [req(0, { status: 429, retryAfter: "1" }), req(1000), req(1001)];
  assert.deepEqual(retryAfterViolations(ok), []);
  const early = [req(0, { status: 429, retryAfter: "2" }), req(1500)];
  const [v] = retryAfterViolations(early);
  assert.equal(v?.earlyMs, 500);
  // Other paths, methods and clients are not held back; an answer without Retry-After asks for nothing.
  assert.deepEqual(
    retryAfterViolations([
      req(0, { status: 429, retryAfter: "1" }),
      req(200, { path: "/metal/v1/devices/d2" }),
      req(300, { method: "DELETE" }),
      req(400, { userAgent: "Deno/2" }),
      req(500, { path: "/x", status: 503 }),
      req(600, { path: "/x" }),
    ]).length,
    0,
  );
});

Deno.test("Retry-After counts from when the answer was sent; in-flight and unseen answers are not counted", () => {
  // A slow answer: sent 5 s after arrival, so the wait ends 6 s after arrival.
  const slow = [req(0, { status: 429, retryAfter: "1", durationMs: 5000 }), req(5500)];
  assert.equal(retryAfterViolations(slow)[0]?.earlyMs, 500);
  // A request arriving right after the answer left was sent before the client could read it.
  assert.deepEqual(retryAfterViolations([req(0, { status: 429, retryAfter: "1" }), req(200)]), []);
  assert.equal(retryAfterViolations([req(0, { status: 429, retryAfter: "1" }), req(300)])[0]?.earlyMs, 700);
  // Both clocks read whole milliseconds: 1 ms early is rounding.
  assert.deepEqual(retryAfterViolations([req(0, { status: 429, retryAfter: "1" }), req(999)]), []);
  assert.equal(retryAfterViolations([req(0, { status: 429, retryAfter: "1" }), req(990)])[0]?.earlyMs, 10);
  // An answer after the client's timeout was never seen.
  assert.deepEqual(
    retryAfterViolations([req(0, { status: 429, retryAfter: "2", durationMs: 31_000 }), req(31_500)]),
    [],
  );
});

Deno.test("rate: the peak of a sliding window and the token bucket bound", () => {
  const burst = Array.from({ length: 25 }, (_, i) => req(i * 10));
  assert.equal(peakCount(burst, 1000), 25);
  assert.deepEqual(rateViolations(burst, { qps: 10, burst: 20, slack: 0, windowsMs: [1000] }), []);
  const flood = Array.from({ length: 40 }, (_, i) => req(i * 10));
  assert.deepEqual(rateViolations(flood, { qps: 10, burst: 20, slack: 2, windowsMs: [1000, 5000] }), [
    { windowMs: 1000, count: 40, allowed: 32 },
  ]);
  const steady = Array.from({ length: 100 }, (_, i) => req(i * 100));
  assert.equal(peakCount(steady, 1000), 10);
  assert.deepEqual(rateViolations(steady, { qps: 10, burst: 20, slack: 0, windowsMs: [1000, 10_000] }), []);
});
