/**
 * Real processes: `ccm fake-api` served over HTTP, hard-killed (SIGKILL) while writes are in flight, then
 * restarted from its state file. Every acknowledged write must survive.
 */
import assert from "node:assert/strict";
import { serveFakeApi } from "./serve.ts";
import { checkResponse, TEST_API_KEY, TEST_PROJECT_ID, testSeed } from "./testing.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

interface Proc {
  child: Deno.ChildProcess;
  baseUrl: string;
  stdout: string;
  stderr: Promise<string>;
}

async function start(args: string[]): Promise<Proc> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "fake-api", "--listen", "127.0.0.1:0", ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const deadline = Date.now() + 30_000;
  while (!/METAL_TOKEN_EXCHANGE_URL=(\S+)\n/.test(out)) {
    const { value, done } = await reader.read();
    if (done || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`fake-api did not start: ${out}\n${await stderr}`);
    }
    out += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const baseUrl = /METAL_BASE_URL=(\S+)/.exec(out)![1]!;
  return { child, baseUrl, stdout: out, stderr };
}

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "X-Auth-Token": TEST_API_KEY, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return await checkResponse(method, `/metal/v1${path}`, res);
}

Deno.test("a SIGKILLed fake-api restarts from --state with every acknowledged write", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fake-api-kill-" });
  const seedPath = `${dir}/seed.json`;
  const statePath = `${dir}/state.json`;
  await Deno.writeTextFile(seedPath, JSON.stringify(testSeed()));
  const P = `/projects/${TEST_PROJECT_ID}`;
  let proc = await start(["--state", statePath, "--seed", seedPath]);
  try {
    const device = await call(proc.baseUrl, "POST", `${P}/devices`, {
      plan: "c3.small.x86",
      metro: "sv",
      operating_system: "ubuntu_24_04",
      hostname: "survivor",
    });
    assert.equal(device.status, 201);
    await call(proc.baseUrl, "POST", `${P}/bgp-configs`, { asn: 65000, deployment_type: "local", md5: "" });

    // A burst of reservations; SIGKILL the process the moment the first one is acknowledged, with the others
    // still in flight (some may have been written without their answer arriving — they may survive too).
    const acknowledged: string[] = [];
    const burst = Array.from(
      { length: 100 },
      (_, i) =>
        call(proc.baseUrl, "POST", `${P}/ips`, {
          type: "public_ipv4",
          quantity: 1,
          metro: "sv",
          tags: [`r${i}`],
        })
          .then((r) => {
            if (r.status !== 201) return;
            acknowledged.push(r.body.id);
            if (acknowledged.length === 1) proc.child.kill("SIGKILL");
          })
          .catch(() => {}),
    );
    await Promise.all(burst);
    assert.ok(acknowledged.length > 0, "at least one write was acknowledged before the kill");
    assert.equal((await proc.child.status).signal, "SIGKILL");
    await proc.stderr;

    proc = await start(["--state", statePath, "--seed", seedPath]);
    const got = await call(proc.baseUrl, "GET", `/devices/${device.body.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.hostname, "survivor");
    assert.deepEqual(got.body.ip_addresses, device.body.ip_addresses);
    assert.equal((await call(proc.baseUrl, "GET", `${P}/bgp-config`)).body.asn, 65000);
    const ips = await call(proc.baseUrl, "GET", `${P}/ips?types=public_ipv4&per_page=1000`);
    const ids = new Set(ips.body.ip_addresses.map((r: { id: string }) => r.id));
    for (const id of acknowledged) assert.ok(ids.has(id), `acknowledged reservation ${id} was lost`);
    const addresses = ips.body.ip_addresses.map((r: { address: string }) => r.address);
    assert.equal(new Set(addresses).size, addresses.length, "no address is held twice");
  } finally {
    proc.child.kill("SIGKILL");
    await proc.child.status;
    await proc.stderr;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serveFakeApi listens on a free port and stops cleanly", async () => {
  const server = await serveFakeApi({ port: 0, seed: testSeed() });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.env.METAL_BASE_URL, `${server.url}/metal/v1`);
    assert.equal(server.env.METAL_API_KEY, undefined, "no key printed when seeded");
    const res = await fetch(`${server.env.METAL_BASE_URL}/projects/${TEST_PROJECT_ID}`, {
      headers: { "X-Auth-Token": TEST_API_KEY },
    });
    const checked = await checkResponse("GET", `/metal/v1/projects/${TEST_PROJECT_ID}`, res);
    assert.equal(checked.body.name, "test-project");
  } finally {
    await server.shutdown();
    await server.finished;
  }
});

Deno.test("without a seed fake-api prints a working key and project, and stops cleanly on SIGTERM", async () => {
  const proc = await start([]);
  try {
    const env = Object.fromEntries(
      [...proc.stdout.matchAll(/^export (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]),
    );
    assert.deepEqual(Object.keys(env), [
      "METAL_API_KEY",
      "METAL_PROJECT_ID",
      "METAL_BASE_URL",
      "METAL_LBAAS_URL",
      "METAL_TOKEN_EXCHANGE_URL",
    ]);
    const res = await fetch(`${env.METAL_BASE_URL}/projects/${env.METAL_PROJECT_ID}/devices`, {
      headers: { "X-Auth-Token": env.METAL_API_KEY! },
    });
    assert.equal((await checkResponse("GET", `/metal/v1/projects/x/devices`, res)).status, 200);
    const token = await fetch(env.METAL_TOKEN_EXCHANGE_URL!, {
      method: "POST",
      headers: { Authorization: `Bearer ${env.METAL_API_KEY}` },
    });
    assert.equal((await checkResponse("POST", "/iam/api-keys/exchange", token)).status, 200);
    proc.child.kill("SIGTERM");
    const status = await proc.child.status;
    assert.deepEqual([status.success, status.code], [true, 0]);
    assert.match(await proc.stderr, /"msg":"Stopped"/);
    assert.ok(!(await proc.stderr).includes(env.METAL_API_KEY!), "the key is not logged");
  } finally {
    try {
      proc.child.kill("SIGKILL");
    } catch {
      // already stopped
    }
    await proc.child.status;
    await proc.stderr;
  }
});
