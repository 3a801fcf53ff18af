import assert from "node:assert/strict";
import { Counter, Registry } from "prom-client";
import { HealthChecks } from "./health.ts";
import { createServerApp, selfSignedCertificate, startServer } from "./server.ts";

function endpoints() {
  return {
    healthz: new HealthChecks("healthz"),
    livez: new HealthChecks("livez"),
    readyz: new HealthChecks("readyz", { timeoutMs: 200 }),
  };
}

Deno.test("/healthz answers ok, lists checks with ?verbose and serves each check", async () => {
  const health = endpoints();
  health.healthz.add({ name: "leaderElection", check: () => {} });
  health.healthz.add({ name: "service-lb-controller", check: () => {} });
  const app = createServerApp({ registry: new Registry(), health });
  let res = await app.request("/healthz");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "ok");
  res = await app.request("/healthz?verbose");
  assert.equal(
    await res.text(),
    "[+]ping ok\n[+]leaderElection ok\n[+]service-lb-controller ok\nhealthz check passed\n",
  );
  res = await app.request("/healthz/leaderElection");
  assert.equal(res.status, 200);
  res = await app.request("/healthz/nonexistent");
  assert.equal(res.status, 404);
});

Deno.test("/healthz fails with reason withheld when a check fails, and ?exclude skips it", async () => {
  const health = endpoints();
  health.healthz.add({
    name: "leaderElection",
    check: () => {
      throw new Error("lease not renewed for 25s");
    },
  });
  const app = createServerApp({ registry: new Registry(), health });
  let res = await app.request("/healthz");
  assert.equal(res.status, 500);
  assert.equal(
    await res.text(),
    "[+]ping ok\n[-]leaderElection failed: reason withheld\nhealthz check failed\n",
  );
  res = await app.request("/healthz/leaderElection");
  assert.equal(res.status, 500);
  assert.match(await res.text(), /lease not renewed for 25s/);
  res = await app.request("/healthz?exclude=leaderElection");
  assert.equal(res.status, 200);
});

Deno.test("/readyz runs async provider checks with a timeout", async () => {
  const health = endpoints();
  let synced = false;
  health.readyz.add({
    name: "informer-sync",
    check: () => {
      if (!synced) throw new Error("informers not synced");
    },
  });
  const remove = health.readyz.add({
    name: "metal-api",
    check: (signal) =>
      new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted")))),
  });
  const app = createServerApp({ registry: new Registry(), health });
  assert.equal((await app.request("/readyz")).status, 500);
  synced = true;
  const res = await app.request("/readyz/metal-api");
  assert.equal(res.status, 500);
  assert.match(await res.text(), /timed out after 200 ms/);
  remove();
  assert.equal((await app.request("/readyz")).status, 200);
  assert.equal((await app.request("/livez")).status, 200);
});

Deno.test("/metrics serves the registry in Prometheus text format", async () => {
  const registry = new Registry();
  new Counter({ name: "workqueue_adds_total", help: "adds", labelNames: ["name"], registers: [registry] })
    .inc({
      name: "service",
    });
  const res = await createServerApp({ registry, health: endpoints() }).request("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
  assert.match(await res.text(), /^workqueue_adds_total\{name="service"\} 1$/m);
});

Deno.test("startServer() serves HTTPS with an in-memory self-signed certificate valid for 127.0.0.1", async () => {
  const stop = new AbortController();
  const server = await startServer({
    bindAddress: "127.0.0.1",
    port: 0,
    registry: new Registry(),
    health: endpoints(),
    signal: stop.signal,
  });
  const client = Deno.createHttpClient({ caCerts: [server.certificate] });
  try {
    for (const host of ["127.0.0.1", "localhost"]) {
      const res = await fetch(`https://${host}:${server.port}/healthz`, { client });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "ok");
    }
  } finally {
    client.close();
    stop.abort();
    await server.finished;
  }
});

Deno.test("startServer() uses --tls-cert-file/--tls-private-key-file and requires both", async () => {
  const dir = await Deno.makeTempDir();
  const { cert, key } = await selfSignedCertificate("127.0.0.1");
  await Deno.writeTextFile(`${dir}/tls.crt`, cert);
  await Deno.writeTextFile(`${dir}/tls.key`, key);
  const stop = new AbortController();
  const base = {
    bindAddress: "127.0.0.1",
    port: 0,
    registry: new Registry(),
    health: endpoints(),
    signal: stop.signal,
  };
  await assert.rejects(
    startServer({ ...base, tlsCertFile: `${dir}/tls.crt` }),
    /'--tls-cert-file' and '--tls-private-key-file' must be given together/,
  );
  await assert.rejects(
    startServer({ ...base, tlsCertFile: `${dir}/missing.crt`, tlsPrivateKeyFile: `${dir}/tls.key` }),
    /reading the TLS certificate or key failed/,
  );
  const server = await startServer({
    ...base,
    tlsCertFile: `${dir}/tls.crt`,
    tlsPrivateKeyFile: `${dir}/tls.key`,
  });
  assert.equal(server.certificate, cert);
  const client = Deno.createHttpClient({ caCerts: [cert] });
  try {
    const res = await fetch(`https://127.0.0.1:${server.port}/livez`, { client });
    assert.equal(await res.text(), "ok");
  } finally {
    client.close();
    stop.abort();
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
});
