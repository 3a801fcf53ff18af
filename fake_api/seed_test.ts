import assert from "node:assert/strict";
import { FakeClock } from "../util/clock.ts";
import { createFakeApi } from "./app.ts";
import { loadSeedFile, parseSeed } from "./seed.ts";
import { callApi, createTestApi, TEST_PROJECT_ID, TEST_START_MS, testSeed } from "./testing.ts";

const DEVICE_ID = "6f1d2c3b-0000-4000-8000-0000000000d1";

Deno.test("seed devices get realistic addresses; reservations can be assigned to a seeded device", async () => {
  const api = await createTestApi({
    seed: testSeed({
      devices: [
        {
          project_id: TEST_PROJECT_ID,
          id: DEVICE_ID,
          hostname: "cp-1",
          metro: "da",
          tags: ["control-plane"],
        },
        { project_id: TEST_PROJECT_ID, hostname: "worker-1", plan: "m3.small.x86", state: "inactive" },
      ],
      reservations: [{ project_id: TEST_PROJECT_ID, metro: "da", tags: ["eip-tag"], assigned_to: "cp-1" }],
    }),
  });
  const cp = await api.call("GET", `/metal/v1/devices/${DEVICE_ID}`);
  assert.deepEqual([cp.body.hostname, cp.body.state, cp.body.metro.code, cp.body.tags], [
    "cp-1",
    "active",
    "da",
    [
      "control-plane",
    ],
  ]);
  assert.equal(cp.body.ip_addresses.length, 4);
  const list = await api.call("GET", `/metal/v1/projects/${TEST_PROJECT_ID}/devices`);
  const worker = list.body.devices.find((d: { hostname: string }) => d.hostname === "worker-1");
  assert.deepEqual([worker.state, worker.plan.slug, worker.metro.code], ["inactive", "m3.small.x86", "sv"]);
  const ips = await api.call("GET", `/metal/v1/projects/${TEST_PROJECT_ID}/ips?include=assignments`);
  const eip = ips.body.ip_addresses.find((r: { tags: string[] }) => r.tags.includes("eip-tag"));
  assert.equal(eip.assignments.length, 1);
  assert.equal(eip.assignments[0].assigned_to.href, `/metal/v1/devices/${DEVICE_ID}`);
});

Deno.test("seed validation names the bad field", () => {
  const cases: [unknown, RegExp][] = [
    [{ projects: [], api_keys: [{ token: "12345678" }] }, /"projects"/],
    [
      { projects: [{ id: "nope", name: "p" }], api_keys: [{ token: "12345678" }] },
      /"projects\.0\.id": must be a UUID/,
    ],
    [{ projects: [{ name: "p" }], api_keys: [{ token: "short" }] }, /"api_keys\.0\.token"/],
    [{ projects: [{ name: "p" }], api_keys: [{ token: "12345678" }], extra: 1 }, /unknown keys "extra"/],
    [{ projects: [{ name: "p" }] }, /"api_keys" is required/],
  ];
  for (const [value, message] of cases) assert.throws(() => parseSeed(value), message);
});

Deno.test("seed semantic errors name the entry", async () => {
  const bad = testSeed({ devices: [{ project_id: TEST_PROJECT_ID, hostname: "n", metro: "zz" }] });
  await assert.rejects(() => createTestApi({ seed: bad }), /Invalid seed devices\[0\]: Unknown metro "zz"/);
  const orphan = testSeed({
    reservations: [{ project_id: TEST_PROJECT_ID, metro: "sv", assigned_to: "ghost" }],
  });
  await assert.rejects(() => createTestApi({ seed: orphan }), /reservations\[0\].*assigned_to "ghost"/);
  const scope = testSeed();
  scope.api_keys.push({ token: "scoped-key", project_ids: ["6f1d2c3b-0000-4000-8000-00000000ffff"] });
  await assert.rejects(() => createTestApi({ seed: scope }), /api_keys\[3\]: Unknown project/);
});

Deno.test("seed files: read, parse and report problems with the file name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ok.json`, JSON.stringify(testSeed()));
    assert.equal((await loadSeedFile(`${dir}/ok.json`)).projects.length, 2);
    await Deno.writeTextFile(`${dir}/bad.json`, "{");
    await assert.rejects(
      () => loadSeedFile(`${dir}/bad.json`),
      /seed file '.*bad\.json': it is not valid JSON/,
    );
    await assert.rejects(() => loadSeedFile(`${dir}/missing.json`), /Cannot read seed file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without a seed there is one default project and a user API key that sees it", async () => {
  const api = await createFakeApi({ clock: new FakeClock(TEST_START_MS) });
  assert.ok(api.defaults);
  assert.match(api.defaults.apiKey, /^[A-Za-z0-9_-]{32}$/);
  const res = await callApi(api, "GET", "/metal/v1/projects", { token: api.defaults.apiKey });
  assert.deepEqual(res.body.projects.map((p: { id: string; name: string }) => [p.id, p.name]), [
    [api.defaults.projectId, "default"],
  ]);
  const seeded = await createFakeApi({ seed: testSeed() });
  assert.equal(seeded.defaults, undefined);
});
