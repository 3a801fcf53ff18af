import assert from "node:assert/strict";
import {
  createMergePatch,
  PATCH_CONTENT_TYPES,
  patchOptions,
  requestOptions,
  serverSideApply,
} from "./patch.ts";

Deno.test("patchOptions picks the patch type and the abort signal; requestOptions only the signal", () => {
  const controller = new AbortController();
  assert.deepEqual(patchOptions("strategic", { signal: controller.signal }), {
    patchType: "strategic",
    signal: controller.signal,
  });
  assert.deepEqual(patchOptions("apply"), { patchType: "apply", signal: undefined });
  assert.deepEqual(requestOptions({ signal: controller.signal }), { signal: controller.signal });
  assert.deepEqual(PATCH_CONTENT_TYPES, {
    merge: "application/merge-patch+json",
    strategic: "application/strategic-merge-patch+json",
    json: "application/json-patch+json",
    apply: "application/apply-patch+yaml",
  });
});

Deno.test("serverSideApply applies as the cloud-controller-manager with force unless told otherwise", async () => {
  const calls: unknown[] = [];
  const objects = {
    apply<T>(obj: T, options: { fieldManager: string; force: boolean }) {
      calls.push(options);
      return Promise.resolve(obj);
    },
  };
  const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "n" } };
  assert.equal(await serverSideApply(objects, cm), cm);
  await serverSideApply(objects, cm, { fieldManager: "tests", force: false });
  assert.deepEqual(calls, [
    { fieldManager: "cloud-controller-manager", force: true },
    { fieldManager: "tests", force: false },
  ]);
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
  // Times are the RFC 3339 strings the API server sends, compared as such.
  const [t5, t6] = ["1970-01-01T00:00:00.005Z", "1970-01-01T00:00:00.006Z"];
  assert.equal(createMergePatch({ t: t5 }, { t: t5 }), undefined);
  assert.deepEqual(createMergePatch({ t: t5 }, { t: t6 }), { t: t6 });
});
