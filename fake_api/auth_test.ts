import assert from "node:assert/strict";
import {
  createTestApi,
  OTHER_API_KEY,
  OTHER_PROJECT_ID,
  TEST_API_KEY,
  TEST_PROJECT_ID,
  USER_API_KEY,
} from "./testing.ts";

Deno.test("no X-Auth-Token or an unknown one is 401 with an errors body, on every Metal route", async () => {
  const api = await createTestApi();
  for (
    const path of ["/metal/v1/projects", `/metal/v1/projects/${TEST_PROJECT_ID}/devices`, "/metal/v1/nope"]
  ) {
    const missing = await api.call("GET", path, { token: null });
    assert.equal(missing.status, 401);
    assert.match(missing.body.errors[0], /Missing X-Auth-Token/);
    const wrong = await api.call("GET", path, { token: "not-a-key" });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body.errors[0], /not recognised/);
    assert.ok(!wrong.body.errors[0].includes("not-a-key"), "the key is not echoed");
  }
});

Deno.test("a project key sees only its project: 403 for another project, 404 for its devices and IPs", async () => {
  const api = await createTestApi();
  const other = await api.call("POST", `/_fake/projects/${OTHER_PROJECT_ID}/devices`, {
    body: { hostname: "o1" },
  });
  const eip = await api.call("POST", `/metal/v1/projects/${OTHER_PROJECT_ID}/ips`, {
    token: OTHER_API_KEY,
    body: { type: "public_ipv4", quantity: 1, metro: "sv" },
  });
  assert.equal(eip.status, 201);
  const forbidden = await api.call("GET", `/metal/v1/projects/${OTHER_PROJECT_ID}/devices`);
  assert.equal(forbidden.status, 403);
  assert.match(forbidden.body.errors[0], /do not have access to project/);
  assert.equal((await api.call("GET", `/metal/v1/projects/${OTHER_PROJECT_ID}`)).status, 403);
  assert.equal((await api.call("GET", `/metal/v1/devices/${other.body.id}`)).status, 404);
  assert.equal((await api.call("DELETE", `/metal/v1/devices/${other.body.id}`)).status, 404);
  assert.equal((await api.call("GET", `/metal/v1/ips/${eip.body.id}`)).status, 404);
  assert.equal((await api.call("DELETE", `/metal/v1/ips/${eip.body.id}`)).status, 404);
  assert.equal(api.store.devices.size, 1, "nothing was deleted");
  // the owner and a user key can see them
  assert.equal(
    (await api.call("GET", `/metal/v1/devices/${other.body.id}`, { token: OTHER_API_KEY })).status,
    200,
  );
  assert.equal(
    (await api.call("GET", `/metal/v1/devices/${other.body.id}`, { token: USER_API_KEY })).status,
    200,
  );
  const projects = await api.call("GET", "/metal/v1/projects");
  assert.deepEqual(projects.body.projects.map((p: { id: string }) => p.id), [TEST_PROJECT_ID]);
  const all = await api.call("GET", "/metal/v1/projects", { token: USER_API_KEY });
  assert.equal(all.body.projects.length, 2);
});

Deno.test("unknown ids are 404, and a non-UUID id is a 404 that says ids are UUIDs", async () => {
  const api = await createTestApi();
  const unknown = await api.call("GET", "/metal/v1/devices/00000000-0000-4000-8000-000000000000");
  assert.equal(unknown.status, 404);
  const bad = await api.call("GET", "/metal/v1/devices/not-a-uuid");
  assert.equal(bad.status, 404);
  assert.match(bad.body.errors[0], /device "not-a-uuid".*ids are UUIDs/);
  assert.equal((await api.call("GET", "/metal/v1/projects/xyz/devices")).status, 404);
  assert.equal((await api.call("GET", "/metal/v1/ips/123")).status, 404);
});

Deno.test("every JSON response carries Content-Type application/json, errors included", async () => {
  const api = await createTestApi();
  const paths = ["/metal/v1/projects", "/metal/v1/unknown", "/lbaas/v1/nothing", "/nowhere"];
  for (const path of paths) {
    const res = await api.app.request(path, { headers: { "X-Auth-Token": TEST_API_KEY } });
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/, path);
    const body = await res.json();
    assert.ok(Array.isArray(body.errors) || res.ok, path);
  }
});

Deno.test("catalogue: metros, facilities (address only when included), plans, operating systems, project", async () => {
  const api = await createTestApi();
  const metros = await api.call("GET", "/metal/v1/locations/metros");
  assert.deepEqual(metros.body.metros.map((m: { code: string }) => m.code), [
    "am",
    "da",
    "dc",
    "ny",
    "sg",
    "sv",
  ]);
  const sv = metros.body.metros.find((m: { code: string }) => m.code === "sv");
  assert.equal((await api.call("GET", `/metal/v1/locations/metros/${sv.id}`)).body.name, "Silicon Valley");
  const fac = await api.call("GET", "/metal/v1/facilities");
  assert.ok(fac.body.facilities.every((f: Record<string, unknown>) => !("address" in f)));
  const withAddr = await api.call("GET", "/metal/v1/facilities?include=address");
  assert.ok(withAddr.body.facilities.every((f: { address: { zip_code: string } }) => f.address.zip_code));
  const plans = await api.call("GET", "/metal/v1/plans?slug=c3.small.x86");
  assert.deepEqual(plans.body.plans.map((p: { slug: string }) => p.slug), ["c3.small.x86"]);
  const os = await api.call("GET", "/metal/v1/operating-systems");
  assert.ok(os.body.operating_systems.some((o: { slug: string }) => o.slug === "ubuntu_24_04"));
  const project = await api.call("GET", `/metal/v1/projects/${TEST_PROJECT_ID}`);
  assert.deepEqual([project.body.id, project.body.name, project.body.type], [
    TEST_PROJECT_ID,
    "test-project",
    "default",
  ]);
});
