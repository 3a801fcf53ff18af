import assert from "node:assert/strict";
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
  kubeStatusCode,
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

Deno.test("kubeApiErrorFromResponse reads the Status body of a failed response", () => {
  const cause = new Error("the request");
  const err = kubeApiErrorFromResponse(
    404,
    status(404, "NotFound", 'nodes "n1" not found', { name: "n1", kind: "nodes" }),
    {},
    cause,
  );
  assert.ok(err instanceof KubeApiError);
  assert.equal(err.code, 404);
  assert.equal(err.reason, "NotFound");
  assert.equal(err.message, 'nodes "n1" not found');
  assert.deepEqual(err.details, { name: "n1", kind: "nodes" });
  assert.equal(err.cause, cause);
});

Deno.test("kubeApiErrorFromResponse falls back to the HTTP status when the body is not a Status", () => {
  const unauthorized = kubeApiErrorFromResponse(401, undefined);
  assert.equal(unauthorized.reason, "Unauthorized");
  assert.equal(unauthorized.message, "the server responded with HTTP 401");
  const html = kubeApiErrorFromResponse(503, "<html>busy</html>", { "retry-after": "7" });
  assert.equal(html.reason, "ServiceUnavailable");
  assert.equal(html.message, "<html>busy</html>");
  assert.equal(html.retryAfterSeconds, 7);
});

Deno.test("only a KubeApiError is an API error: other shapes with a numeric code are not", () => {
  const err = new KubeApiError({ code: 404, reason: "NotFound", message: "m" });
  assert.equal(asKubeApiError(err), err);
  assert.equal(kubeStatusCode(err), 404);
  // The official client's ApiException shape (`code` and the raw `body`): not what our client throws.
  const foreign = Object.assign(new Error("HTTP-Code: 404"), {
    code: 404,
    body: status(404, "NotFound", "m"),
  });
  for (const other of [foreign, new Error("socket hang up"), "boom", undefined]) {
    assert.equal(asKubeApiError(other), undefined);
    assert.equal(kubeStatusCode(other), undefined);
    assert.equal(isNotFound(other), false);
  }
});

Deno.test("predicates tell the usual API failures apart", () => {
  const make = (code: number, reason: string) => kubeApiErrorFromResponse(code, status(code, reason, "m"));
  const cases: Array<[KubeApiError, (e: unknown) => boolean]> = [
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

Deno.test("kubeErrorMessage is 'HTTP <code>: <the server's message>', or the error's own message", () => {
  const notFound = kubeApiErrorFromResponse(404, status(404, "NotFound", 'configmaps "y" not found'));
  assert.equal(kubeErrorMessage(notFound), 'HTTP 404: configmaps "y" not found');
  assert.equal(kubeErrorMessage(kubeApiErrorFromResponse(409, "")), "HTTP 409");
  assert.equal(kubeErrorMessage(kubeApiErrorFromResponse(502, "bad gateway")), "HTTP 502: bad gateway");
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
