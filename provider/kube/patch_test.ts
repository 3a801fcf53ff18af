import assert from "node:assert/strict";
import { RequestContext } from "@kubernetes/client-node";
import { createMergePatch, patchOptions, requestOptions } from "./patch.ts";

Deno.test("patchOptions sets the patch content type and the abort signal, appending to client middleware", async () => {
  const controller = new AbortController();
  const types = {
    merge: "application/merge-patch+json",
    strategic: "application/strategic-merge-patch+json",
    json: "application/json-patch+json",
    apply: "application/apply-patch+yaml",
  } as const;
  for (const [type, contentType] of Object.entries(types)) {
    const options = patchOptions(type as keyof typeof types, { signal: controller.signal });
    assert.equal(options.middlewareMergeStrategy, "append");
    const ctx = new RequestContext("https://k/api/v1/nodes/n1", "PATCH");
    ctx.setHeaderParam("Content-Type", "application/json-patch+json");
    const out = await options.middleware?.[0]?.pre(ctx).toPromise();
    assert.equal(out?.getHeaders()["Content-Type"], contentType);
    assert.equal(out?.getSignal(), controller.signal);
  }
});

Deno.test("requestOptions only sets the signal", async () => {
  const controller = new AbortController();
  const ctx = new RequestContext("https://k/api/v1/nodes", "GET");
  const out = await requestOptions({ signal: controller.signal }).middleware?.[0]?.pre(ctx).toPromise();
  assert.equal(out?.getSignal(), controller.signal);
  assert.equal(out?.getHeaders()["Content-Type"], undefined);
});

Deno.test("createMergePatch returns only changes, null for removals, whole arrays", () => {
  const original = {
    metadata: { labels: { a: "1", b: "2" }, annotations: { keep: "x" } },
    spec: { taints: [{ key: "t1" }, { key: "t2" }], providerID: undefined },
  };
  const modified = {
    metadata: { labels: { a: "1", c: "3" }, annotations: { keep: "x" } },
    spec: { taints: [{ key: "t2" }], providerID: "p://1" },
  };
  assert.deepEqual(createMergePatch(original, modified), {
    metadata: { labels: { b: null, c: "3" } },
    spec: { taints: [{ key: "t2" }], providerID: "p://1" },
  });
  assert.equal(createMergePatch(original, structuredClone(original)), undefined);
  assert.equal(createMergePatch({ t: new Date(5) }, { t: new Date(5) }), undefined);
  assert.deepEqual(createMergePatch({ t: new Date(5) }, { t: new Date(6) }), { t: new Date(6) });
});
