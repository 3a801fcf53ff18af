import assert from "node:assert/strict";
import { LBAAS_PROVIDER_ID } from "./domain/lbaas.ts";
import { createTestApi, OTHER_API_KEY, TEST_API_KEY, TEST_PROJECT_ID, type TestApi } from "./testing.ts";
import { TOKEN_TTL_SECONDS } from "./lbaas_auth.ts";

const SV = "lctnloc-H5rl2M2VL5dcFmdxhbEKx";
const L = "/lbaas/v1";

async function token(api: TestApi, key = TEST_API_KEY): Promise<string> {
  const res = await api.call("POST", "/iam/api-keys/exchange", {
    token: null,
    headers: { Authorization: `Bearer ${key}` },
  });
  assert.equal(res.status, 200);
  return res.body.access_token;
}

/** An LBaaS client doing what the CCM does: a fresh token exchange before every call. */
function lbaas(api: TestApi, key = TEST_API_KEY) {
  return async (method: string, path: string, body?: unknown) =>
    api.call(method, `${L}${path}`, {
      token: null,
      body,
      headers: { Authorization: `Bearer ${await token(api, key)}` },
    });
}

Deno.test("token exchange: a valid key gets a Bearer token; bad or missing keys get 401", async () => {
  const api = await createTestApi();
  const ok = await api.call("POST", "/iam/api-keys/exchange", {
    token: null,
    headers: { Authorization: `Bearer ${TEST_API_KEY}` },
  });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.token_type, "Bearer");
  assert.equal(ok.body.expires_in, TOKEN_TTL_SECONDS);
  assert.equal(ok.body.access_token.split(".").length, 3, "a JWT");
  assert.ok(!ok.body.access_token.includes(TEST_API_KEY), "the token does not embed the key");
  const lower = await api.call("POST", "/iam/api-keys/exchange", {
    token: null,
    headers: { Authorization: `bearer ${TEST_API_KEY}` },
  });
  assert.equal(lower.status, 200);
  const variants: Record<string, string>[] = [{}, { Authorization: "Bearer wrong-key" }, {
    Authorization: TEST_API_KEY,
  }];
  for (const headers of variants) {
    const res = await api.call("POST", "/iam/api-keys/exchange", { token: null, headers });
    assert.equal(res.status, 401);
  }
});

Deno.test("LBaaS calls need a valid, unexpired access token", async () => {
  const api = await createTestApi();
  const path = `${L}/projects/${TEST_PROJECT_ID}/loadbalancers`;
  assert.equal((await api.call("GET", path, { token: null })).status, 401);
  const metalKey = await api.call("GET", path, {
    token: null,
    headers: { Authorization: `Bearer ${TEST_API_KEY}` },
  });
  assert.equal(metalKey.status, 401, "a Metal API key is not an access token");
  const t = await token(api);
  const ok = await api.call("GET", path, { token: null, headers: { Authorization: `Bearer ${t}` } });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, { loadbalancers: [] });
  await api.clock.advance(TOKEN_TTL_SECONDS * 1000);
  const expired = await api.call("GET", path, { token: null, headers: { Authorization: `Bearer ${t}` } });
  assert.equal(expired.status, 401);
  assert.match(expired.body.errors[0], /expired/);
  const i = t.length - 10; // well inside the signature, where every bit counts
  const tampered = t.slice(0, i) + (t[i] === "A" ? "B" : "A") + t.slice(i + 1);
  assert.equal(
    (await api.call("GET", path, { token: null, headers: { Authorization: `Bearer ${tampered}` } })).status,
    401,
  );
});

