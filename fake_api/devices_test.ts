import assert from "node:assert/strict";
import { createTestApi, OTHER_PROJECT_ID, TEST_PROJECT_ID, type TestApi } from "./testing.ts";

const P = `/metal/v1/projects/${TEST_PROJECT_ID}`;

function createBody(extra: Record<string, unknown> = {}) {
  return { plan: "c3.small.x86", metro: "sv", operating_system: "ubuntu_24_04", ...extra };
}

async function createDevice(api: TestApi, extra: Record<string, unknown> = {}) {
  const res = await api.call("POST", `${P}/devices`, { body: createBody(extra) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

Deno.test("device create returns a realistic device with public /31, private /31 in a /25, public IPv6 /127", async () => {
  const api = await createTestApi();
  const d = await createDevice(api, { hostname: "node-1", tags: ["k8s"] });
  assert.equal(d.hostname, "node-1");
  assert.deepEqual(d.tags, ["k8s"]);
  assert.equal(d.state, "active");
  assert.equal(d.plan.slug, "c3.small.x86");
  assert.equal(d.metro.code, "sv");
  assert.equal(d.facility.code, "sv15");
  assert.equal(d.operating_system.slug, "ubuntu_24_04");
  assert.equal(d.project.href, `/metal/v1/projects/${TEST_PROJECT_ID}`);
  assert.equal(d.href, `/metal/v1/devices/${d.id}`);
  assert.match(d.id, /^[0-9a-f-]{36}$/);
  assert.equal(d.short_id, d.id.slice(0, 8));
  const ips = d.ip_addresses;
  assert.equal(ips.length, 3);
  const [pub4, pub6, priv4] = ips;
  assert.deepEqual([pub4.address_family, pub4.public, pub4.management, pub4.cidr], [4, true, true, 31]);
  assert.match(pub4.address, /^147\.75\.\d+\.\d+$/);
  assert.deepEqual([pub6.address_family, pub6.public, pub6.cidr], [6, true, 127]);
  assert.match(pub6.address, /^2604:1380:/);
  assert.deepEqual([priv4.address_family, priv4.public, priv4.management, priv4.cidr], [4, false, true, 31]);
  assert.match(priv4.address, /^10\.\d+\.\d+\.\d+$/);
  // parent blocks are references unless included
  assert.deepEqual(Object.keys(priv4.parent_block), ["href"]);
  assert.equal(d.network_ports.map((p: { name: string }) => p.name).join(","), "bond0,eth0,eth1");
});

Deno.test("devices in the same project and metro share the private /25 and get distinct addresses", async () => {
  const api = await createTestApi();
  const seen = new Set<string>();
  const networks = new Set<string>();
  for (let i = 0; i < 70; i++) {
    const d = await createDevice(api, { hostname: `n${i}` });
    for (const ip of d.ip_addresses) {
      assert.ok(!seen.has(ip.address), `address ${ip.address} handed out twice`);
      seen.add(ip.address);
    }
    const res = await api.call("GET", `/metal/v1/devices/${d.id}?include=ip_addresses.parent_block`);
    const priv = res.body.ip_addresses.find((ip: { public: boolean }) => !ip.public);
    assert.equal(priv.parent_block.cidr, 25);
    assert.equal(priv.parent_block.netmask, "255.255.255.128");
    networks.add(priv.parent_block.network);
  }
  // 64 /31s fit in a /25, so 70 devices need a second block
  assert.equal(networks.size, 2);
});

Deno.test("GET device with include=ip_addresses.parent_block,parent_block gives network and cidr", async () => {
  const api = await createTestApi();
  const d = await createDevice(api);
  const res = await api.call(
    "GET",
    `/metal/v1/devices/${d.id}?include=ip_addresses.parent_block,parent_block`,
  );
  assert.equal(res.status, 200);
  for (const ip of res.body.ip_addresses) {
    assert.ok(ip.parent_block.network, "parent_block.network present");
    assert.ok(ip.parent_block.cidr > 0);
    assert.ok(ip.parent_block.netmask);
    assert.match(ip.parent_block.href, /^\/metal\/v1\/ips\//);
  }
  const priv = res.body.ip_addresses.find((ip: { public: boolean }) => !ip.public);
  assert.match(`${priv.parent_block.network}/${priv.parent_block.cidr}`, /^10\.\d+\.\d+\.(0|128)\/25$/);
});

Deno.test("include=project expands the project; exclude collapses inline attributes to hrefs", async () => {
  const api = await createTestApi();
  const d = await createDevice(api);
  const inc = await api.call("GET", `/metal/v1/devices/${d.id}?include=project`);
  assert.equal(inc.body.project.id, TEST_PROJECT_ID);
  assert.equal(inc.body.project.name, "test-project");
  const exc = await api.call("GET", `/metal/v1/devices/${d.id}?exclude=plan,facility,ip_addresses,metro`);
  assert.deepEqual(Object.keys(exc.body.plan), ["href"]);
  assert.deepEqual(Object.keys(exc.body.facility), ["href"]);
  assert.deepEqual(Object.keys(exc.body.metro), ["href"]);
  assert.equal(exc.body.ip_addresses.length, 3);
  for (const ip of exc.body.ip_addresses) assert.deepEqual(Object.keys(ip), ["href"]);
  // repeated parameters work like comma lists
  const rep = await api.call("GET", `/metal/v1/devices/${d.id}?exclude=plan&exclude=metro`);
  assert.deepEqual(Object.keys(rep.body.plan), ["href"]);
  assert.deepEqual(Object.keys(rep.body.metro), ["href"]);
  assert.equal(rep.body.facility.code, "sv15");
});

Deno.test("device list filters by hostname (partial), search, tag, metro and facility", async () => {
  const api = await createTestApi();
  await createDevice(api, { hostname: "web-1", tags: ["web"] });
  await createDevice(api, { hostname: "web-2", metro: "da", tags: ["web"] });
  await createDevice(api, { hostname: "mysql-1", metro: undefined, facility: "ny5" });
  const names = async (q: string) => {
    const res = await api.call("GET", `${P}/devices?${q}`);
    assert.equal(res.status, 200);
    return res.body.devices.map((d: { hostname: string }) => d.hostname).sort().join(",");
  };
  assert.equal(await names("hostname=web"), "web-1,web-2");
  assert.equal(await names("hostname=WEB-2"), "web-2");
  assert.equal(await names("search=mysql"), "mysql-1"); // not hex, so no short_id can match
  assert.equal(await names("search=ny5"), "mysql-1");
  assert.equal(await names("tag=web"), "web-1,web-2");
  assert.equal(await names("metro=da"), "web-2");
  assert.equal(await names("facility=ny5"), "mysql-1");
  assert.equal(await names(""), "mysql-1,web-1,web-2");
});

Deno.test("device create in a facility (string or deprecated array) sets facility and its metro", async () => {
  const api = await createTestApi();
  const a = await createDevice(api, { metro: undefined, facility: "da11" });
  assert.deepEqual([a.facility.code, a.metro.code], ["da11", "da"]);
  const b = await createDevice(api, { metro: undefined, facility: ["am6"] });
  assert.deepEqual([b.facility.code, b.metro.code], ["am6", "am"]);
});

Deno.test("device without hostname gets a generated one", async () => {
  const api = await createTestApi();
  const d = await createDevice(api);
  assert.equal(d.hostname, `c3-small-x86-${d.id.slice(0, 8)}`);
});

Deno.test("provisioning: queued → provisioning → active after the provision delay", async () => {
  const api = await createTestApi({ provisionDelayMs: 60_000 });
  const d = await createDevice(api);
  assert.equal(d.state, "queued");
  assert.equal(d.provisioning_percentage, 0);
  await api.clock.advance(15_000);
  const mid = await api.call("GET", `/metal/v1/devices/${d.id}`);
  assert.equal(mid.body.state, "provisioning");
  await api.clock.advance(45_000);
  const done = await api.call("GET", `/metal/v1/devices/${d.id}`);
  assert.equal(done.body.state, "active");
  assert.equal(done.body.provisioning_percentage, undefined);
  assert.equal(done.body.updated_at, "2026-01-01T00:01:00Z");
  // the list shows the same state
  const list = await api.call("GET", `${P}/devices`);
  assert.equal(list.body.devices[0].state, "active");
});

Deno.test("power_off → powering_off → inactive; power_on → powering_on → active; reboot keeps active", async () => {
  const api = await createTestApi({ powerDelayMs: 5_000 });
  const d = await createDevice(api);
  const action = (type: string) => api.call("POST", `/metal/v1/devices/${d.id}/actions`, { body: { type } });
  const state = async () => (await api.call("GET", `/metal/v1/devices/${d.id}`)).body.state;
  assert.equal((await action("reboot")).status, 202);
  assert.equal(await state(), "active");
  assert.equal((await action("power_off")).status, 202);
  assert.equal(await state(), "powering_off");
  await api.clock.advance(5_000);
  assert.equal(await state(), "inactive");
  const again = await action("power_off");
  assert.equal(again.status, 422);
  assert.match(again.body.errors[0], /state is "inactive"/);
  assert.equal((await action("reboot")).status, 422);
  assert.equal((await action("power_on")).status, 202);
  assert.equal(await state(), "powering_on");
  await api.clock.advance(5_000);
  assert.equal(await state(), "active");
});

Deno.test("reinstall goes through reinstalling and may change the operating system", async () => {
  const api = await createTestApi({ provisionDelayMs: 10_000 });
  const d = await createDevice(api);
  await api.clock.advance(10_000);
  const res = await api.call("POST", `/metal/v1/devices/${d.id}/actions`, {
    body: { type: "reinstall", operating_system: "debian_12" },
  });
  assert.equal(res.status, 202);
  const mid = await api.call("GET", `/metal/v1/devices/${d.id}`);
  assert.deepEqual([mid.body.state, mid.body.operating_system.slug], ["reinstalling", "debian_12"]);
  await api.clock.advance(10_000);
  assert.equal((await api.call("GET", `/metal/v1/devices/${d.id}`)).body.state, "active");
});

Deno.test("device update changes hostname, description and tags", async () => {
  const api = await createTestApi();
  const d = await createDevice(api);
  await api.clock.advance(1000);
  const res = await api.call("PUT", `/metal/v1/devices/${d.id}`, {
    body: { hostname: "renamed", description: "a node", tags: ["a", "b"] },
  });
  assert.equal(res.status, 200);
  assert.deepEqual([res.body.hostname, res.body.description, res.body.tags], ["renamed", "a node", [
    "a",
    "b",
  ]]);
  assert.equal(res.body.updated_at, "2026-01-01T00:00:01Z");
  const get = await api.call("GET", `/metal/v1/devices/${d.id}`);
  assert.equal(get.body.hostname, "renamed");
});

Deno.test("device delete answers 204, the device is gone and its addresses return to the pool", async () => {
  const api = await createTestApi();
  const d = await createDevice(api);
  const before = api.store.reservations.size;
  assert.equal((await api.call("DELETE", `/metal/v1/devices/${d.id}`)).status, 204);
  const get = await api.call("GET", `/metal/v1/devices/${d.id}`);
  assert.equal(get.status, 404);
  assert.match(get.body.errors[0], /Not found/);
  assert.equal(api.store.assignments.size, 0);
  assert.equal(api.store.reservations.size, before - 1, "the device's public /31 reservation is released");
  assert.equal((await api.call("DELETE", `/metal/v1/devices/${d.id}`)).status, 404);
});

Deno.test("a locked device cannot be deleted until unlocked (or with force_delete)", async () => {
  const api = await createTestApi();
  const d = await createDevice(api, { locked: true });
  const res = await api.call("DELETE", `/metal/v1/devices/${d.id}`);
  assert.equal(res.status, 422);
  assert.match(res.body.errors[0], /locked/);
  assert.equal(api.store.devices.size, 1);
  assert.equal((await api.call("DELETE", `/metal/v1/devices/${d.id}?force_delete=true`)).status, 204);
});

Deno.test("devices of another project are not listed", async () => {
  const api = await createTestApi();
  await createDevice(api);
  const res = await api.call("GET", `/metal/v1/projects/${OTHER_PROJECT_ID}/devices`, {
    token: "test-key-user",
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.devices.length, 0);
  assert.equal(res.body.meta.total, 0);
});
