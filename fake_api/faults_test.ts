import assert from "node:assert/strict";
import { createTestApi, TEST_API_KEY, TEST_PROJECT_ID, TEST_START_MS } from "./testing.ts";

const LIST = `/metal/v1/projects/${TEST_PROJECT_ID}/devices`;

Deno.test("rate limit: 429 with Retry-After and X-RateLimit-* headers over the limit, reset next second", async () => {
  const api = await createTestApi({ faults: { rateLimit: 3 } });
  await api.clock.advance(250); // 0.25 s into a window
  const statuses: number[] = [];
  let last;
  for (let i = 0; i < 5; i++) {
    last = await api.call("GET", LIST);
    statuses.push(last.status);
    if (i === 0) {
      assert.equal(last.headers.get("X-RateLimit-Limit"), "3");
      assert.equal(last.headers.get("X-RateLimit-Remaining"), "2");
      assert.equal(last.headers.get("X-RateLimit-Reset"), String(TEST_START_MS / 1000 + 1));
    }
  }
  assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  assert.equal(last!.headers.get("Retry-After"), "1");
  assert.equal(last!.headers.get("X-RateLimit-Remaining"), "0");
  assert.match(last!.body.errors[0], /Rate limit exceeded: at most 3 requests per second/);
  await api.clock.advance(1000);
  assert.equal((await api.call("GET", LIST)).status, 200);
});

Deno.test("error rate: a share of requests get a simulated 500 before any state change", async () => {
  let n = 0;
  const api = await createTestApi({ faults: { errorRate: 0.5 }, random: () => (n++ % 2 === 0 ? 0.1 : 0.9) });
  const create = () =>
    api.call("POST", `/metal/v1/projects/${TEST_PROJECT_ID}/ips`, {
      body: { type: "public_ipv4", quantity: 1, metro: "sv" },
    });
  const first = await create();
  assert.equal(first.status, 500);
  assert.match(first.body.errors[0], /Simulated internal server error/);
  assert.equal(api.store.reservations.size, 0, "failed request changed nothing");
  assert.equal((await create()).status, 201);
});

Deno.test("latency delays API requests by the configured time", async () => {
  const api = await createTestApi({ faults: { latencyMs: 200 } });
  let done = false;
  const pending = api.call("GET", LIST).then((r) => {
    done = true;
    return r;
  });
  await api.clock.advance(199);
  assert.equal(done, false);
  await api.clock.advance(1);
  assert.equal((await pending).status, 200);
});

Deno.test("admin: faults change at run time; scripted failures hit the next matching requests only", async () => {
  const api = await createTestApi();
  const put = await api.call("PUT", "/_fake/faults", { token: null, body: { rateLimit: 100, errorRate: 0 } });
  assert.deepEqual([put.status, put.body.rateLimit], [200, 100]);
  assert.equal((await api.call("GET", LIST)).headers.get("X-RateLimit-Limit"), "100");
  const bad = await api.call("PUT", "/_fake/faults", { token: null, body: { errorRate: 2 } });
  assert.equal(bad.status, 422);
  assert.match(bad.body.errors[0], /"errorRate"/);

  const scripted = await api.call("POST", "/_fake/faults/scripted", {
    token: null,
    body: { method: "POST", path: `/metal/v1/projects/${TEST_PROJECT_ID}/ips`, status: 503, count: 2 },
  });
  assert.equal(scripted.status, 201);
  const body = { type: "public_ipv4", quantity: 1, metro: "sv" };
  assert.equal(
    (await api.call("GET", `/metal/v1/projects/${TEST_PROJECT_ID}/ips`)).status,
    200,
    "GET not matched",
  );
  assert.equal((await api.call("POST", `/metal/v1/projects/${TEST_PROJECT_ID}/ips`, { body })).status, 503);
  assert.equal((await api.call("POST", `/metal/v1/projects/${TEST_PROJECT_ID}/ips`, { body })).status, 503);
  assert.equal((await api.call("POST", `/metal/v1/projects/${TEST_PROJECT_ID}/ips`, { body })).status, 201);
  assert.equal(api.store.reservations.size, 1);
});

Deno.test("scripted failures may carry Retry-After; the request log records the Retry-After of each answer", async () => {
  const api = await createTestApi({ faults: { rateLimit: 1 } });
  const scripted = await api.call("POST", "/_fake/faults/scripted", {
    token: null,
    body: { method: "GET", path: LIST, status: 429, retryAfter: 3 },
  });
  assert.equal(scripted.status, 201);
  const first = await api.call("GET", LIST);
  assert.deepEqual([first.status, first.headers.get("Retry-After")], [429, "3"]);
  const limited = await api.call("GET", LIST);
  assert.deepEqual([limited.status, limited.headers.get("Retry-After")], [429, "1"]);
  await api.clock.advance(1000);
  assert.equal((await api.call("GET", LIST)).status, 200);
  const log = await api.call("GET", "/_fake/requests", { token: null });
  assert.deepEqual(
    log.body.requests.map((r: { status: number; retryAfter?: string }) => [r.status, r.retryAfter]),
    [[429, "3"], [429, "1"], [200, undefined]],
  );
  const bad = await api.call("POST", "/_fake/faults/scripted", {
    token: null,
    body: { path: LIST, status: 503, retryAfter: -1 },
  });
  assert.equal(bad.status, 422);
  assert.match(bad.body.errors[0], /"retryAfter"/);
});

