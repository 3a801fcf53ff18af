import assert from "node:assert/strict";
import { createFakeApi } from "./app.ts";
import { generatedPublicKey, USER_ID } from "./domain/account.ts";
import { ORGANIZATION_ID } from "./render/catalog.ts";
import { MAX_EVENTS, Store } from "./store.ts";
import {
  createTestApi,
  OTHER_API_KEY,
  OTHER_PROJECT_ID,
  TEST_API_KEY,
  TEST_PROJECT_ID,
  testSeed,
  USER_API_KEY,
} from "./testing.ts";
import { FakeClock } from "../util/clock.ts";

const M = "/metal/v1";
const P = `${M}/projects/${TEST_PROJECT_ID}`;

/** A real key pair from ssh-keygen, and the MD5 fingerprint ssh-keygen itself prints for it. */
async function realPublicKey(): Promise<{ key: string; fingerprint: string }> {
  const dir = await Deno.makeTempDir();
  try {
    const run = async (args: string[]) => {
      const out = await new Deno.Command("ssh-keygen", { args, stdout: "piped", stderr: "piped" }).output();
      assert.ok(out.success, `ssh-keygen ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
      return new TextDecoder().decode(out.stdout);
    };
    await run(["-q", "-t", "ed25519", "-N", "", "-C", "me@laptop", "-f", `${dir}/id`]);
    const listed = await run(["-l", "-E", "md5", "-f", `${dir}/id.pub`]);
    const fingerprint = /MD5:([0-9a-f:]+)/.exec(listed)![1]!;
    return { key: (await Deno.readTextFile(`${dir}/id.pub`)).trim(), fingerprint };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("GET /user: the simulated user, its default project the first one the key sees", async () => {
  const api = await createTestApi();
  const mine = await api.call("GET", `${M}/user`, { token: USER_API_KEY });
  assert.equal(mine.status, 200);
  assert.equal(mine.body.id, USER_ID);
  assert.equal(mine.body.full_name, "Simulated User");
  assert.equal(mine.body.default_organization_id, ORGANIZATION_ID);
  assert.equal(mine.body.default_project_id, TEST_PROJECT_ID);
  const other = await api.call("GET", `${M}/user`, { token: OTHER_API_KEY });
  assert.equal(other.body.default_project_id, OTHER_PROJECT_ID);
  assert.equal((await api.call("GET", `${M}/users/${USER_ID}`)).body.id, USER_ID);
  assert.equal((await api.call("GET", `${M}/users/00000000-0000-4000-8000-000000000000`)).status, 404);
  assert.equal((await api.call("GET", `${M}/user`, { token: "wrong" })).status, 401);
});

Deno.test("organizations: one, listing the projects the key sees", async () => {
  const api = await createTestApi();
  const list = await api.call("GET", `${M}/organizations`, { token: USER_API_KEY });
  assert.equal(list.body.organizations.length, 1);
  assert.equal(list.body.meta.total, 1);
  assert.deepEqual(
    list.body.organizations[0].projects.map((p: { href: string }) => p.href),
    [`${M}/projects/${TEST_PROJECT_ID}`, `${M}/projects/${OTHER_PROJECT_ID}`],
  );
  const scoped = await api.call("GET", `${M}/organizations/${ORGANIZATION_ID}`, { token: TEST_API_KEY });
  assert.deepEqual(scoped.body.projects, [{ href: `${M}/projects/${TEST_PROJECT_ID}` }]);
  // Every project names it, so a client can follow the href.
  assert.equal((await api.call("GET", P)).body.organization.href, `${M}/organizations/${ORGANIZATION_ID}`);
});

Deno.test("SSH keys: user and project keys, fingerprints as ssh-keygen prints them, visibility", async () => {
  const api = await createTestApi();
  const real = await realPublicKey();
  const created = await api.call("POST", `${M}/ssh-keys`, {
    token: USER_API_KEY,
    body: { label: "laptop", key: `${real.key}\n`, tags: ["me"] },
  });
  assert.equal(created.status, 201);
  assert.equal(created.body.fingerprint, real.fingerprint);
  assert.equal(created.body.key, real.key);
  assert.deepEqual(created.body.entity, { href: `${M}/users/${USER_ID}` });
  const id = created.body.id;

  const again = await api.call("POST", `${M}/ssh-keys`, { token: USER_API_KEY, body: { key: real.key } });
  assert.equal(again.status, 422);
  assert.match(again.body.errors[0], new RegExp(`Key already exists: SSH key "${id}"`));

  // The same key may also be a project's.
  const project = await api.call("POST", `${P}/ssh-keys`, {
    body: { label: "deploy", key: real.key, tags: null },
  });
  assert.equal(project.status, 201);
  assert.deepEqual(project.body.entity, { href: P });
  assert.deepEqual((await api.call("GET", P)).body.ssh_keys, [{ href: `${M}/ssh-keys/${project.body.id}` }]);

  const labels = async (token: string, path = `${M}/ssh-keys`) =>
    (await api.call("GET", path, { token })).body.ssh_keys.map((k: { label: string }) => k.label);
  assert.deepEqual(await labels(USER_API_KEY), ["laptop", "deploy"]);
  assert.deepEqual(await labels(TEST_API_KEY), ["deploy"], "a project key sees its project's keys only");
  assert.deepEqual(await labels(OTHER_API_KEY), []);
  assert.deepEqual(await labels(USER_API_KEY, `${M}/ssh-keys?search=lap`), ["laptop"]);
  assert.deepEqual(await labels(TEST_API_KEY, `${P}/ssh-keys`), ["deploy"]);
  assert.equal((await api.call("GET", `${M}/ssh-keys/${id}`, { token: TEST_API_KEY })).status, 404);

  const updated = await api.call("PUT", `${M}/ssh-keys/${id}`, {
    token: USER_API_KEY,
    body: { label: "old laptop", key: "" },
  });
  assert.equal(updated.status, 200);
  assert.equal(updated.body.label, "old laptop");
  assert.equal(updated.body.fingerprint, real.fingerprint, '"key": "" leaves the key as it is');
  const patched = await api.call("PATCH", `${M}/ssh-keys/${id}`, {
    token: USER_API_KEY,
    body: { tags: ["x"] },
  });
  assert.deepEqual([patched.status, patched.body.tags, patched.body.label], [200, ["x"], "old laptop"]);
  assert.equal((await api.call("DELETE", `${M}/ssh-keys/${id}`, { token: USER_API_KEY })).status, 204);
  assert.equal((await api.call("GET", `${M}/ssh-keys/${id}`, { token: USER_API_KEY })).status, 404);
});

Deno.test("a made-up seed key is a valid public key ssh-keygen reads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/k.pub`, generatedPublicKey("seed@simulator") + "\n");
    const out = await new Deno.Command("ssh-keygen", { args: ["-l", "-E", "md5", "-f", `${dir}/k.pub`] })
      .output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const fingerprint = /MD5:([0-9a-f:]+)/.exec(new TextDecoder().decode(out.stdout))![1];
    const api = await createFakeApi({ clock: new FakeClock(0) });
    const listed = await api.app.request(`${M}/ssh-keys`, {
      headers: { "X-Auth-Token": api.defaults!.apiKey },
    });
    const keys = (await listed.json()).ssh_keys;
    assert.equal(keys.length, 1, "the default start has one user key");
    assert.match(keys[0].fingerprint, /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    assert.notEqual(keys[0].fingerprint, fingerprint, "every made-up key is a new one");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("events: device and IP actions, newest first, per device, project and key", async () => {
  const api = await createTestApi();
  const device = (await api.call("POST", `${P}/devices`, {
    body: { hostname: "ev-1", plan: "c3.small.x86", metro: "sv", operating_system: "ubuntu_24_04" },
  })).body;
  const D = `${M}/devices/${device.id}`;
  await api.call("POST", `${D}/actions`, { body: { type: "power_off" } });
  await api.call("PUT", D, { body: { locked: true } });
  await api.call("PUT", D, { body: { locked: false, description: "x" } });
  const ip = (await api.call("POST", `${P}/ips`, { body: { type: "public_ipv4", quantity: 1, metro: "sv" } }))
    .body;
  const assignment = (await api.call("POST", `${D}/ips`, { body: { address: ip.address } })).body;
  await api.call("DELETE", `${M}/ips/${assignment.id}`);
  await api.call("DELETE", `${M}/ips/${ip.id}`);

  const types = async (path: string, token = TEST_API_KEY) =>
    (await api.call("GET", path, { token })).body.events.map((e: { type: string }) => e.type);
  assert.deepEqual(await types(`${P}/events`), [
    "ip_reservation.deleted",
    "ip_assignment.deleted",
    "ip_assignment.created",
    "ip_reservation.created",
    "instance.unlocked",
    "instance.locked",
    "instance.power_off",
    "instance.created",
  ]);
  assert.deepEqual(await types(`${D}/events`), [
    "ip_assignment.deleted",
    "ip_assignment.created",
    "instance.unlocked",
    "instance.locked",
    "instance.power_off",
    "instance.created",
  ]);
  assert.deepEqual(await types(`${M}/events`, OTHER_API_KEY), [], "another project's key sees none");
  assert.equal((await types(`${M}/events`, USER_API_KEY)).length, 8);

  const page = await api.call("GET", `${P}/events?per_page=3&page=2`);
  assert.equal(page.body.events.length, 3);
  assert.equal(page.body.meta.total, 8);
  assert.equal(page.body.meta.next.href, `/projects/${TEST_PROJECT_ID}/events?per_page=3&page=3`);
  const created = (await api.call("GET", `${D}/events`)).body.events.at(-1);
  assert.equal(created.body, `Created device ev-1 (${device.id})`);
  assert.deepEqual(created.relationships, [{ href: D }]);
  assert.deepEqual((await api.call("GET", `${M}/events/${created.id}`)).body, created);
  assert.equal((await api.call("GET", `${M}/events/${created.id}`, { token: OTHER_API_KEY })).status, 404);

  await api.call("DELETE", D);
  assert.equal((await types(`${P}/events`))[0], "instance.deleted");
  assert.equal((await api.call("GET", `${D}/events`)).status, 404, "a deleted device has no feed");
});

Deno.test("the event feed keeps the newest MAX_EVENTS", () => {
  const store = new Store({ clock: new FakeClock(0) });
  for (let i = 0; i < MAX_EVENTS * 1.2; i++) {
    store.addEvent({
      id: `e${i}`,
      type: "t",
      text: "",
      projectId: TEST_PROJECT_ID,
      relationships: [],
      createdAt: "2026-01-01T00:00:00Z",
    });
  }
  assert.ok(store.events.length <= MAX_EVENTS * 1.1);
  assert.equal(store.events.at(-1)!.id, `e${MAX_EVENTS * 1.2 - 1}`);
  assert.equal(store.eventsById.size, store.events.length);
  assert.equal(store.eventsById.get("e0"), undefined, "the oldest are dropped");
});

Deno.test("hardware reservations: seeded, facility and plan in full, per project", async () => {
  const api = await createTestApi({
    seed: testSeed({ hardware_reservations: [{ project_id: TEST_PROJECT_ID, plan: "m3.large.x86" }] }),
  });
  const list = await api.call("GET", `${P}/hardware-reservations`);
  assert.equal(list.status, 200);
  const [h] = list.body.hardware_reservations;
  assert.equal(h.plan.slug, "m3.large.x86");
  assert.equal(h.facility.metro.code, "sv");
  assert.deepEqual(h.project, { href: P });
  assert.equal(list.body.meta.total, 1);
  assert.equal((await api.call("GET", `${M}/hardware-reservations/${h.id}`)).body.id, h.id);
  const other = await api.call("GET", `${M}/hardware-reservations/${h.id}`, { token: OTHER_API_KEY });
  assert.equal(other.status, 404);
  assert.deepEqual(
    (await api.call("GET", `${M}/projects/${OTHER_PROJECT_ID}/hardware-reservations`, {
      token: OTHER_API_KEY,
    }))
      .body.hardware_reservations,
    [],
  );
});

Deno.test("SSH keys and events survive a restart from the state file; older state files still load", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/state.json`;
    const api = await createTestApi({ stateFile: path });
    const key = await api.call("POST", `${P}/ssh-keys`, { body: { key: generatedPublicKey("a@b") } });
    await api.call("POST", `${P}/ips`, { body: { type: "public_ipv4", quantity: 1, metro: "sv" } });
    const restarted = await createTestApi({ stateFile: path });
    assert.equal((await restarted.call("GET", `${M}/ssh-keys/${key.body.id}`)).body.key, key.body.key);
    assert.deepEqual(
      (await restarted.call("GET", `${P}/events`)).body.events.map((e: { type: string }) => e.type),
      ["ip_reservation.created"],
    );

    const old = JSON.parse(await Deno.readTextFile(path));
    delete old.sshKeys;
    delete old.events;
    delete old.hardwareReservations;
    await Deno.writeTextFile(path, JSON.stringify(old));
    const fromOld = await createTestApi({ stateFile: path });
    assert.deepEqual((await fromOld.call("GET", `${P}/ssh-keys`)).body.ssh_keys, []);
    assert.equal((await fromOld.call("GET", `${P}/ips`)).body.ip_addresses.length >= 1, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
