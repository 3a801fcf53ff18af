import assert from "node:assert/strict";
import { adminExposureProblem, isLoopbackHost, serveFakeApi } from "./serve.ts";
import { createTestApi, TEST_PROJECT_ID } from "./testing.ts";

const TOKEN = "s3cr3t-admin-token-0123";

async function admin(
  api: { app: { request(path: string, init: RequestInit): Response | Promise<Response> } },
  authorization?: string,
) {
  const headers: Record<string, string> = authorization === undefined ? {} : { Authorization: authorization };
  const res = await api.app.request("/_fake/stats", { headers });
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
}

Deno.test("without an admin token the admin API needs no authentication (loopback use)", async () => {
  const api = await createTestApi();
  assert.equal((await admin(api)).status, 200);
});

Deno.test("with an admin token every admin call needs 'Authorization: Bearer <token>'", async () => {
  const api = await createTestApi({ adminToken: TOKEN });
  const missing = await admin(api);
  assert.equal(missing.status, 401);
  assert.match(missing.type, /^application\/json/);
  assert.deepEqual(JSON.parse(missing.text), {
    errors: [
      "Missing admin token: send 'Authorization: Bearer <token>' with the token given to " +
      "'ccm fake-api --admin-token'",
    ],
  });
  const wrong = await admin(api, "Bearer not-the-admin-token");
  assert.equal(wrong.status, 401);
  assert.match(JSON.parse(wrong.text).errors[0], /^Wrong admin token/);
  const malformed = await admin(api, `Basic ${TOKEN}`);
  assert.equal(malformed.status, 400);
  assert.match(JSON.parse(malformed.text).errors[0], /^Malformed Authorization header/);
  for (const res of [missing, wrong, malformed]) {
    assert.ok(!res.text.includes(TOKEN), "never echoes the token");
  }

  assert.equal((await admin(api, `Bearer ${TOKEN}`)).status, 200);
  const writes = await api.app.request("/_fake/reset", {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(writes.status, 204);
  const unauthorizedWrite = await api.app.request("/_fake/reset", { method: "POST" });
  assert.equal(unauthorizedWrite.status, 401);
});

Deno.test("the admin token does not change the Metal API's own authentication", async () => {
  const api = await createTestApi({ adminToken: TOKEN });
  const res = await api.call("GET", `/metal/v1/projects/${TEST_PROJECT_ID}/devices`);
  assert.equal(res.status, 200);
  const bearerOnly = await api.call("GET", "/metal/v1/projects", {
    token: null,
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(bearerOnly.status, 401, "the admin token is no Metal API key");
});

Deno.test("isLoopbackHost() accepts only addresses reachable from this machine alone", () => {
  for (
    const host of [
      "127.0.0.1",
      "127.1.2.3",
      "127.1",
      "::1",
      "0:0:0:0:0:0:0:1",
      "::ffff:127.0.0.1",
      "localhost",
    ]
  ) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  for (
    const host of [
      "0.0.0.0",
      "::",
      "",
      "10.0.0.1",
      "192.0.2.1",
      "::ffff:10.0.0.1",
      "2001:db8::1",
      "example.com",
    ]
  ) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});

Deno.test("adminExposureProblem() refuses a non-loopback address unless an admin token is given", () => {
  assert.equal(adminExposureProblem("127.0.0.1", undefined), undefined);
  assert.equal(adminExposureProblem("0.0.0.0", TOKEN), undefined);
  assert.equal(
    adminExposureProblem("0.0.0.0", undefined),
    "Refusing to serve the unauthenticated admin API (/_fake) on '0.0.0.0', which is not a loopback address; " +
      "pass --admin-token TOKEN (clients then send 'Authorization: Bearer TOKEN'), or listen on 127.0.0.1",
  );
});

Deno.test("serveFakeApi() rejects a non-loopback address without an admin token before listening", async () => {
  await assert.rejects(
    serveFakeApi({ hostname: "0.0.0.0", port: 0 }),
    /Refusing to serve the unauthenticated/,
  );
});

Deno.test("serveFakeApi() serves an admin token's protection over the wire", async () => {
  const server = await serveFakeApi({ hostname: "127.0.0.1", port: 0, adminToken: TOKEN });
  try {
    const denied = await fetch(`${server.url}/_fake/stats`);
    assert.equal(denied.status, 401);
    await denied.body?.cancel();
    const allowed = await fetch(`${server.url}/_fake/stats`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(allowed.status, 200);
    await allowed.body?.cancel();
  } finally {
    await server.shutdown();
  }
});
