/**
 * The simulator console in a real browser: headless Chromium (test/harness/chromium.ts; `CHROMIUM_BIN` from
 * test/install_chromium.sh) against a real `ccm fake-api` process. A Chromium that does not start fails these
 * tests. (docs/console.png, the README's screenshot, is taken during `make demo` by test/demo_test.ts.)
 */
import assert from "node:assert/strict";
import { serviceTags } from "../metal/loadbalancers/tags.ts";
import { type ChromiumPage, launchChromium } from "./harness/chromium.ts";
import { startFakeApi as startFakeApiProcess } from "./harness/main_process.ts";
import { makeTestDir, type TestDir } from "./harness/test_dir.ts";

const PROJECT = "7a9e0c11-0000-4000-8000-00000000c001";
const KEY = "console-test-key-0001";
const UA = "console-browser-test/1.0";

interface Sim {
  url: string;
  metal: string;
  /** Metal API call with the project key; resolves with status and parsed body. */
  // deno-lint-ignore no-explicit-any
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

async function startFakeApi(dir: TestDir, seed: unknown, extraArgs: string[] = []): Promise<Sim> {
  const fakeApi = await startFakeApiProcess({ dir: dir.path, seed, args: extraArgs });
  dir.defer(() => fakeApi.process.stop());
  const metal = fakeApi.baseUrl;
  return {
    url: fakeApi.url,
    metal,
    async call(method, path, body) {
      const res = await fetch(`${metal}${path}`, {
        method,
        headers: { "X-Auth-Token": KEY, "User-Agent": UA, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
  };
}

function seed(devices: number) {
  return {
    projects: [{ id: PROJECT, name: "console-demo" }],
    api_keys: [{ token: KEY, project_ids: [PROJECT] }],
    devices: Array.from({ length: devices }, (_, i) => ({
      project_id: PROJECT,
      hostname: `seed-node-${i}`,
      metro: i % 2 ? "sv" : "da",
      tags: i === 0 ? ["control-plane"] : ["worker"],
    })),
  };
}

/** Milliseconds until `expression` is true in the page (fails past `limitMs`). */
async function within(
  page: ChromiumPage,
  expression: string,
  limitMs: number,
  what: string,
): Promise<number> {
  const started = performance.now();
  await page.waitFor(expression, limitMs, what);
  return performance.now() - started;
}

const js = JSON.stringify;

function assertNoProblems(page: ChromiumPage): void {
  assert.deepEqual(page.problems, [], "the page reported no console errors or exceptions");
}

Deno.test("console in Chromium: live devices, reservations, buttons, faults and request log", async () => {
  await using dir = await makeTestDir({ prefix: "ccm-console-test-" });
  const sim = await startFakeApi(dir, seed(3));
  await using browser = await launchChromium(dir.path);
  const page = browser.page;

  await page.goto(`${sim.url}/console/?services=default/nginx`);
  await page.waitFor(`document.body.dataset.ready === "true"`, 10_000, "the console became ready");
  await page.eval(`document.querySelector('#tabs [data-view="devices"]').click()`);
  const hostnames = () =>
    page.eval(`[...document.querySelectorAll("#devices tr")].map((r) => r.dataset.hostname)`);
  assert.deepEqual(await hostnames(), ["seed-node-0", "seed-node-1", "seed-node-2"]);
  assert.equal(await page.eval(`document.querySelector("#live").textContent`), "live");

  // A device and a reservation made through the Metal API show within 2 s.
  const created = await sim.call("POST", `/projects/${PROJECT}/devices`, {
    hostname: "api-node",
    metro: "sv",
    plan: "c3.small.x86",
    operating_system: "ubuntu_24_04",
  });
  assert.equal(created.status, 201);
  const deviceId: string = created.body.id;
  await within(
    page,
    `!!document.querySelector('#devices tr[data-device-id=${js(deviceId)}]')`,
    2000,
    "new device",
  );
  const eip = await sim.call("POST", `/projects/${PROJECT}/ips`, {
    type: "public_ipv4",
    quantity: 1,
    metro: "sv",
    tags: serviceTags("default", "nginx", "cluster-1"),
  });
  assert.equal(eip.status, 201);
  assert.equal(
    (await sim.call("POST", `/devices/${deviceId}/ips`, { address: eip.body.address })).status,
    201,
  );
  const row = `document.querySelector('#ips tr[data-reservation-id=${js(eip.body.id)}]')`;
  await within(
    page,
    `!!${row} && ${row}.textContent.includes("api-node")`,
    2000,
    "new reservation, assigned",
  );
  const ipText: string = await page.eval(`${row}.textContent`);
  assert.match(ipText, /Service default\/nginx/, "the service= tag is named by the Service the page knows");
  assert.match(ipText, /cluster cluster-1/);
  assert.match(ipText, /usage: cloud-provider-equinix-metal-auto/);
  assert.ok(ipText.includes(`${eip.body.address}/32 → api-node`), ipText);

  // The request log shows a request made after the page loaded, with its User-Agent.
  const probe = await sim.call("GET", `/devices/${deviceId}?probe=console-test`);
  assert.equal(probe.status, 200);
  await page.eval(`document.querySelector('#tabs [data-view="requests"]').click()`);
  await within(
    page,
    `[...document.querySelectorAll("#requests tr")].some((r) => r.textContent.includes("probe=console-test") &&
      r.textContent.includes(${js(UA)}) && r.textContent.includes("200"))`,
    2000,
    "the probe request in the request log",
  );
  assert.ok(
    await page.eval(`document.querySelectorAll("#chart-requests rect").length > 0`),
    "chart has bars",
  );

  // Power off in the device view changes the device's state in the API.
  await page.eval(`document.querySelector('#tabs [data-view="devices"]').click()`);
  const button = `document.querySelector('#devices tr[data-device-id=${
    js(deviceId)
  }] button[data-action="power-off"]')`;
  await page.waitFor(`!!${button}`, 2000, "power-off button");
  await page.eval(`${button}.click()`);
  const deadline = performance.now() + 2000;
  let state = "";
  while (performance.now() < deadline && state !== "inactive") {
    state = (await sim.call("GET", `/devices/${deviceId}`)).body.state;
  }
  assert.equal(state, "inactive");
  await within(
    page,
    `document.querySelector('#devices tr[data-device-id=${js(deviceId)}]').dataset.state === "inactive"`,
    2000,
    "inactive shown",
  );

  // Fault controls take effect at once: error rate 1 → 500s, then a scripted 503, then no faults.
  await page.eval(`document.querySelector('#tabs [data-view="faults"]').click()`);
  await page.eval(`(() => {
    const f = document.querySelector("#fault-error-rate");
    f.value = "1";
    f.dispatchEvent(new Event("input"));
    document.querySelector("#fault-apply").click();
  })()`);
  await within(page, `document.querySelector("#fault-error-rate").value === "1"`, 2000, "error rate kept");
  let status = 0;
  for (let i = 0; i < 40 && status !== 500; i++) {
    status = (await sim.call("GET", `/projects/${PROJECT}`)).status;
  }
  assert.equal(status, 500, "error rate 1 answers 500");
  assert.match(
    (await sim.call("GET", `/projects/${PROJECT}`)).body.errors[0],
    /Simulated internal server error/,
  );
  await within(
    page,
    `!!document.querySelector('#chart-requests rect[data-status="5xx"]') &&
      !!document.querySelector('#chart-summary rect[data-status="2xx"]')`,
    2000,
    "the chart shows the 500s apart from the 200s",
  );
  await page.eval(`document.querySelector("#fault-clear").click()`);
  await page.waitFor(
    `document.body.dataset.pending === "0"`,
    2000,
    "both admin calls of 'No faults' answered",
  );
  for (let i = 0; i < 40 && status !== 200; i++) {
    status = (await sim.call("GET", `/projects/${PROJECT}`)).status;
  }
  assert.equal(status, 200, "no faults again");
  await page.eval(`(() => {
    document.querySelector("#scripted-path").value = "/metal/v1/projects/";
    document.querySelector("#scripted-status").value = "503";
    document.querySelector("#scripted-count").value = "1";
    document.querySelector("#scripted-add").click();
  })()`);
  await within(
    page,
    `document.querySelector("#scripted").textContent.includes("503")`,
    2000,
    "scripted listed",
  );
  assert.equal((await sim.call("GET", `/projects/${PROJECT}`)).status, 503);
  assert.equal((await sim.call("GET", `/projects/${PROJECT}`)).status, 200, "count 1: only the next one");

  // Delete removes the device (confirm() is answered by the test).
  await page.eval(`document.querySelector('#tabs [data-view="devices"]').click()`);
  await page.eval(`window.confirm = () => true;
    document.querySelector('#devices tr[data-device-id=${
    js(deviceId)
  }] button[data-action="delete"]').click()`);
  await within(
    page,
    `!document.querySelector('#devices tr[data-device-id=${js(deviceId)}]')`,
    2000,
    "deleted",
  );
  assert.equal((await sim.call("GET", `/devices/${deviceId}`)).status, 404);

  assertNoProblems(page);
});

Deno.test("console in Chromium: with 10,000 devices the device view renders its first page within 2 s", async () => {
  await using dir = await makeTestDir({ prefix: "ccm-console-10k-" });
  const sim = await startFakeApi(dir, seed(10_000));
  await using browser = await launchChromium(dir.path);
  const page = browser.page;
  const started = performance.now();
  await page.goto(`${sim.url}/console/#devices`);
  await page.waitFor(
    `document.querySelectorAll("#devices tr").length === 100`,
    2000,
    "first page of devices",
  );
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 2000, `rendered in ${Math.round(elapsed)} ms`);
  assert.match(
    await page.eval(`document.querySelector("#device-page").textContent`),
    /page 1 of 100 · 10000 of 10000/,
  );
  // Filtering and paging stay fast too.
  await page.eval(`(() => {
    const f = document.querySelector("#device-filter");
    f.value = "seed-node-9999";
    f.dispatchEvent(new Event("input"));
  })()`);
  await within(
    page,
    `[...document.querySelectorAll("#devices tr")].map((r) => r.dataset.hostname).join() === "seed-node-9999"`,
    2000,
    "filtered to one device",
  );
  assertNoProblems(page);
});

Deno.test("console in Chromium with --admin-token: ?token= once, then the cookie carries the page and its buttons", async () => {
  await using dir = await makeTestDir({ prefix: "ccm-console-token-" });
  const token = "console-browser-admin-token-0123";
  const sim = await startFakeApi(dir, seed(2), ["--admin-token", token]);
  assert.equal((await fetch(`${sim.url}/console/api/state`)).status, 401);
  await using browser = await launchChromium(dir.path);
  const page = browser.page;
  await page.goto(`${sim.url}/console/?token=${token}#devices`);
  await page.waitFor(`document.body.dataset.ready === "true"`, 10_000, "the console became ready");
  assert.equal(await page.eval(`location.search`), "", "the token left the address bar");
  await page.waitFor(
    `document.querySelector("#live").textContent === "live"`,
    2000,
    "the event stream is open",
  );
  const deviceId: string = await page.eval(
    `document.querySelector('#devices tr[data-hostname="seed-node-1"]').dataset.deviceId`,
  );
  await page.eval(
    `document.querySelector('#devices tr[data-device-id=${
      js(deviceId)
    }] button[data-action="power-off"]').click()`,
  );
  await within(
    page,
    `document.querySelector('#devices tr[data-device-id=${js(deviceId)}]').dataset.state === "inactive"`,
    2000,
    "the device powered off through the console's admin proxy",
  );
  assert.equal((await sim.call("GET", `/devices/${deviceId}`)).body.state, "inactive");
  assertNoProblems(page);
});

Deno.test("a Chromium that cannot start is an error naming the binary and the fix, not a skip", async () => {
  await using dir = await makeTestDir({ prefix: "ccm-console-nochromium-" });
  await assert.rejects(
    launchChromium(dir.path, { bin: `${dir.path}/no-such-chromium`, timeoutMs: 5000 }),
    (err: Error) => {
      assert.match(err.message, /no-such-chromium/);
      assert.match(err.message, /install_chromium\.sh|CHROMIUM_BIN|Failed to start/);
      return true;
    },
  );
});
