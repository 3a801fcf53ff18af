/**
 * What the real API accepted from the official clients: `null` and (for choices) `""` as "not given", customdata
 * as a string holding JSON, PATCH for device updates. What it refused is still refused, naming the field.
 */
import assert from "node:assert/strict";
import { createTestApi, OTHER_PROJECT_ID, TEST_PROJECT_ID } from "./testing.ts";

const M = "/metal/v1";
const P = `${M}/projects/${TEST_PROJECT_ID}`;
const DEVICE = { plan: "c3.small.x86", "operating_system": "ubuntu_24_04" };

Deno.test("device create: packngo's nulls and string customdata, the CLI's empty facility", async () => {
  const api = await createTestApi();
  const res = await api.call("POST", `${P}/devices`, {
    body: {
      ...DEVICE,
      hostname: "pk-1",
      metro: "sv",
      facility: "",
      tags: null,
      description: null,
      billing_cycle: "",
      customdata: '{"role":"worker","n":1}',
      ip_addresses: null,
    },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.deepEqual(res.body.tags, []);
  assert.deepEqual(res.body.customdata, { role: "worker", n: 1 });
  assert.equal(res.body.metro.code, "sv");

  const inFacility = await api.call("POST", `${P}/devices`, {
    body: { ...DEVICE, hostname: "pk-2", metro: "", facility: ["sv15"] },
  });
  assert.equal(inFacility.status, 201, JSON.stringify(inFacility.body));
  assert.equal(inFacility.body.facility.code, "sv15");
});

Deno.test("device create and update still refuse what the real API refused", async () => {
  const api = await createTestApi();
  const refused = async (body: unknown, field: RegExp) => {
    const res = await api.call("POST", `${P}/devices`, { body });
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.match(res.body.errors.join(" "), field);
  };
  await refused({ ...DEVICE, metro: "", facility: "" }, /"metro" is required/);
  await refused({ ...DEVICE, metro: "sv", customdata: "not json" }, /customdata.*JSON object/);
  await refused({ ...DEVICE, metro: "sv", customdata: "[1]" }, /customdata.*JSON object/);
  await refused({ ...DEVICE, metro: "sv", tags: "a,b" }, /tags/);
  await refused({ ...DEVICE, metro: "sv", plan: null }, /plan/);
});

Deno.test("device update: PUT and PATCH (packngo's lock), null as not given, string customdata", async () => {
  const api = await createTestApi();
  const device =
    (await api.call("POST", `${P}/devices`, { body: { ...DEVICE, hostname: "u-1", metro: "sv" } }))
      .body;
  const D = `${M}/devices/${device.id}`;
  const locked = await api.call("PATCH", D, { body: { locked: true } });
  assert.equal(locked.status, 200);
  assert.equal(locked.body.locked, true);
  const updated = await api.call("PUT", D, {
    body: { hostname: null, tags: null, customdata: '{"role":"cp"}', locked: false },
  });
  assert.equal(updated.status, 200, JSON.stringify(updated.body));
  assert.equal(updated.body.hostname, "u-1");
  assert.deepEqual(updated.body.customdata, { role: "cp" });
  assert.equal(updated.body.locked, false);
});

Deno.test("IP request: the metal CLI sends both metro and facility, the unused one as empty", async () => {
  const api = await createTestApi();
  const inMetro = await api.call("POST", `${P}/ips`, {
    body: { type: "public_ipv4", quantity: 1, metro: "sv", facility: "", tags: null, customdata: null },
  });
  assert.equal(inMetro.status, 201, JSON.stringify(inMetro.body));
  assert.equal(inMetro.body.metro.code, "sv");
  const inFacility = await api.call("POST", `${P}/ips`, {
    body: { type: "public_ipv4", quantity: 2, metro: "", facility: "sv15", customdata: '{"by":"cli"}' },
  });
  assert.equal(inFacility.status, 201, JSON.stringify(inFacility.body));
  assert.equal(inFacility.body.facility.code, "sv15");
  assert.deepEqual(inFacility.body.customdata, { by: "cli" });
  const neither = await api.call("POST", `${P}/ips`, {
    body: { type: "public_ipv4", quantity: 1, metro: "", facility: "" },
  });
  assert.equal(neither.status, 422);
  assert.match(neither.body.errors.join(" "), /metro/);
});

Deno.test("GET /ips/{id}/available lists the free addresses of a reservation", async () => {
  const api = await createTestApi();
  const block =
    (await api.call("POST", `${P}/ips`, { body: { type: "public_ipv4", quantity: 4, metro: "sv" } }))
      .body;
  const available = await api.call("GET", `${M}/ips/${block.id}/available?cidr=32`);
  assert.equal(available.status, 200);
  assert.equal(available.body.available.length, 4);
  assert.ok(available.body.available.every((a: string) => a.endsWith("/32")));
  const device =
    (await api.call("POST", `${P}/devices`, { body: { ...DEVICE, hostname: "a-1", metro: "sv" } }))
      .body;
  const first = available.body.available[0].replace("/32", "");
  assert.equal(
    (await api.call("POST", `${M}/devices/${device.id}/ips`, { body: { address: first } })).status,
    201,
  );
  const after = await api.call("GET", `${M}/ips/${block.id}/available?cidr=32`);
  assert.deepEqual(
    after.body.available,
    available.body.available.slice(1),
    "an assigned address is not free",
  );
});

Deno.test("per-project plans and facilities: the whole catalogue, 403 for a project the key does not see", async () => {
  const api = await createTestApi();
  const plans = await api.call("GET", `${P}/plans`);
  assert.deepEqual(plans.body, (await api.call("GET", `${M}/plans`)).body);
  const facilities = await api.call("GET", `${P}/facilities`);
  assert.deepEqual(facilities.body, (await api.call("GET", `${M}/facilities`)).body);
  assert.equal(
    (await api.call("GET", `${M}/projects/${OTHER_PROJECT_ID}/plans`)).status,
    403,
  );
});
