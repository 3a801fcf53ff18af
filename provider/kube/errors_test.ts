import assert from "node:assert/strict";
import { ApiException } from "@kubernetes/client-node";
import {
  asKubeApiError,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isGone,
  isNotFound,
  isTooManyRequests,
  KubeApiError,
  kubeApiErrorFromResponse,
  kubeErrorMessage,
  toKubeError,
} from "./errors.ts";

function status(code: number, reason: string, message: string, details?: object): string {
  return JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    code,
    reason,
    message,
    details,
  });
}

Deno.test("asKubeApiError parses the Status body of an ApiException", () => {
  const err = new ApiException(
    404,
    "Unknown API Status Code!",
    status(404, "NotFound", 'nodes "n1" not found', {
      name: "n1",
      kind: "nodes",
    }),
    {},
  );
  const parsed = asKubeApiError(err);
  assert.ok(parsed instanceof KubeApiError);
  assert.equal(parsed.code, 404);
  assert.equal(parsed.reason, "NotFound");
  assert.equal(parsed.message, 'nodes "n1" not found');
  assert.deepEqual(parsed.details, { name: "n1", kind: "nodes" });
  assert.equal(parsed.cause, err);
});

Deno.test("asKubeApiError falls back to the HTTP status when the body is not a Status", () => {
  const unauthorized = asKubeApiError(new ApiException(401, "Unauthorized", undefined, {}));
  assert.equal(unauthorized?.reason, "Unauthorized");
  assert.equal(unauthorized?.message, "the server responded with HTTP 401");
  const html = asKubeApiError(new ApiException(503, "x", "<html>busy</html>", { "retry-after": "7" }));
  assert.equal(html?.reason, "ServiceUnavailable");
  assert.equal(html?.message, "<html>busy</html>");
  assert.equal(html?.retryAfterSeconds, 7);
  assert.equal(asKubeApiError(new Error("socket hang up")), undefined);
});

Deno.test("predicates tell the usual API failures apart", () => {
  const make = (code: number, reason: string) => new ApiException(code, "", status(code, reason, "m"), {});
  const cases: Array<[ApiException<string>, (e: unknown) => boolean]> = [
    [make(404, "NotFound"), isNotFound],
    [make(409, "Conflict"), isConflict],
    [make(409, "AlreadyExists"), isAlreadyExists],
    [make(410, "Expired"), isGone],
    [make(403, "Forbidden"), isForbidden],
    [make(429, "TooManyRequests"), isTooManyRequests],
  ];
  const predicates = cases.map(([, p]) => p);
  for (const [err, predicate] of cases) {
    for (const other of predicates) {
      assert.equal(other(err), other === predicate, `${other.name} on ${err.code}`);
    }
  }
  assert.equal(isConflict(make(409, "AlreadyExists")), false, "AlreadyExists is not a write conflict");
  assert.equal(isNotFound(new Error("404")), false);
});

Deno.test("toKubeError prefixes the operation and keeps code and reason", () => {
  const err = toKubeError(
    new ApiException(409, "", status(409, "Conflict", "the object has been modified"), {}),
    'update lease "l"',
  );
  assert.ok(err instanceof KubeApiError);
  assert.equal(err.message, 'update lease "l": the object has been modified');
  assert.ok(isConflict(err));
  const plain = new Error("boom");
  assert.equal(toKubeError(plain, "op"), plain);
});

Deno.test("kubeErrorMessage is 'HTTP <code>: <the server's message>', or the error's own message", () => {
  const notFound = new ApiException(
    404,
    "Unknown API Status Code!",
    status(404, "NotFound", 'configmaps "y" not found'),
    {},
  );
  assert.equal(kubeErrorMessage(notFound), 'HTTP 404: configmaps "y" not found');
  assert.equal(kubeErrorMessage(new ApiException(409, "", "", {})), "HTTP 409");
  assert.equal(kubeErrorMessage(new ApiException(502, "", "bad gateway", {})), "HTTP 502: bad gateway");
  assert.equal(kubeErrorMessage(toKubeError(notFound)), 'HTTP 404: configmaps "y" not found');
  assert.equal(kubeErrorMessage(new Error("socket hang up")), "socket hang up");
  assert.equal(kubeErrorMessage("boom"), "boom");
});

Deno.test("kubeApiErrorFromResponse reads a watch ERROR event object", () => {
  const err = kubeApiErrorFromResponse(500, {
    kind: "Status",
    code: 410,
    reason: "Expired",
    message: "too old resource version: 1 (200)",
  });
  assert.equal(err.code, 410);
  assert.ok(isGone(err));
});