Deno.test("the CCM's EMLB sequence: LB with an IP, pool + origins, port; pools parallel to ports", async () => {
  const api = await createTestApi();
  const call = lbaas(api);
  const created = await call("POST", `/projects/${TEST_PROJECT_ID}/loadbalancers`, {
    name: "svc-lb",
    location_id: SV,
    port_ids: null,
    provider_id: LBAAS_PROVIDER_ID,
  });
  assert.equal(created.status, 200);
  const lbId = created.body.id;
  assert.match(lbId, /^loadbal-/);
  let lb = (await call("GET", `/loadbalancers/${lbId}`)).body;
  assert.deepEqual([lb.name, lb.ports, lb.pools, lb.location.id, lb.provider.id], [
    "svc-lb",
    [],
    [],
    SV,
    LBAAS_PROVIDER_ID,
  ]);
  assert.equal(lb.ips.length, 1);
  assert.match(lb.ips[0], /^145\.40\.(12[89]|13\d|14[0-3])\.\d+$/);

  for (const portNumber of [80, 443]) {
    const pool = await call("POST", `/projects/${TEST_PROJECT_ID}/loadbalancers/pools`, {
      name: `svc-lb-pool-${portNumber}`,
      protocol: "tcp",
    });
    assert.equal(pool.status, 200);
    for (const [j, target] of ["147.75.0.1", "147.75.0.3"].entries()) {
      const origin = await call("POST", `/loadbalancers/pools/${pool.body.id}/origins`, {
        name: `svc-lb-pool-${portNumber}-origin-${j}`,
        target,
        port_number: 30000 + portNumber,
        active: true,
        pool_id: pool.body.id,
      });
      assert.equal(origin.status, 200);
      assert.match(origin.body.id, /^loadorg-/);
    }
    const port = await call("POST", `/loadbalancers/${lbId}/ports`, {
      name: `svc-lb-port-${portNumber}`,
      number: portNumber,
      pool_ids: [pool.body.id],
    });
    assert.equal(port.status, 200);
  }
  lb = (await call("GET", `/loadbalancers/${lbId}`)).body;
  assert.deepEqual(lb.ports.map((p: { number: number }) => p.number), [80, 443]);
  assert.equal(lb.pools.length, lb.ports.length);
  assert.deepEqual(lb.pools.map((g: { name: string }[]) => g.map((p) => p.name)), [
    ["svc-lb-pool-80"],
    ["svc-lb-pool-443"],
  ]);
  const poolId = lb.pools[0][0].id;
  const origins = await call("GET", `/loadbalancers/pools/${poolId}/origins`);
  assert.deepEqual(origins.body.origins.map((o: { port_number: number }) => o.port_number), [30080, 30080]);
  const pool = await call("GET", `/loadbalancers/pools/${poolId}`);
  assert.deepEqual([pool.body.protocol, pool.body.ports.length, pool.body.loadbalancers[0].id], [
    "tcp",
    1,
    lbId,
  ]);

  // The CCM's delete path: delete each pool, then the LB.
  for (const group of lb.pools) {
    for (const p of group) assert.equal((await call("DELETE", `/loadbalancers/pools/${p.id}`)).status, 204);
  }
  lb = (await call("GET", `/loadbalancers/${lbId}`)).body;
  assert.deepEqual(lb.pools, [[], []], "ports keep their slot with an empty pool list");
  assert.equal((await call("DELETE", `/loadbalancers/${lbId}`)).status, 204);
  assert.equal((await call("GET", `/loadbalancers/${lbId}`)).status, 404);
  assert.equal(api.store.lbPorts.size + api.store.lbOrigins.size + api.store.lbPools.size, 0);
});

Deno.test("ports: get by number, update, duplicate numbers refused, delete", async () => {
  const api = await createTestApi();
  const call = lbaas(api);
  const lbId = (await call("POST", `/projects/${TEST_PROJECT_ID}/loadbalancers`, {
    name: "lb",
    location_id: SV,
    provider_id: LBAAS_PROVIDER_ID,
  })).body.id;
  const portId = (await call("POST", `/loadbalancers/${lbId}/ports`, { name: "p80", number: 80 })).body.id;
  const dup = await call("POST", `/loadbalancers/${lbId}/ports`, { name: "again", number: 80 });
  assert.equal(dup.status, 422);
  assert.match(dup.body.errors[0], /already has a port with number 80/);
  const byNumber = await call("GET", `/loadbalancers/${lbId}/ports/80`);
  assert.equal(byNumber.body.id, portId);
  assert.equal((await call("GET", `/loadbalancers/${lbId}/ports/81`)).status, 404);
  const pool =
    (await call("POST", `/projects/${TEST_PROJECT_ID}/loadbalancers/pools`, { name: "p", protocol: "udp" }))
      .body.id;
  const updated = await call("PATCH", `/loadbalancers/ports/${portId}`, {
    number: 8080,
    add_pool_ids: [pool],
  });
  assert.equal(updated.status, 200);
  assert.deepEqual([updated.body.number, updated.body.pool_ids], [8080, [pool]]);
  const list = await call("GET", `/loadbalancers/${lbId}/ports`);
  assert.equal(list.body.ports.length, 1);
  assert.equal((await call("DELETE", `/loadbalancers/ports/${portId}`)).status, 204);
  assert.equal((await call("GET", `/loadbalancers/${lbId}`)).body.ports.length, 0);
});

