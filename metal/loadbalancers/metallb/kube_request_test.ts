import assert from "node:assert/strict";
import { ApiException, HttpMethod, RequestContext } from "@kubernetes/client-node";
import { isKubeConflict, isKubeNotFound, kubeErrorMessage, kubeRequestOptions } from "./kube_request.ts";

Deno.test("kubeRequestOptions sets the merge-patch content type and the abort signal", async () => {
  assert.equal(kubeRequestOptions({}), undefined);
  const signal = new AbortController().signal;
  const options = kubeRequestOptions({ mergePatch: true, signal });
  const ctx = new RequestContext("https://k8s.test/api/v1/namespaces/x/configmaps/y", HttpMethod.PATCH);
  const out = await options?.middleware?.[0]?.pre(ctx).toPromise();
  assert.equal(out?.getHeaders()["Content-Type"], "application/merge-patch+json");
  assert.equal(out?.getSignal(), signal);
});

Deno.test("kubeErrorMessage and status checks read the API server's Status", () => {
  const body = JSON.stringify({ kind: "Status", message: 'configmaps "y" not found', code: 404 });
  const notFound = new ApiException(404, "Unknown API Status Code!", body, {});
  assert.equal(isKubeNotFound(notFound), true);
  assert.equal(isKubeConflict(notFound), false);
  assert.equal(kubeErrorMessage(notFound), 'HTTP 404: configmaps "y" not found');
  assert.equal(isKubeConflict(new ApiException(409, "", "", {})), true);
  assert.equal(kubeErrorMessage(new Error("socket hang up")), "socket hang up");
  assert.equal(isKubeNotFound(new Error("404")), false);
});
