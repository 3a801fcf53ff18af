import assert from "node:assert/strict";
import { CoreV1Api, CustomObjectsApi, KubeRest, ObjectsApi, queryString } from "./api.ts";
import { isNotFound, KubeApiError } from "./errors.ts";
import { patchOptions } from "./patch.ts";
import { fakeTransport, textResponse } from "./testing.ts";

interface Sent {
  method: string;
  path: string;
  contentType?: string;
  body?: unknown;
}

/** A KubeRest whose server answers with `reply` and records what was sent. */
function rest(reply: (sent: Sent) => { status: number; body: unknown } = () => ({ status: 200, body: {} })) {
  const sent: Sent[] = [];
  const transport = fakeTransport((url, init) => {
    const s: Sent = {
      method: init.method,
      path: url.pathname + url.search,
      contentType: init.headers["Content-Type"],
      body: init.body === undefined ? undefined : JSON.parse(init.body),
    };
    sent.push(s);
    const { status, body } = reply(s);
    return Promise.resolve(textResponse(status, typeof body === "string" ? body : JSON.stringify(body)));
  });
  return { rest: new KubeRest(transport), sent };
}

Deno.test("queryString keeps only query parameters, renames _continue and skips empty values", () => {
  assert.equal(
    queryString({
      name: "n1",
      body: {},
      labelSelector: "a=b",
      limit: 500,
      _continue: "tok",
      fieldSelector: "",
    }),
    "?labelSelector=a%3Db&limit=500&continue=tok",
  );
  assert.equal(queryString({ name: "n1" }), "");
});

Deno.test("CoreV1Api builds paths, queries and bodies; patches pick their content type", async () => {
  const { rest: r, sent } = rest();
  const core = new CoreV1Api(r);
  await core.readNode({ name: "n/1" });
  await core.listNode({ labelSelector: "x" });
  await core.patchNodeStatus({ name: "n1", body: { status: {} } }, patchOptions("strategic"));
  await core.patchNamespacedService({ namespace: "ns", name: "s", body: { metadata: {} } });
  await core.patchNamespacedService({ namespace: "ns", name: "s", body: [{ op: "remove", path: "/x" }] });
  await core.patchNamespacedConfigMap(
    { namespace: "ns", name: "c", body: { data: {} }, fieldManager: "m", force: true },
    patchOptions("apply"),
  );
  await core.deleteNode({ name: "n1", body: { preconditions: { uid: "u1" } } });
  await core.createNamespacedEvent({ namespace: "default", body: { metadata: { name: "e" } } as never });
  assert.deepEqual(sent, [
    { method: "GET", path: "/api/v1/nodes/n%2F1", contentType: undefined, body: undefined },
    { method: "GET", path: "/api/v1/nodes?labelSelector=x", contentType: undefined, body: undefined },
    {
      method: "PATCH",
      path: "/api/v1/nodes/n1/status",
      contentType: "application/strategic-merge-patch+json",
      body: { status: {} },
    },
    {
      method: "PATCH",
      path: "/api/v1/namespaces/ns/services/s",
      contentType: "application/merge-patch+json",
      body: { metadata: {} },
    },
    {
      method: "PATCH",
      path: "/api/v1/namespaces/ns/services/s",
      contentType: "application/json-patch+json",
      body: [{ op: "remove", path: "/x" }],
    },
    {
      method: "PATCH",
      path: "/api/v1/namespaces/ns/configmaps/c?fieldManager=m&force=true",
      contentType: "application/apply-patch+yaml",
      body: { data: {} },
    },
    {
      method: "DELETE",
      path: "/api/v1/nodes/n1",
      contentType: "application/json",
      body: { preconditions: { uid: "u1" } },
    },
    {
      method: "POST",
      path: "/api/v1/namespaces/default/events",
      contentType: "application/json",
      body: { metadata: { name: "e" } },
    },
  ]);
});