Deno.test("pools and origins: update, list per project, validation", async () => {
  const api = await createTestApi();
  const call = lbaas(api);
  const poolId = (await call("POST", `/projects/${TEST_PROJECT_ID}/loadbalancers/pools`, {
    name: "p",
    protocol: "tcp",
  })).body.id;
  const bad = await call("POST", `/loadbalancers/pools/${poolId}/origins`, {
    name: "o",
    target: "not-an-ip",
    port_number: 80,
    active: true,
    pool_id: poolId,
  });
  assert.equal(bad.status, 422);
  assert.match(bad.body.errors[0], /Invalid target "not-an-ip"/);
  const wrongPool = await call("POST", `/loadbalancers/pools/${poolId}/origins`, {
    name: "o",
    target: "10.0.0.1",
    port_number: 80,
    active: true,
    pool_id: "loadpol-other",
  });
  assert.equal(wrongPool.status, 422);
  const originId = (await call("POST", `/loadbalancers/pools/${poolId}/origins`, {
    name: "o",
    target: "10.0.0.1",
    port_number: 80,
    active: true,
    pool_id: poolId,
  })).body.id;
  const o = await call("PATCH", `/loadbalancers/pools/origins/${originId}`, {
    active: false,
    port_number: 81,
  });
  assert.deepEqual([o.body.active, o.body.port_number], [false, 81]);
  assert.equal((await call("GET", `/loadbalancers/pools/origins/${originId}`)).body.port_number, 81);
  const p = await call("PATCH", `/loadbalancers/pools/${poolId}`, { name: "renamed", protocol: "udp" });
  assert.deepEqual([p.body.name, p.body.protocol], ["renamed", "udp"]);
  const pools = await call("GET", `/projects/${TEST_PROJECT_ID}/loadbalancers/pools`);
  assert.equal(pools.body.pools.length, 1);
  const cleared = await call("PATCH", `/loadbalancers/pools/${poolId}`, { clear_origins: true });
  assert.deepEqual(cleared.body.origins, []);
  assert.equal((await call("GET", `/loadbalancers/pools/origins/${originId}`)).status, 404);
});

Deno.test("LB create validation: unknown location or provider is 422; another project's LB is 404", async () => {
  const api = await createTestApi();
  const call = lbaas(api);
  const badLoc = await call("POST", `/projects/${TEST_PROJECT_ID}/loadbalancers`, {
    name: "lb",
    location_id: "lctnloc-nope",
    provider_id: LBAAS_PROVIDER_ID,
  });
  assert.equal(badLoc.status, 422);
  assert.match(
    badLoc.body.errors[0],
    /Unknown location_id "lctnloc-nope"; valid values are lctnloc--uxs0GLeAELHKV8GxO_AI/,
  );
  const badProvider = await call("POST", `/projects/${TEST_PROJECT_ID}/loadbalancers`, {
    name: "lb",
    location_id: SV,
    provider_id: "loadpvd-x",
  });
  assert.equal(badProvider.status, 422);
  const lbId = (await call("POST", `/projects/${TEST_PROJECT_ID}/loadbalancers`, {
    name: "lb",
    location_id: SV,
    provider_id: LBAAS_PROVIDER_ID,
  })).body.id;
  const other = lbaas(api, OTHER_API_KEY);
  assert.equal((await other("GET", `/loadbalancers/${lbId}`)).status, 404);
  assert.equal((await other("GET", `/projects/${TEST_PROJECT_ID}/loadbalancers`)).status, 403);
  const renamed = await call("PATCH", `/loadbalancers/${lbId}`, { name: "lb2" });
  assert.equal(renamed.body.id, lbId);
  assert.equal((await call("GET", `/loadbalancers/${lbId}`)).body.name, "lb2");
});

