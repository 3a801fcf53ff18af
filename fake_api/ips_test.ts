import assert from "node:assert/strict";
import { createTestApi, TEST_PROJECT_ID, type TestApi } from "./testing.ts";

const P = `/metal/v1/projects/${TEST_PROJECT_ID}`;
const CCM_TAGS = ["usage=cloud-provider-equinix-metal-auto", "service=abc", "cluster=c1"];

async function device(api: TestApi, hostname = "node-1", metro = "sv") {
  const res = await api.call("POST", `/_fake/projects/${TEST_PROJECT_ID}/devices`, {
    body: { hostname, metro },
  });
  return res.body;
}

async function reserve(api: TestApi, body: Record<string, unknown>) {
  return await api.call("POST", `${P}/ips`, { body });
}

Deno.test("reserve an elastic IP the way the CCM does: 201, /32 from the elastic block, strict shape", async () => {
  const api = await createTestApi();
  const res = await reserve(api, {
    type: "public_ipv4",
    quantity: 1,
    details: "ccm service",
    tags: CCM_TAGS,
    fail_on_approval_required: true,
    metro: "sv",
  });
  assert.equal(res.status, 201);
  const r = res.body;
  assert.deepEqual([r.type, r.cidr, r.public, r.management, r.state], [
    "public_ipv4",
    32,
    true,
    false,
    "created",
  ]);
  assert.match(r.address, /^(145\.40\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])|86\.109\.\d+)\.\d+$/);
  assert.equal(r.address, r.network);
  assert.deepEqual(r.tags, CCM_TAGS);
  assert.equal(r.details, "ccm service");
  assert.equal(r.metro.code, "sv");
  assert.deepEqual(r.assignments, []);
  assert.equal(r.href, `/metal/v1/ips/${r.id}`);
});

Deno.test("reserved addresses are unique while held and blocks are aligned", async () => {
  const api = await createTestApi();
  const addresses = new Set<string>();
  for (const quantity of [1, 2, 4, 1, 8, 1]) {
    const res = await reserve(api, { type: "public_ipv4", quantity, metro: "da" });
    assert.equal(res.status, 201);
    assert.equal(res.body.cidr, 32 - Math.log2(quantity));
    const last = Number(res.body.network.split(".")[3]);
    assert.equal(last % quantity, 0, "block is aligned to its size");
    for (let i = 0; i < quantity; i++) {
      const a = `${res.body.network.split(".").slice(0, 3).join(".")}.${last + i}`;
      assert.ok(!addresses.has(a), `address ${a} reserved twice`);
      addresses.add(a);
    }
  }
});

Deno.test("quantity above the approval threshold: 422 with fail_on_approval_required, pending otherwise", async () => {
  const api = await createTestApi();
  const refused = await reserve(api, {
    type: "public_ipv4",
    quantity: 16,
    metro: "sv",
    fail_on_approval_required: true,
  });
  assert.equal(refused.status, 422);
  assert.match(refused.body.errors[0], /needs approval/);
  const pending = await reserve(api, { type: "public_ipv4", quantity: 16, metro: "sv" });
  assert.equal(pending.status, 201);
  assert.equal(pending.body.state, "pending");
});

Deno.test("global_ipv4 reservations hold one address and no metro", async () => {
  const api = await createTestApi();
  const res = await reserve(api, { type: "global_ipv4", quantity: 1 });
  assert.equal(res.status, 201);
  assert.deepEqual([res.body.type, res.body.global_ip, res.body.cidr, res.body.metro], [
    "global_ipv4",
    true,
    32,
    undefined,
  ]);
  const two = await reserve(api, { type: "global_ipv4", quantity: 2 });
  assert.equal(two.status, 422);
  assert.match(two.body.errors[0], /exactly 1 address/);
});

Deno.test("reservation semantics errors: unsupported type, missing location, unknown metro, bad quantity", async () => {
  const api = await createTestApi();
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ type: "vrf", quantity: 1 }, /VRF/],
    [{ type: "private_ipv4", quantity: 1, metro: "sv" }, /type "private_ipv4"/],
    [{ type: "public_ipv4", quantity: 1 }, /needs a location/],
    [{ type: "public_ipv4", quantity: 1, metro: "zz" }, /Unknown metro "zz"/],
    [{ type: "public_ipv4", quantity: 1, facility: "xx1" }, /Unknown facility "xx1"/],
    [{ type: "public_ipv4", quantity: 3, metro: "sv" }, /power of two/],
  ];
  for (const [body, message] of cases) {
    const res = await reserve(api, body);
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.match(res.body.errors[0], message);
  }
  const list = await api.call("GET", `${P}/ips`);
  assert.equal(list.body.ip_addresses.length, 0);
});

