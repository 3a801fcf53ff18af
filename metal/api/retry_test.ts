import { equal } from "node:assert/strict";
import { backoffDelayMs, retryAfterMs } from "./retry.ts";

const policy = { baseDelayMs: 100, maxDelayMs: 1000 };

Deno.test("backoffDelayMs() doubles the limit each retry up to maxDelayMs", () => {
  const almostOne = () => 0.999999;
  equal(backoffDelayMs(0, policy, almostOne), 100);
  equal(backoffDelayMs(1, policy, almostOne), 200);
  equal(backoffDelayMs(3, policy, almostOne), 800);
  equal(backoffDelayMs(10, policy, almostOne), 1000);
});

Deno.test("backoffDelayMs() draws each delay between half the limit and the limit", () => {
  equal(backoffDelayMs(2, policy, () => 0), 200);
  equal(backoffDelayMs(2, policy, () => 0.5), 300);
});

Deno.test("retryAfterMs() reads Retry-After seconds", () => {
  equal(retryAfterMs(new Headers({ "Retry-After": "3" }), 0), 3000);
  equal(retryAfterMs(new Headers({ "Retry-After": "0.5" }), 0), 500);
});

Deno.test("retryAfterMs() reads a Retry-After HTTP date relative to now", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  equal(retryAfterMs(new Headers({ "Retry-After": "Thu, 01 Jan 2026 00:00:07 GMT" }), now), 7000);
  equal(retryAfterMs(new Headers({ "Retry-After": "Wed, 31 Dec 2025 23:00:00 GMT" }), now), 0);
});

Deno.test("retryAfterMs() falls back to X-RateLimit-Reset as Unix seconds or a delay", () => {
  const now = 1_800_000_000_000;
  equal(retryAfterMs(new Headers({ "X-RateLimit-Reset": "1800000004" }), now), 4000);
  equal(retryAfterMs(new Headers({ "X-RateLimit-Reset": "12" }), now), 12_000);
});

Deno.test("retryAfterMs() gives undefined without usable headers", () => {
  equal(retryAfterMs(new Headers(), 0), undefined);
  equal(retryAfterMs(new Headers({ "Retry-After": "soon" }), 0), undefined);
});
