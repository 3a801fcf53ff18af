import assert from "node:assert/strict";
import { FakeClock } from "../util/clock.ts";
import { createFakeApi } from "./app.ts";
import { StateFile } from "./state_file.ts";
import { callApi, createTestApi, TEST_PROJECT_ID, TEST_START_MS, testSeed } from "./testing.ts";

const P = `/metal/v1/projects/${TEST_PROJECT_ID}`;

async function withStateFile(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fake-api-state-" });
  try {
    await fn(`${dir}/state.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("state file: every acknowledged mutation is on disk; a restart resumes with addresses still held", async () => {
  await withStateFile(async (path) => {
    const api = await createTestApi({ stateFile: path });
    const d = (await api.call("POST", `${P}/devices`, {
      body: { plan: "c3.small.x86", metro: "sv", operating_system: "ubuntu_24_04", hostname: "n1" },
    })).body;
    const eip =
      (await api.call("POST", `${P}/ips`, { body: { type: "public_ipv4", quantity: 1, metro: "sv" } })).body;
    await api.call("POST", `/metal/v1/devices/${d.id}/ips`, { body: { address: eip.address } });
    await api.call("POST", `${P}/bgp-configs`, { body: { asn: 65000, deployment_type: "local", md5: "" } });
    // The response came back, so the write is complete: read the file directly.
    const saved = await new StateFile(path).read();
    assert.equal(saved?.devices.length, 1);
    assert.equal(saved?.devices[0]?.ipIds.length, 4);
    assert.equal(saved?.projects[0]?.bgp?.asn, 65000);

    const restarted = await createTestApi({ stateFile: path, seed: testSeed({ devices: [] }) });
    const again = await restarted.call("GET", `/metal/v1/devices/${d.id}`);
    assert.deepEqual(again.body, (await api.call("GET", `/metal/v1/devices/${d.id}`)).body);
    assert.equal((await restarted.call("GET", `${P}/bgp-config`)).body.asn, 65000);
    // addresses held before the restart are not handed out again
    const taken = new Set(again.body.ip_addresses.map((ip: { address: string }) => ip.address));
    const eip2 =
      (await restarted.call("POST", `${P}/ips`, { body: { type: "public_ipv4", quantity: 1, metro: "sv" } }))
        .body;
    assert.ok(!taken.has(eip2.address));
    const d2 = (await restarted.call("POST", `/_fake/projects/${TEST_PROJECT_ID}/devices`, {
      body: { hostname: "n2" },
    }))
      .body;
    for (const ip of d2.ip_addresses) assert.ok(!taken.has(ip.address), `${ip.address} reused`);
  });
});

Deno.test("state file: concurrent mutations are all persisted; no temp file is left behind", async () => {
  await withStateFile(async (path) => {
    const api = await createTestApi({ stateFile: path });
    const results = await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          api.call("POST", `${P}/ips`, {
            body: { type: "public_ipv4", quantity: 1, metro: "sv", tags: ["x"] },
          }),
      ),
    );
    assert.ok(results.every((r) => r.status === 201));
    const saved = await new StateFile(path).read();
    assert.equal(saved?.reservations.length, 20);
    const dir = path.slice(0, path.lastIndexOf("/"));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(names, ["state.json"]);
  });
});

Deno.test("state file: pending state changes survive a restart (provisioning continues)", async () => {
  await withStateFile(async (path) => {
    const clock = new FakeClock(TEST_START_MS);
    const api = await createTestApi({ stateFile: path, clock, provisionDelayMs: 60_000 });
    const d = (await api.call("POST", `${P}/devices`, {
      body: { plan: "c3.small.x86", metro: "sv", operating_system: "ubuntu_24_04" },
    })).body;
    assert.equal(d.state, "queued");
    const later = new FakeClock(TEST_START_MS + 120_000);
    const restarted = await createTestApi({ stateFile: path, clock: later, provisionDelayMs: 60_000 });
    assert.equal((await restarted.call("GET", `/metal/v1/devices/${d.id}`)).body.state, "active");
  });
});

Deno.test("state file: access tokens stay valid across a restart; reset keeps projects and keys", async () => {
  await withStateFile(async (path) => {
    const api = await createFakeApi({ stateFile: path, clock: new FakeClock(TEST_START_MS) });
    const key = api.defaults!.apiKey;
    const exchange = await callApi(api, "POST", "/iam/api-keys/exchange", {
      token: null,
      headers: { Authorization: `Bearer ${key}` },
    });
    const restarted = await createFakeApi({ stateFile: path, clock: new FakeClock(TEST_START_MS) });
    assert.deepEqual(restarted.defaults, api.defaults, "the default project and key are kept");
    const lbs = await callApi(
      restarted,
      "GET",
      `/lbaas/v1/projects/${api.defaults!.projectId}/loadbalancers`,
      {
        token: null,
        headers: { Authorization: `Bearer ${exchange.body.access_token}` },
      },
    );
    assert.equal(lbs.status, 200);
    await callApi(restarted, "POST", `/_fake/projects/${api.defaults!.projectId}/devices`, {
      body: { hostname: "x" },
    });
    await restarted.reset();
    assert.equal(restarted.store.devices.size, 0);
    const projects = await callApi(restarted, "GET", "/metal/v1/projects", { token: key });
    assert.equal(projects.body.projects.length, 1);
    assert.equal((await new StateFile(path).read())?.devices.length, 0, "reset is persisted");
  });
});

Deno.test("state file: a corrupt file is a clear start-up error", async () => {
  await withStateFile(async (path) => {
    await Deno.writeTextFile(path, "{not json");
    await assert.rejects(() => createFakeApi({ stateFile: path }), /it is not valid JSON.*delete it/);
    await Deno.writeTextFile(path, JSON.stringify({ version: 7 }));
    await assert.rejects(() => createFakeApi({ stateFile: path }), /expected a fake-api state object/);
  });
});

Deno.test("without a state file nothing is written and commits resolve at once", async () => {
  const api = await createTestApi();
  assert.equal(api.store.file, undefined);
  await api.store.commit();
});
