import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { FakeClock } from "../../util/clock.ts";
import { TokenBucket } from "../../util/token_bucket.ts";
import type { KubeConfig, User } from "./kubeconfig.ts";
import { fakeTransport, testKubeConfig, textResponse } from "./testing.ts";
import {
  type HttpInit,
  type HttpResponse,
  type KubeTransport,
  type KubeTransportOptions,
  RequestStats,
  requestVerb,
  tlsOptions,
  UndiciSender,
} from "./transport.ts";

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

function okResponse(): HttpResponse {
  return textResponse(200, "{}", { "content-type": "application/json" });
}

function config(server = "https://k", user: User = { name: "u" }): KubeConfig {
  return testKubeConfig(server, user);
}

type Send = (url: URL, init: HttpInit) => Promise<HttpResponse>;

function transport(send: Send, options: Partial<KubeTransportOptions> = {}): KubeTransport {
  return fakeTransport(send, { config: config(), userAgent: "ccm/v9", ...options });
}

Deno.test("KubeTransport calls beforeWrite before writes only; a throw cancels the request", async () => {
  const sent: string[] = [];
  const checked: string[] = [];
  let fenced = false;
  const t = transport((url, init) => {
    sent.push(`${init.method} ${url.pathname}`);
    return Promise.resolve(okResponse());
  }, {
    beforeWrite(url) {
      checked.push(url.pathname);
      if (fenced) throw new Error("not leading");
    },
  });
  await t.request({ method: "GET", path: "/api/v1/nodes" });
  await t.request({ method: "PATCH", path: "/api/v1/nodes/n1" });
  fenced = true;
  await assert.rejects(t.request({ method: "DELETE", path: "/api/v1/nodes/n1" }), /not leading/);
  await t.request({ method: "GET", path: "/api/v1/nodes/n2" });
  assert.deepEqual(checked, ["/api/v1/nodes/n1", "/api/v1/nodes/n1"]);
  assert.deepEqual(sent, ["GET /api/v1/nodes", "PATCH /api/v1/nodes/n1", "GET /api/v1/nodes/n2"]);
});

Deno.test("KubeTransport waits for the limiter, sets the user agent and counts by verb and code", async () => {
  const clock = new FakeClock(0);
  const stats = new RequestStats();
  const seen: Array<{ ua: string | undefined; at: number }> = [];
  const codes: string[] = [];
  stats.onRequest((r) => codes.push(`${r.verb} ${r.code} ${r.host}`));
  const t = transport((_url, init) => {
    seen.push({ ua: init.headers["User-Agent"], at: clock.now() });
    if (init.method === "DELETE") return Promise.reject(new Error("connection reset"));
    return Promise.resolve(okResponse());
  }, { config: config("https://k:6443/"), limiter: new TokenBucket({ qps: 1, burst: 1, clock }), stats });
  const first = t.request({ method: "GET", path: "/api/v1/nodes" });
  const second = t.request({ method: "DELETE", path: "/api/v1/nodes/n1" })
    .then(() => undefined, (err: Error) => err.message);
  await clock.advance(0);
  assert.equal(seen.length, 1, "the second request waits for a token");
  await clock.advance(1000);
  assert.deepEqual(await first, { status: 200, headers: { "content-type": "application/json" }, text: "{}" });
  assert.equal(await second, "connection reset");
  assert.deepEqual(seen, [{ ua: "ccm/v9", at: 0 }, { ua: "ccm/v9", at: 1000 }]);
  assert.deepEqual(stats.byVerb(), { list: 1, delete: 1 });
  assert.equal(stats.total(), 2);
  assert.deepEqual(codes, ["list 200 k:6443", "delete <error> k:6443"]);
});

Deno.test("KubeTransport gives up waiting when the request is aborted", async () => {
  const clock = new FakeClock(0);
  let sent = 0;
  const t = transport(() => (sent++, Promise.resolve(okResponse())), {
    limiter: new TokenBucket({ qps: 1, burst: 1, clock }),
  });
  await t.request({ method: "GET", path: "/api/v1/nodes" });
  const controller = new AbortController();
  const waiting = t.request({ method: "GET", path: "/api/v1/nodes", signal: controller.signal });
  controller.abort(new Error("shutting down"));
  await assert.rejects(waiting, /shutting down/);
  assert.equal(sent, 1);
});