Deno.test("KubeRest returns the JSON as sent (timestamps stay strings) and throws the Status of a failure", async () => {
  const { rest: r } = rest((s) =>
    s.path.endsWith("/n1")
      ? { status: 200, body: { metadata: { name: "n1", creationTimestamp: "2026-11-22T00:00:00Z" } } }
      : {
        status: 404,
        body: { kind: "Status", code: 404, reason: "NotFound", message: 'nodes "n2" not found' },
      }
  );
  const core = new CoreV1Api(r);
  assert.deepEqual(await core.readNode({ name: "n1" }), {
    metadata: { name: "n1", creationTimestamp: "2026-11-22T00:00:00Z" },
  });
  await assert.rejects(
    core.readNode({ name: "n2" }),
    (err) => err instanceof KubeApiError && isNotFound(err) && err.message === 'nodes "n2" not found',
  );
  const { rest: plain } = rest(() => ({ status: 502, body: "bad gateway" }));
  await assert.rejects(
    new CoreV1Api(plain).listNode(),
    (err) => err instanceof KubeApiError && err.code === 502 && err.message === "bad gateway",
  );
});

Deno.test("CustomObjectsApi addresses namespaced and cluster-scoped custom resources", async () => {
  const { rest: r, sent } = rest();
  const custom = new CustomObjectsApi(r);
  const cr = { group: "metallb.io", version: "v1beta1", plural: "ipaddresspools" };
  await custom.listNamespacedCustomObject({ ...cr, namespace: "metallb-system", labelSelector: "a" });
  await custom.deleteClusterCustomObject({ ...cr, name: "p" });
  assert.deepEqual(sent.map((s) => `${s.method} ${s.path}`), [
    "GET /apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools?labelSelector=a",
    "DELETE /apis/metallb.io/v1beta1/ipaddresspools/p",
  ]);
});

Deno.test("ObjectsApi finds resources through discovery, once per group version, again for an unknown kind", async () => {
  let crdInstalled = false;
  const { rest: r, sent } = rest((s) => {
    if (s.path === "/api/v1") {
      return {
        status: 200,
        body: {
          resources: [
            { name: "configmaps", kind: "ConfigMap", namespaced: true },
            { name: "nodes/status", kind: "Node", namespaced: false },
            { name: "nodes", kind: "Node", namespaced: false },
          ],
        },
      };
    }
    if (s.path === "/apis/example.com/v1") {
      return {
        status: 200,
        body: { resources: crdInstalled ? [{ name: "widgets", kind: "Widget", namespaced: false }] : [] },
      };
    }
    return { status: 200, body: s.body ?? {} };
  });
  const objects = new ObjectsApi(r);
  const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "ns" } };
  await objects.create(cm);
  await objects.apply(cm, { fieldManager: "m", force: true });
  await objects.read({ apiVersion: "v1", kind: "Node", metadata: { name: "n1" } });
  await objects.list({ apiVersion: "v1", kind: "Node", limit: 2 });
  await assert.rejects(
    objects.read({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } }),
    /ConfigMap "c" needs metadata.namespace/,
  );
  await assert.rejects(
    objects.read({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } }),
    /The API server has no kind "Widget" in example.com\/v1/,
  );
  crdInstalled = true;
  await objects.delete({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } });
  assert.deepEqual(sent.map((s) => `${s.method} ${s.path}${s.contentType ? ` ${s.contentType}` : ""}`), [
    "GET /api/v1",
    "POST /api/v1/namespaces/ns/configmaps application/json",
    "PATCH /api/v1/namespaces/ns/configmaps/c?fieldManager=m&force=true application/apply-patch+yaml",
    "GET /api/v1/nodes/n1",
    "GET /api/v1/nodes?limit=2",
    "GET /apis/example.com/v1",
    "GET /apis/example.com/v1",
    "GET /apis/example.com/v1",
    "DELETE /apis/example.com/v1/widgets/w",
  ]);
});

Deno.test("ObjectsApi forgets a failed discovery, so the next call asks again", async () => {
  let failures = 1;
  const { rest: r, sent } = rest((s) => {
    if (s.path === "/api/v1" && failures-- > 0) return { status: 503, body: "unavailable" };
    if (s.path === "/api/v1") {
      return { status: 200, body: { resources: [{ name: "nodes", kind: "Node", namespaced: false }] } };
    }
    return { status: 200, body: {} };
  });
  const objects = new ObjectsApi(r);
  const node = { apiVersion: "v1", kind: "Node", metadata: { name: "n1" } };
  await assert.rejects(objects.read(node), (err) => err instanceof KubeApiError && err.code === 503);
  await objects.read(node);
  await objects.read(node);
  assert.deepEqual(sent.map((s) => `${s.method} ${s.path}`), [
    "GET /api/v1",
    "GET /api/v1",
    "GET /api/v1/nodes/n1",
    "GET /api/v1/nodes/n1",
  ]);
});