Deno.test("assign an elastic IP: it appears in the device's ip_addresses (public, /32) and in the assignments", async () => {
  const api = await createTestApi();
  const d = await device(api);
  const eip = (await reserve(api, { type: "public_ipv4", quantity: 1, metro: "sv", tags: ["eip"] })).body;
  const res = await api.call("POST", `/metal/v1/devices/${d.id}/ips`, { body: { address: eip.address } });
  assert.equal(res.status, 201);
  const a = res.body;
  assert.deepEqual([a.address, a.cidr, a.public, a.management, a.address_family], [
    eip.address,
    32,
    true,
    false,
    4,
  ]);
  assert.equal(a.assigned_to.href, `/metal/v1/devices/${d.id}`);

  const dev = await api.call("GET", `/metal/v1/devices/${d.id}`);
  const found = dev.body.ip_addresses.find((ip: { address: string }) => ip.address === eip.address);
  assert.ok(found, "elastic IP listed on the device");
  assert.deepEqual([found.public, found.cidr, found.id], [true, 32, a.id]);

  const ips = await api.call("GET", `/metal/v1/devices/${d.id}/ips`);
  assert.equal(ips.body.ip_addresses.length, 4);

  const plain = await api.call("GET", `${P}/ips`);
  const r = plain.body.ip_addresses.find((x: { id: string }) => x.id === eip.id);
  assert.deepEqual(r.assignments, [{ href: `/metal/v1/ips/${a.id}` }]);
  const included = await api.call("GET", `${P}/ips?include=assignments`);
  const ri = included.body.ip_addresses.find((x: { id: string }) => x.id === eip.id);
  assert.deepEqual([ri.assignments[0].id, ri.assignments[0].address], [a.id, eip.address]);

  const byId = await api.call("GET", `/metal/v1/ips/${a.id}`);
  assert.equal(byId.body.type, "IPAssignment");
  assert.equal(byId.body.parent_block.href, `/metal/v1/ips/${eip.id}`);
});

Deno.test("assignment errors: unknown address, already assigned, other metro, management address", async () => {
  const api = await createTestApi();
  const d1 = await device(api, "n1");
  const d2 = await device(api, "n2");
  const d3 = await device(api, "n3", "da");
  const eip = (await reserve(api, { type: "public_ipv4", quantity: 1, metro: "sv" })).body;
  const assign = (id: string, address: string) =>
    api.call("POST", `/metal/v1/devices/${id}/ips`, { body: { address } });
  let res = await assign(d1.id, "1.2.3.4");
  assert.equal(res.status, 422);
  assert.match(res.body.errors[0], /not in any elastic IP reservation/);
  res = await assign(d1.id, "not-an-ip");
  assert.equal(res.status, 422);
  assert.match(res.body.errors[0], /Invalid address "not-an-ip"/);
  assert.equal((await assign(d1.id, eip.address)).status, 201);
  res = await assign(d2.id, eip.address);
  assert.equal(res.status, 422);
  assert.match(res.body.errors[0], new RegExp(`already assigned to device "${d1.id}"`));
  res = await assign(d3.id, eip.address);
  assert.equal(res.status, 422);
  assert.match(res.body.errors[0], /metro "sv" but the device is in "da"/);
  // a device's own management address cannot be unassigned
  const mgmt = d1.ip_addresses[0].id;
  res = await api.call("DELETE", `/metal/v1/ips/${mgmt}`);
  assert.equal(res.status, 422);
  assert.match(res.body.errors[0], /management address/);
});

