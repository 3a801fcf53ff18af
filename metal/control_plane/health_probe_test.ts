import assert from "node:assert/strict";
import { HttpsHealthProber } from "./health_probe.ts";
import { createTestCa, startApiServers } from "./testing.ts";

Deno.test("HttpsHealthProber verifies the chain against the cluster CA, not the host name", async () => {
  const ca = await createTestCa();
  const other = await createTestCa("/CN=someone-else");
  try {
    // The certificate names neither address: only the chain is checked.
    const { cert, key } = await ca.issue("apiserver", []);
    await using servers = await startApiServers({ addresses: ["127.0.0.2", "127.0.0.3"], cert, key });
    const url = (a: string) => `https://${a}:${servers.port}/healthz`;

    const trusting = new HttpsHealthProber({ caCertificates: () => [ca.cert] });
    servers.set("127.0.0.3", 500);
    const [healthy, failing] = await Promise.all([
      trusting.probe(url("127.0.0.2")),
      trusting.probe(url("127.0.0.3")),
    ]);
    assert.deepEqual([healthy.ok, healthy.detail], [true, "HTTP 200"]);
    assert.deepEqual([failing.ok, failing.detail], [false, "HTTP 500"]);

    const distrusting = new HttpsHealthProber({ caCertificates: () => [other.cert] });
    const rejected = await distrusting.probe(url("127.0.0.2"));
    assert.equal(rejected.ok, false);
    assert.match(rejected.detail, /certificate/i);

    const skipping = new HttpsHealthProber();
    assert.equal((await skipping.probe(url("127.0.0.2"))).ok, true, "no CA known: verification skipped");
    assert.equal(servers.hits.get("127.0.0.2"), 2, "the rejected handshake never reached the handler");
  } finally {
    await ca.remove();
    await other.remove();
  }
});

Deno.test("HttpsHealthProber gives up after the deadline and reports refused connections", async () => {
  const ca = await createTestCa();
  try {
    const { cert, key } = await ca.issue("apiserver", []);
    await using servers = await startApiServers({ addresses: ["127.0.0.2"], cert, key });
    servers.set("127.0.0.2", "hang");
    const prober = new HttpsHealthProber({ timeoutMs: 200, caCertificates: () => [ca.cert] });
    const hung = await prober.probe(`https://127.0.0.2:${servers.port}/healthz`);
    assert.deepEqual([hung.ok, hung.detail], [false, "timed out after 200 ms"]);
    assert.ok(hung.seconds >= 0.19 && hung.seconds < 2, `took ${hung.seconds} s`);

    const refused = await prober.probe(`https://127.0.0.5:${servers.port}/healthz`);
    assert.deepEqual([refused.ok, refused.detail], [false, "connection refused"]);
  } finally {
    await ca.remove();
  }
});

Deno.test("HttpsHealthProber stops when the caller aborts", async () => {
  const ca = await createTestCa();
  try {
    const { cert, key } = await ca.issue("apiserver", []);
    await using servers = await startApiServers({ addresses: ["127.0.0.2"], cert, key });
    servers.set("127.0.0.2", "hang");
    const controller = new AbortController();
    const probing = new HttpsHealthProber({ caCertificates: () => [ca.cert] })
      .probe(`https://127.0.0.2:${servers.port}/healthz`, controller.signal);
    setTimeout(() => controller.abort(), 50);
    const outcome = await probing;
    assert.deepEqual([outcome.ok, outcome.detail], [false, "cancelled"]);
  } finally {
    await ca.remove();
  }
});