Deno.test("KubeTransport sends the user's credentials and re-reads a token file every minute", async () => {
  const authOf = async (user: User, options: Partial<KubeTransportOptions> = {}) => {
    let auth: string | undefined;
    const t = transport((_url, init) => {
      auth = init.headers.Authorization;
      return Promise.resolve(okResponse());
    }, { config: config("https://k", user), ...options });
    await t.request({ method: "GET", path: "/api" });
    return { auth, t, last: () => auth };
  };
  assert.equal((await authOf({ name: "u", token: "abc" })).auth, "Bearer abc");
  assert.equal(
    (await authOf({ name: "u", username: "admin", password: "pw" })).auth,
    `Basic ${Buffer.from("admin:pw").toString("base64")}`,
  );
  assert.equal((await authOf({ name: "u" })).auth, undefined);

  let now = 0;
  let token = "first";
  const reads: string[] = [];
  const file = await authOf({ name: "u", tokenFile: "/sa/token" }, {
    now: () => now,
    readTextFile: (path) => (reads.push(path), `${token}\n`),
  });
  assert.equal(file.auth, "Bearer first");
  token = "rotated";
  now = 59_000;
  await file.t.request({ method: "GET", path: "/api" });
  assert.equal(file.last(), "Bearer first", "read at most once a minute");
  now = 60_000;
  await file.t.request({ method: "GET", path: "/api" });
  assert.equal(file.last(), "Bearer rotated");
  assert.deepEqual(reads, ["/sa/token", "/sa/token"]);
});

Deno.test("tlsOptions takes the CA and client certificate from data or files, and honours skip-verify", () => {
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  const files: Record<string, string> = { "/ca.pem": "CA FILE", "/key.pem": "KEY FILE" };
  const read = (path: string) => {
    if (path in files) return files[path]!;
    throw new Error("No such file");
  };
  const cluster = { name: "c", server: "https://k", skipTLSVerify: false, tlsServerName: "kubernetes" };
  assert.deepEqual(
    tlsOptions(
      { ...cluster, caFile: "/ca.pem" },
      { name: "u", certData: b64("CERT"), keyFile: "/key.pem" },
      read,
    ),
    { ca: "CA FILE", cert: "CERT", key: "KEY FILE", rejectUnauthorized: true, servername: "kubernetes" },
  );
  assert.deepEqual(tlsOptions({ ...cluster, caData: b64("CA DATA") }, null, read).ca, "CA DATA");
  const skip = tlsOptions({ ...cluster, caFile: "/missing.pem", skipTLSVerify: true }, null, read);
  assert.equal(skip.ca, undefined);
  assert.equal(skip.rejectUnauthorized, false);
  assert.throws(
    () => tlsOptions({ ...cluster, caFile: "/missing.pem" }, null, read),
    /Failed to read the certificate authority file "\/missing.pem": No such file; check the kubeconfig/,
  );
});

Deno.test("KubeTransport hands writes the fence again for the moment they are sent (beforeSend)", async () => {
  const sends: Array<(() => void) | undefined> = [];
  let fenced = false;
  const t = transport((_url, init) => {
    sends.push(init.beforeSend);
    return Promise.resolve(okResponse());
  }, {
    beforeWrite() {
      if (fenced) throw new Error("not leading");
    },
  });
  await t.request({ method: "GET", path: "/api/v1/nodes" });
  await t.request({ method: "PATCH", path: "/api/v1/nodes/n1" });
  assert.equal(sends[0], undefined, "reads are not fenced");
  sends[1]!();
  fenced = true;
  assert.throws(() => sends[1]!(), /not leading/);
});

Deno.test("UndiciSender runs beforeSend once connected, and a throw there sends nothing", async () => {
  const events: string[] = [];
  const received: string[] = [];
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    received.push(req.method);
    return new Response("{}", { headers: { "content-type": "application/json" } });
  });
  const url = new URL(`http://127.0.0.1:${server.addr.port}/api/v1/nodes/n1`);
  const sender = new UndiciSender({ rejectUnauthorized: true });
  try {
    const ok = await sender.send(url, {
      method: "PATCH",
      headers: {},
      body: "{}",
      watch: false,
      beforeSend: () => events.push("checked"),
    });
    assert.equal(ok.status, 200);
    await ok.text();
    await assert.rejects(
      sender.send(url, {
        method: "PATCH",
        headers: {},
        body: "{}",
        watch: false,
        beforeSend: () => {
          throw new Error("not leading any more");
        },
      }),
      /not leading any more/,
    );
    assert.deepEqual(events, ["checked"]);
    assert.deepEqual(received, ["PATCH"], "the fenced write never reached the server");
  } finally {
    await sender.close();
  }
});