Deno.test("LB list, port membership updates, pool port links and origin delete", async () => {
  const api = await createTestApi();
  const call = lbaas(api);
  const create = async (name: string) =>
    (await call("POST", `/projects/${TEST_PROJECT_ID}/loadbalancers`, {
      name,
      location_id: SV,
      provider_id: LBAAS_PROVIDER_ID,
    })).body.id;
  const a = await create("a");
  const b = await create("b");
  const list = await call("GET", `/projects/${TEST_PROJECT_ID}/loadbalancers`);
  assert.deepEqual(list.body.loadbalancers.map((lb: { name: string }) => lb.name), ["a", "b"]);
  assert.notEqual(list.body.loadbalancers[0].ips[0], list.body.loadbalancers[1].ips[0], "distinct addresses");

  const p80 = (await call("POST", `/loadbalancers/${a}/ports`, { name: "p80", number: 80 })).body.id;
  const p81 = (await call("POST", `/loadbalancers/${a}/ports`, { name: "p81", number: 81 })).body.id;
  // move port 81 to LB b, then remove port 80 from a (which deletes it), then clear b
  assert.equal((await call("PATCH", `/loadbalancers/${b}`, { add_port_ids: [p81] })).status, 200);
  assert.deepEqual((await call("GET", `/loadbalancers/${a}`)).body.ports.map((p: { id: string }) => p.id), [
    p80,
  ]);
  assert.deepEqual((await call("GET", `/loadbalancers/${b}`)).body.ports.map((p: { id: string }) => p.id), [
    p81,
  ]);
  const notMine = await call("PATCH", `/loadbalancers/${a}`, { remove_port_ids: [p81] });
  assert.equal(notMine.status, 422);
  await call("PATCH", `/loadbalancers/${a}`, { remove_port_ids: [p80] });
  assert.deepEqual((await call("GET", `/loadbalancers/${a}`)).body.ports, []);

  const pool = (await call("POST", `/projects/${TEST_PROJECT_ID}/loadbalancers/pools`, {
    name: "pool",
    protocol: "tcp",
    port_ids: [p81],
  })).body.id;
  let lbB = (await call("GET", `/loadbalancers/${b}`)).body;
  assert.deepEqual(lbB.pools.map((g: { id: string }[]) => g.map((p) => p.id)), [[pool]]);
  await call("PATCH", `/loadbalancers/pools/${pool}`, { remove_port_ids: [p81] });
  lbB = (await call("GET", `/loadbalancers/${b}`)).body;
  assert.deepEqual(lbB.pools, [[]]);
  await call("PATCH", `/loadbalancers/pools/${pool}`, { add_port_ids: [p81] });
  assert.equal((await call("GET", `/loadbalancers/pools/${pool}`)).body.ports[0].id, p81);

  const origin = (await call("POST", `/loadbalancers/pools/${pool}/origins`, {
    name: "o",
    target: "2604:1380:4640::1",
    port_number: 30080,
    active: true,
    pool_id: pool,
  })).body.id;
  assert.equal((await call("DELETE", `/loadbalancers/pools/origins/${origin}`)).status, 204);
  assert.deepEqual((await call("GET", `/loadbalancers/pools/${pool}/origins`)).body.origins, []);
  assert.equal((await call("DELETE", `/loadbalancers/pools/origins/${origin}`)).status, 404);

  await call("PATCH", `/loadbalancers/${b}`, { clear_ports: true });
  assert.deepEqual((await call("GET", `/loadbalancers/${b}`)).body.ports, []);
  assert.equal(api.store.lbPorts.size, 0);
});
