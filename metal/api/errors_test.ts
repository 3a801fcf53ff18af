import assert from "node:assert/strict";
import { isTransientError } from "../../provider/mod.ts";
import {
  MetalInvalidError,
  MetalNotFoundError,
  MetalRateLimitedError,
  MetalTransientError,
  MetalUnauthorizedError,
} from "./errors.ts";

const info = { operation: "create_ip_reservation", method: "POST", path: "/projects/p/ips", status: 503 };

Deno.test("Metal errors: 5xx, timeouts and 429 are transient for the controllers' backoff; refusals are not", () => {
  assert.equal(isTransientError(new MetalTransientError(info, "HTTP 503", { kind: "server" })), true);
  assert.equal(isTransientError(new MetalTransientError(info, "timed out", { kind: "timeout" })), true);
  assert.equal(isTransientError(new MetalRateLimitedError(info, "HTTP 429", { retryAfterMs: 1000 })), true);
  // As the load balancers wrap them.
  const wrapped = new Error("reserve elastic IP", {
    cause: new MetalTransientError(info, "connection refused", { kind: "network" }),
  });
  assert.equal(isTransientError(wrapped), true);
  assert.equal(isTransientError(new MetalInvalidError({ ...info, status: 422 }, "HTTP 422")), false);
  assert.equal(isTransientError(new MetalNotFoundError({ ...info, status: 404 }, "HTTP 404")), false);
  assert.equal(isTransientError(new MetalUnauthorizedError({ ...info, status: 401 }, "HTTP 401")), false);
});