Deno.test("admin: request log records method, path, query, status, time, duration and user agent, never the key", async () => {
  const api = await createTestApi();
  await api.call("GET", `${LIST}?per_page=5`, { headers: { "User-Agent": "test-client/1" } });
  await api.call("GET", "/metal/v1/projects", { token: "bad-key" });
  await api.call("GET", "/_fake/faults", { token: null });
  const log = await api.call("GET", "/_fake/requests", { token: null });
  assert.equal(log.body.requests.length, 2, "admin calls are not logged");
  const [a, b] = log.body.requests;
  assert.deepEqual([a.method, a.path, a.query, a.status], ["GET", LIST, "per_page=5", 200]);
  assert.equal(a.time, new Date(TEST_START_MS).toISOString());
  assert.equal(typeof a.durationMs, "number");
  assert.equal(a.userAgent, "test-client/1");
  assert.equal(b.status, 401);
  const text = JSON.stringify(log.body);
  assert.ok(!text.includes(TEST_API_KEY) && !text.includes("bad-key"), "no keys in the log");
  const since = await api.call("GET", `/_fake/requests?since=${a.seq}`, { token: null });
  assert.deepEqual(since.body.requests.map((r: { seq: number }) => r.seq), [b.seq]);
  assert.equal((await api.call("DELETE", "/_fake/requests", { token: null })).status, 204);
  assert.equal((await api.call("GET", "/_fake/requests", { token: null })).body.requests.length, 0);
});

Deno.test("admin: create devices directly, set state, delete, stats, reset to the seed", async () => {
  const api = await createTestApi();
  const created = await api.call("POST", `/_fake/projects/${TEST_PROJECT_ID}/devices`, {
    token: null,
    body: { hostname: "n1", plan: "m3.small.x86", metro: "da", state: "provisioning", tags: ["t"] },
  });
  assert.equal(created.status, 201);
  const d = created.body;
  assert.deepEqual([d.state, d.plan.slug, d.metro.code, d.tags], ["provisioning", "m3.small.x86", "da", [
    "t",
  ]]);
  const set = await api.call("PUT", `/_fake/devices/${d.id}/state`, {
    token: null,
    body: { state: "inactive" },
  });
  assert.equal(set.body.state, "inactive");
  assert.equal((await api.call("GET", `/metal/v1/devices/${d.id}`)).body.state, "inactive");
  const badState = await api.call("PUT", `/_fake/devices/${d.id}/state`, {
    token: null,
    body: { state: "off" },
  });
  assert.equal(badState.status, 422);
  const stats = await api.call("GET", "/_fake/stats", { token: null });
  assert.deepEqual([stats.body.devices, stats.body.projects], [1, 2]);
  assert.equal((await api.call("DELETE", `/_fake/devices/${d.id}`, { token: null })).status, 204);
  assert.equal((await api.call("GET", `/metal/v1/devices/${d.id}`)).status, 404);

  await api.call("POST", `/_fake/projects/${TEST_PROJECT_ID}/devices`, {
    token: null,
    body: { hostname: "n2" },
  });
  await api.call("PUT", "/_fake/faults", { token: null, body: { latencyMs: 5 } });
  assert.equal((await api.call("POST", "/_fake/reset", { token: null })).status, 204);
  assert.equal(api.store.devices.size, 0);
  assert.equal(api.store.projects.size, 2);
  assert.equal(api.faults.settings.latencyMs, 0);
  assert.equal((await api.call("GET", LIST)).status, 200, "seeded key still works after reset");
});

Deno.test("admin: new projects and API keys", async () => {
  const api = await createTestApi();
  const project = await api.call("POST", "/_fake/projects", {
    token: null,
    body: { name: "extra", asn: 65010 },
  });
  assert.equal(project.status, 201);
  const key = await api.call("POST", "/_fake/api-keys", {
    token: null,
    body: { token: "new-key-123", project_ids: [project.body.id] },
  });
  assert.deepEqual([key.status, key.body.token], [201, "new-key-123"]);
  const seen = await api.call("GET", "/metal/v1/projects", { token: "new-key-123" });
  assert.deepEqual(seen.body.projects.map((p: { name: string }) => p.name), ["extra"]);
  const bgp = await api.call("GET", `/metal/v1/projects/${project.body.id}/bgp-config`, {
    token: "new-key-123",
  });
  assert.equal(bgp.body.asn, 65010);
  const dup = await api.call("POST", "/_fake/api-keys", { token: null, body: { token: "new-key-123" } });
  assert.equal(dup.status, 409);
});
