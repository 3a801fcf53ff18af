import assert from "node:assert/strict";
import { createTestApi, TEST_PROJECT_ID, type TestApi, testSeed } from "./testing.ts";

const P = `/metal/v1/projects/${TEST_PROJECT_ID}`;

async function device(api: TestApi) {
  return (await api.call("POST", `/_fake/projects/${TEST_PROJECT_ID}/devices`, { body: { hostname: "n1" } }))
    .body;
}

async function enableBgp(api: TestApi, md5 = "") {
  return await api.call("POST", `${P}/bgp-configs`, {
    body: { asn: 65000, md5, deployment_type: "local", use_case: "kubernetes-load-balancer" },
  });
}

Deno.test("bgp-config is {} until requested; the CCM's request (empty md5) enables it with 204", async () => {
  const api = await createTestApi();
  const before = await api.call("GET", `${P}/bgp-config`);
  assert.equal(before.status, 200);
  assert.deepEqual(before.body, {});
  const res = await enableBgp(api);
  assert.equal(res.status, 204);
  const after = await api.call("GET", `${P}/bgp-config`);
  assert.deepEqual(
    [after.body.asn, after.body.status, after.body.deployment_type, after.body.md5],
    [65000, "enabled", "local", null],
  );
  assert.equal(after.body.project.href, `/metal/v1/projects/${TEST_PROJECT_ID}`);
  const project = await api.call("GET", P);
  assert.equal(project.body.bgp_config.href, after.body.href);
  const again = await enableBgp(api);
  assert.equal(again.status, 422);
  assert.match(again.body.errors[0], /already enabled/);
});

Deno.test("a global deployment stays requested; md5 must follow the official pattern when set", async () => {
  const api = await createTestApi();
  const bad = await api.call("POST", `${P}/bgp-configs`, {
    body: { asn: 65000, md5: "short", deployment_type: "local" },
  });
  assert.equal(bad.status, 422);
  assert.match(bad.body.errors[0], /"md5"/);
  assert.doesNotMatch(bad.body.errors[0], /short/, "the password is not echoed");
  const ok = await api.call("POST", `${P}/bgp-configs`, {
    body: { asn: 65001, md5: "Passw0rdXyz", deployment_type: "global" },
  });
  assert.equal(ok.status, 204);
  const cfg = await api.call("GET", `${P}/bgp-config`);
  assert.deepEqual([cfg.body.status, cfg.body.md5], ["requested", "Passw0rdXyz"]);
});

Deno.test("device sessions: create 201, duplicate 422 'already has session', list, get, delete", async () => {
  const api = await createTestApi();
  const d = await device(api);
  const create = () =>
    api.call("POST", `/metal/v1/devices/${d.id}/bgp/sessions`, { body: { address_family: "ipv4" } });
  const notEnabled = await create();
  assert.equal(notEnabled.status, 422);
  assert.match(notEnabled.body.errors[0], /BGP is not enabled/);
  await enableBgp(api);
  const first = await create();
  assert.equal(first.status, 201);
  assert.deepEqual([first.body.address_family, first.body.status, first.body.default_route], [
    "ipv4",
    "up",
    false,
  ]);
  const dup = await create();
  assert.equal(dup.status, 422);
  assert.match(dup.body.errors.join(", "), /already has session/);
  const v6 = await api.call("POST", `/metal/v1/devices/${d.id}/bgp/sessions`, {
    body: { address_family: "ipv6", default_route: true },
  });
  assert.equal(v6.status, 201);
  const list = await api.call("GET", `/metal/v1/devices/${d.id}/bgp/sessions`);
  assert.deepEqual(list.body.bgp_sessions.map((s: { address_family: string }) => s.address_family), [
    "ipv4",
    "ipv6",
  ]);
  const projectList = await api.call("GET", `${P}/bgp/sessions`);
  assert.equal(projectList.body.bgp_sessions.length, 2);
  assert.equal((await api.call("GET", `/metal/v1/bgp/sessions/${first.body.id}`)).body.id, first.body.id);
  assert.equal((await api.call("DELETE", `/metal/v1/bgp/sessions/${first.body.id}`)).status, 204);
  assert.equal((await api.call("GET", `/metal/v1/bgp/sessions/${first.body.id}`)).status, 404);
  assert.equal((await create()).status, 201, "a deleted session can be recreated");
  const cfg = await api.call("GET", `${P}/bgp-config?include=sessions`);
  assert.equal(cfg.body.sessions.length, 2);
});

Deno.test("neighbours: IPv4 and IPv6 entries with project ASN, private IPv4, two peers, peer AS 65530, md5", async () => {
  const api = await createTestApi();
  const d = await device(api);
  await enableBgp(api, "Secret123abc");
  const none = await api.call("GET", `/metal/v1/devices/${d.id}/bgp/neighbors`);
  assert.deepEqual(none.body.bgp_neighbors, []);
  await api.call("POST", `/metal/v1/devices/${d.id}/bgp/sessions`, { body: { address_family: "ipv4" } });
  const eip = await api.call("POST", `${P}/ips`, { body: { type: "public_ipv4", quantity: 1, metro: "sv" } });
  const res = await api.call("GET", `/metal/v1/devices/${d.id}/bgp/neighbors`);
  assert.equal(res.status, 200);
  const [v4, v6] = res.body.bgp_neighbors;
  const privateIp = d.ip_addresses.find((ip: { public: boolean }) => !ip.public).address;
  const publicV6 = d.ip_addresses.find((ip: { address_family: number }) => ip.address_family === 6).address;
  assert.deepEqual(v4, {
    address_family: 4,
    customer_as: 65000,
    customer_ip: privateIp,
    md5_enabled: true,
    md5_password: "Secret123abc",
    multihop: true,
    peer_as: 65530,
    peer_ips: ["169.254.255.1", "169.254.255.2"],
    routes_in: [{ route: `${eip.body.address}/32`, exact: true }],
    routes_out: [],
  });
  assert.deepEqual([v6.address_family, v6.customer_ip, v6.peer_ips.length, v6.peer_as], [
    6,
    publicV6,
    2,
    65530,
  ]);
});

Deno.test("a seeded project asn enables BGP; md5 absent gives md5_enabled false", async () => {
  const seed = testSeed();
  seed.projects[0]!.asn = 65100;
  const api = await createTestApi({ seed });
  const d = await device(api);
  await api.call("POST", `/metal/v1/devices/${d.id}/bgp/sessions`, { body: { address_family: "ipv4" } });
  const res = await api.call("GET", `/metal/v1/devices/${d.id}/bgp/neighbors`);
  assert.deepEqual([res.body.bgp_neighbors[0].customer_as, res.body.bgp_neighbors[0].md5_enabled], [
    65100,
    false,
  ]);
});