Deno.test("DELETE /ips/{assignment} unassigns; DELETE /ips/{reservation} deletes, refused while assigned", async () => {
  const api = await createTestApi();
  const d = await device(api);
  const eip = (await reserve(api, { type: "public_ipv4", quantity: 1, metro: "sv" })).body;
  const a =
    (await api.call("POST", `/metal/v1/devices/${d.id}/ips`, { body: { address: eip.address } })).body;
  const refused = await api.call("DELETE", `/metal/v1/ips/${eip.id}`);
  assert.equal(refused.status, 422);
  assert.match(refused.body.errors[0], new RegExp(`unassign it first \\(DELETE /ips/${a.id}\\)`));
  assert.equal((await api.call("DELETE", `/metal/v1/ips/${a.id}`)).status, 204);
  const dev = await api.call("GET", `/metal/v1/devices/${d.id}`);
  assert.equal(dev.body.ip_addresses.length, 3);
  assert.equal((await api.call("GET", `/metal/v1/ips/${a.id}`)).status, 404);
  assert.equal((await api.call("DELETE", `/metal/v1/ips/${eip.id}`)).status, 204);
  assert.equal((await api.call("GET", `/metal/v1/ips/${eip.id}`)).status, 404);
  // the address can be reserved again once released; management blocks cannot be deleted
  const block = dev.body.ip_addresses[0].parent_block.href.split("/").pop();
  const mgmt = await api.call("DELETE", `/metal/v1/ips/${block}`);
  assert.equal(mgmt.status, 422);
  assert.match(mgmt.body.errors[0], /management block/);
});

Deno.test("deleting a device unassigns its elastic IPs but keeps the reservation", async () => {
  const api = await createTestApi();
  const d = await device(api);
  const eip = (await reserve(api, { type: "public_ipv4", quantity: 1, metro: "sv" })).body;
  await api.call("POST", `/metal/v1/devices/${d.id}/ips`, { body: { address: eip.address } });
  assert.equal((await api.call("DELETE", `/metal/v1/devices/${d.id}`)).status, 204);
  const r = await api.call("GET", `/metal/v1/ips/${eip.id}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.assignments, []);
});

Deno.test("PATCH /ips/{id} updates tags, details and customdata of a reservation", async () => {
  const api = await createTestApi();
  const eip = (await reserve(api, { type: "public_ipv4", quantity: 1, metro: "sv", tags: ["a"] })).body;
  const res = await api.call("PATCH", `/metal/v1/ips/${eip.id}`, {
    body: { tags: ["b", "c"], details: "d", customdata: { k: 1 } },
  });
  assert.equal(res.status, 200);
  assert.deepEqual([res.body.tags, res.body.details, res.body.customdata], [["b", "c"], "d", { k: 1 }]);
});

Deno.test("types filter accepts repeated and comma-separated values and rejects unknown types", async () => {
  const api = await createTestApi();
  await device(api);
  await reserve(api, { type: "global_ipv4", quantity: 1 });
  const types = async (q: string) => {
    const res = await api.call("GET", `${P}/ips?${q}`);
    assert.equal(res.status, 200);
    return res.body.ip_addresses.map((r: { type: string }) => r.type).sort().join(",");
  };
  assert.equal(await types(""), "global_ipv4,private_ipv4,public_ipv4,public_ipv6");
  assert.equal(await types("types=public_ipv4"), "public_ipv4");
  assert.equal(await types("types=private_ipv4&types=global_ipv4"), "global_ipv4,private_ipv4");
  assert.equal(await types("types=public_ipv6,private_ipv4"), "private_ipv4,public_ipv6");
  assert.equal(await types("types=vrf"), "");
  const bad = await api.call("GET", `${P}/ips?types=bogus`);
  assert.equal(bad.status, 422);
  assert.match(bad.body.errors[0], /Invalid types value "bogus"/);
});

Deno.test("every reservation in a list has only the keys the strict official IPReservation allows", async () => {
  const api = await createTestApi();
  await device(api);
  await reserve(api, { type: "public_ipv4", quantity: 1, metro: "sv", details: "x" });
  // call() validates against the strict schema; this asserts the list is non-trivial
  const res = await api.call("GET", `${P}/ips?include=assignments,project,facility`);
  assert.equal(res.body.ip_addresses.length, 4);
  assert.ok(
    res.body.ip_addresses.every((r: Record<string, unknown>) => !("parent_block" in r) && !("vrf" in r)),
  );
  assert.equal(res.body.ip_addresses[0].project.name, "test-project");
});
