/**
 * `make demo` end to end: test/demo.ts run as a user would, non-interactively with `--timeout` and
 * interactively stopped with Ctrl-C (SIGINT). Each run must reach every milestone, and leave no process and no
 * temporary file behind.
 */
import assert from "node:assert/strict";
import { launchChromium } from "./harness/chromium.ts";
import { makeTestDir } from "./harness/test_dir.ts";
import { waitFor } from "./harness/wait.ts";
import { DEMO_HOSTNAMES } from "./demo_system.ts";
import { errorMessage } from "../util/errors.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function startDemo(
  args: string[],
): { child: Deno.ChildProcess; output: () => string; done: Promise<number> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "test/demo.ts", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", DEMO_TIMEOUT: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const read = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const done = Promise.all([read(child.stdout), read(child.stderr)]).then(() => child.status).then((s) =>
    s.code
  );
  return { child, output: () => text, done };
}

/** The temporary directories the demo announced (its own and the test cluster's). */
function demoDirs(output: string): string[] {
  const dirs = [...output.matchAll(/\(files in (\S+)\)/g)].map((m) => m[1] as string);
  assert.equal(dirs.length, 2, output);
  return dirs;
}

/** Processes whose command line mentions one of `dirs` (etcd, kube-apiserver, fake-api and ccm all do). */
async function processesUsing(dirs: string[]): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    if (dirs.some((dir) => cmdline.includes(dir))) {
      found.push(`${entry.name}: ${cmdline.replaceAll("\0", " ")}`);
    }
  }
  return found;
}

async function assertCleanedUp(dirs: string[]): Promise<void> {
  assert.deepEqual(await processesUsing(dirs), []);
  for (const dir of dirs) {
    assert.equal(await Deno.stat(dir).then(() => true, () => false), false, `${dir} was not removed`);
  }
}

/**
 * The console URL `make demo` printed works in Chromium while ccm runs: the demo's nodes, the Service's Elastic
 * IP named by its Service, ccm's requests. With `UPDATE_CONSOLE_SCREENSHOT=1` it writes docs/console.png.
 */
async function checkConsole(output: string): Promise<void> {
  const url = output.match(/^ +console +(http:\/\/127\.0\.0\.1:\d+\/console\/\S*)/m)?.[1];
  assert.ok(url, `the demo prints the console URL:\n${output}`);
  await using dir = await makeTestDir({ prefix: "ccm-demo-console-" });
  await using browser = await launchChromium(dir.path, { width: 1280, height: 560 });
  const page = browser.page;
  await page.goto(url);
  await page.waitFor(`document.body.dataset.ready === "true"`, 10_000, "the console became ready");
  await page.eval(`document.querySelector('#tabs [data-view="devices"]').click()`);
  const hostnames: string[] = await page.eval(
    `[...document.querySelectorAll("#devices tr")].map((r) => r.dataset.hostname)`,
  );
  assert.deepEqual(hostnames.toSorted(), [...DEMO_HOSTNAMES].sort(), "the demo's devices");
  await page.eval(`document.querySelector('#tabs [data-view="ips"]').click()`);
  await page.waitFor(
    `document.querySelector("#ips").textContent.includes("Service default/demo-web")`,
    2000,
    "the Service's Elastic IP, named by its Service",
  );
  await page.eval(`document.querySelector('#tabs [data-view="requests"]').click()`);
  await page.waitFor(
    `document.querySelectorAll("#requests tr").length > 0`,
    2000,
    "ccm's requests in the log",
  );
  assert.deepEqual(page.problems, [], "no console errors");
  if (Deno.env.get("UPDATE_CONSOLE_SCREENSHOT") === "1") {
    await page.eval(`document.querySelector('#tabs [data-view="summary"]').click()`);
    await Deno.writeFile(new URL("../docs/console.png", import.meta.url), await page.screenshot());
  }
}

const FINAL = /^\[ *[\d.]+s\] all nodes initialized, service has ingress (\d+\.\d+\.\d+\.\d+)$/m;

Deno.test("make demo --timeout reaches every milestone, exits 0 and leaves nothing behind", async () => {
  const demo = startDemo(["--timeout", "120s"]);
  const code = await demo.done;
  const output = demo.output();
  assert.equal(code, 0, output);
  for (const host of ["demo-control-plane-1", "demo-control-plane-2", "demo-control-plane-3"]) {
    assert.match(output, new RegExp(`node ${host} initialized: providerID equinixmetal://[0-9a-f-]{36}, `));
  }
  assert.match(output, /instance-type c3\.small\.x86, region sv/);
  assert.match(output, /Elastic IP \d+\.\d+\.\d+\.\d+ reserved for the Service/);
  assert.match(output, /control-plane Elastic IP \d+\.\d+\.\d+\.\d+ assigned to demo-control-plane-\d/);
  const ingress = output.match(FINAL)?.[1];
  assert.ok(ingress, output);
  assert.match(output, new RegExp(`Service default/demo-web has ingress ${ingress.replaceAll(".", "\\.")}`));
  assert.match(output, /stopped; temporary files removed/);
  await assertCleanedUp(demoDirs(output));
});

Deno.test("make demo runs until Ctrl-C, then stops every process and removes its files", async () => {
  const demo = startDemo([]);
  try {
    await waitFor(() => FINAL.test(demo.output()) && /Press Ctrl-C to stop/.test(demo.output()), {
      timeoutMs: 120_000,
      intervalMs: 200,
      message: "the demo to reach its final line",
    }).catch((err) => {
      throw new Error(`${errorMessage(err)}\n${demo.output()}`);
    });
    assert.match(demo.output(), /export KUBECONFIG=\S+admin\.kubeconfig/);
    assert.match(demo.output(), /Simulated Metal +http:\/\/127\.0\.0\.1:\d+/);
    await checkConsole(demo.output());
    demo.child.kill("SIGINT");
    assert.equal(await demo.done, 0, demo.output());
  } finally {
    try {
      demo.child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await demo.done;
  }
  await assertCleanedUp(demoDirs(demo.output()));
});
