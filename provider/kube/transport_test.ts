import assert from "node:assert/strict";
import { KubeConfig, RequestContext, ResponseContext, SelfDecodingBody } from "@kubernetes/client-node";
import { Buffer } from "node:buffer";
import { FakeClock } from "../clock.ts";
import { TokenBucket } from "../token_bucket.ts";
import { RateLimitedHttpLibrary, RequestStats, requestVerb, shareDispatchers } from "./transport.ts";

Deno.test("requestVerb maps method and path to the Kubernetes verb", () => {
  const cases: Array<[string, string, string]> = [
    ["GET", "/api/v1/nodes", "list"],
    ["GET", "/api/v1/nodes/n1", "get"],
    ["GET", "/api/v1/nodes?watch=true&resourceVersion=5", "watch"],
    ["GET", "/api/v1/namespaces", "list"],
    ["GET", "/api/v1/namespaces/kube-system", "get"],
    ["GET", "/api/v1/namespaces/default/services", "list"],
    ["GET", "/api/v1/services", "list"],
    ["GET", "/api/v1/namespaces/default/services/web", "get"],
    ["GET", "/apis/discovery.k8s.io/v1/endpointslices", "list"],
    ["GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/ccm", "get"],
    ["POST", "/api/v1/namespaces/default/events", "create"],
    ["PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/ccm", "update"],
    ["PATCH", "/api/v1/nodes/n1/status", "patch"],
    ["DELETE", "/api/v1/nodes/n1", "delete"],
    ["DELETE", "/api/v1/namespaces/default/pods", "deletecollection"],
  ];
  for (const [method, path, verb] of cases) {
    assert.equal(requestVerb(method, new URL(`https://h${path}`)), verb, `${method} ${path}`);
  }
});

function okResponse(): ResponseContext {
  return new ResponseContext(
    200,
    { "content-type": "application/json" },
    new SelfDecodingBody(Promise.resolve(Buffer.from("{}"))),
  );
}

Deno.test("RateLimitedHttpLibrary calls beforeWrite before writes only; a throw cancels the request", async () => {
  const sent: string[] = [];
  const checked: string[] = [];
  let fenced = false;
  const library = new RateLimitedHttpLibrary({
    limiter: new TokenBucket({ qps: Infinity, burst: 1 }),
    userAgent: "ccm/v9",
    stats: new RequestStats(),
    beforeWrite(url) {
      checked.push(url.pathname);
      if (fenced) throw new Error("not leading");
    },
    inner: {
      send(ctx) {
        sent.push(`${ctx.getHttpMethod()} ${new URL(ctx.getUrl()).pathname}`);
        return Promise.resolve(okResponse());
      },
    },
  });
  await library.send(new RequestContext("https://k/api/v1/nodes", "GET"));
  await library.send(new RequestContext("https://k/api/v1/nodes/n1", "PATCH"));
  fenced = true;
  await assert.rejects(
    library.send(new RequestContext("https://k/api/v1/nodes/n1", "DELETE")),
    /not leading/,
  );
  await library.send(new RequestContext("https://k/api/v1/nodes/n2", "GET"));
  assert.deepEqual(checked, ["/api/v1/nodes/n1", "/api/v1/nodes/n1"]);
  assert.deepEqual(sent, ["GET /api/v1/nodes", "PATCH /api/v1/nodes/n1", "GET /api/v1/nodes/n2"]);
});

Deno.test("RateLimitedHttpLibrary waits for the limiter, sets the user agent and counts by verb and code", async () => {
  const clock = new FakeClock(0);
  const limiter = new TokenBucket({ qps: 1, burst: 1, clock });
  const stats = new RequestStats();
  const seen: Array<{ ua: string | undefined; at: number }> = [];
  const codes: string[] = [];
  stats.onRequest((r) => codes.push(`${r.verb} ${r.code} ${r.host}`));
  const library = new RateLimitedHttpLibrary({
    limiter,
    userAgent: "ccm/v9",
    stats,
    inner: {
      send(ctx) {
        seen.push({ ua: ctx.getHeaders()["User-Agent"], at: clock.now() });
        if (ctx.getHttpMethod() === "DELETE") return Promise.reject(new Error("connection reset"));
        return Promise.resolve(okResponse());
      },
    },
  });
  const first = library.send(new RequestContext("https://k:6443/api/v1/nodes", "GET"));
  const second = library.send(new RequestContext("https://k:6443/api/v1/nodes/n1", "DELETE"))
    .then(() => undefined, (err: Error) => err.message);
  await clock.advance(0);
  assert.equal(seen.length, 1, "the second request waits for a token");
  await clock.advance(1000);
  await first;
  assert.equal(await second, "connection reset");
  assert.deepEqual(seen, [{ ua: "ccm/v9", at: 0 }, { ua: "ccm/v9", at: 1000 }]);
  assert.deepEqual(stats.byVerb(), { list: 1, delete: 1 });
  assert.equal(stats.total(), 2);
  assert.deepEqual(codes, ["list 200 k:6443", "delete <error> k:6443"]);
});

Deno.test("RateLimitedHttpLibrary gives up waiting when the request is aborted", async () => {
  const clock = new FakeClock(0);
  const limiter = new TokenBucket({ qps: 1, burst: 1, clock });
  let sent = 0;
  const library = new RateLimitedHttpLibrary({
    limiter,
    userAgent: "ua",
    stats: new RequestStats(),
    inner: { send: () => (sent++, Promise.resolve(okResponse())) },
  });
  await library.send(new RequestContext("https://k/api/v1/nodes", "GET"));
  const ctx = new RequestContext("https://k/api/v1/nodes", "GET");
  const controller = new AbortController();
  ctx.setSignal(controller.signal);
  const waiting = library.send(ctx);
  controller.abort(new Error("shutting down"));
  await assert.rejects(waiting, /shutting down/);
  assert.equal(sent, 1);
});

Deno.test("shareDispatchers reuses one connection pool per TLS configuration and closes it", async () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:1", skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  const dispatcherOf = async () => {
    const ctx = new RequestContext("https://127.0.0.1:1/api", "GET");
    await kc.applySecurityAuthentication(ctx);
    return ctx.getDispatcher();
  };
  const unshared = [await dispatcherOf(), await dispatcherOf()];
  assert.notEqual(unshared[0], unshared[1], "the library makes a pool per request");
  await Promise.all(unshared.map((d) => d?.destroy()));

  const close = shareDispatchers(kc);
  const a = await dispatcherOf();
  const b = await dispatcherOf();
  assert.ok(a);
  assert.equal(a, b);
  assert.equal((a as unknown as { destroyed: boolean }).destroyed, false);
  await close();
  assert.equal((a as unknown as { destroyed: boolean }).destroyed, true);
});
