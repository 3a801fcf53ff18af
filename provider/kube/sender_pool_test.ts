import assert from "node:assert/strict";
import { SenderPool } from "./sender_pool.ts";
import type { HttpSender, TlsOptions } from "./transport.ts";

function recordingPool() {
  const made: Array<{ tls: TlsOptions; closed: number; sent: number }> = [];
  const pool = new SenderPool((tls) => {
    const entry = { tls, closed: 0, sent: 0 };
    made.push(entry);
    const sender: HttpSender = {
      send: () => {
        entry.sent++;
        return Promise.reject(new Error("not sent in this test"));
      },
      close: () => {
        entry.closed++;
        return Promise.resolve();
      },
    };
    return sender;
  });
  return { pool, made };
}

const TLS: TlsOptions = { ca: "ca", cert: "cert", key: "key", rejectUnauthorized: true };

Deno.test("SenderPool gives clients with the same TLS settings one connection pool", async () => {
  const { pool, made } = recordingPool();
  const a = pool.acquire(TLS);
  const b = pool.acquire({ ...TLS });
  assert.equal(made.length, 1);
  await assert.rejects(a.send(new URL("https://k8s.test/api"), { method: "GET", headers: {}, watch: false }));
  await assert.rejects(b.send(new URL("https://k8s.test/api"), { method: "GET", headers: {}, watch: false }));
  assert.equal(made[0]!.sent, 2, "both clients send through the one pool");
  const other = pool.acquire({ ...TLS, cert: "another user" });
  assert.equal(made.length, 2, "other credentials: a pool of their own");
  await other.close();
  assert.equal(made[1]!.closed, 1);
});

Deno.test("SenderPool closes a shared pool only when its last client closes, once", async () => {
  const { pool, made } = recordingPool();
  const a = pool.acquire(TLS);
  const b = pool.acquire(TLS);
  await a.close();
  await a.close(); // a second close of one client does not release another client's share
  assert.equal(made[0]!.closed, 0, "b still uses it");
  assert.equal(pool.size, 1);
  await b.close();
  assert.equal(made[0]!.closed, 1);
  assert.equal(pool.size, 0);
  pool.acquire(TLS);
  assert.equal(made.length, 2, "a client after all closed gets a new pool");
});
