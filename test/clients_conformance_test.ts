/**
 * The official Metal Go clients against a real `ccm fake-api` process: the Go module in test/clients/ (packngo
 * v0.31.0 and equinix-sdk-go v0.66.0, from the Go module proxy) is compiled once into a test binary cached
 * outside the repository, and each of its Go test functions runs against a fresh simulator. Every client
 * operation is one Go subtest; a failed or skipped one fails this test, and each client must run at least
 * {@linkcode MIN_OPERATIONS} operations.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { startFakeApi } from "./harness/main_process.ts";
import { minimalEnv } from "./harness/process.ts";
import { makeTestDir, type TestDir } from "./harness/test_dir.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MODULE_DIR = `${ROOT}test/clients`;
const MIN_OPERATIONS = 60;
const PROJECT_ID = "c0f0c0f0-0000-4000-8000-00000000c11e";
const API_KEY = "conformance-user-key";

/** Go test functions by client; all of a client's functions count toward its operations. */
const SUITES: Record<string, readonly string[]> = {
  packngo: ["TestPackngo", "TestPackngoAccount"],
  "equinix-sdk-go": ["TestSDK", "TestSDKAccount", "TestMetalCLIShapes", "TestMetalCLIAccountShapes"],
};

function goEnv(): Record<string, string> {
  const home = Deno.env.get("HOME") ?? "/root";
  const env: Record<string, string> = {
    ...minimalEnv(),
    GOPATH: Deno.env.get("GOPATH") ?? `${home}/go`,
    GOCACHE: Deno.env.get("GOCACHE") ?? `${home}/.cache/go-build`,
    GOFLAGS: "-mod=mod",
  };
  for (const key of ["GOPROXY", "GONOSUMDB", "GONOSUMCHECK", "GOSUMDB", "GOMODCACHE"]) {
    const value = Deno.env.get(key);
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** The compiled suite, built when its sources (or the Go version) changed since the cached one. */
async function suiteBinary(): Promise<string> {
  const version = await new Deno.Command("go", { args: ["version"], env: goEnv(), stdout: "piped" }).output()
    .catch((err) => {
      throw new Error(`Go is required to build the client conformance suite (test/clients): ${err.message}`);
    });
  const hash = createHash("sha256").update(version.stdout);
  const files = [...Deno.readDirSync(MODULE_DIR)].map((e) => e.name).filter((n) => /\.(go|mod|sum)$/.test(n))
    .sort();
  for (const name of files) hash.update(name).update(Deno.readFileSync(`${MODULE_DIR}/${name}`));
  const cache = `${
    Deno.env.get("CCM_TEST_BIN_DIR") ?? `${Deno.env.get("HOME")}/.cache/ccm-test-bin`
  }/clients`;
  const bin = `${cache}/conformance-${hash.digest("hex").slice(0, 16)}.test`;
  try {
    Deno.statSync(bin);
    return bin;
  } catch {
    // not built yet
  }
  Deno.mkdirSync(cache, { recursive: true });
  const partial = `${bin}.${Deno.pid}.partial`;
  const out = await new Deno.Command("go", {
    args: ["test", "-c", "-o", partial, "."],
    cwd: MODULE_DIR,
    env: goEnv(),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, `go test -c in test/clients failed:\n${new TextDecoder().decode(out.stderr)}`);
  Deno.renameSync(partial, bin);
  return bin;
}

/** A fresh simulator seeded with one project, a user key, a user SSH key and a hardware reservation. */
async function startSeededFakeApi(dir: TestDir, name: string): Promise<Record<string, string>> {
  const fakeApi = await startFakeApi({
    dir: await Deno.makeTempDir({ dir: dir.path, prefix: `${name}-` }),
    seed: {
      projects: [{ id: PROJECT_ID, name: "conformance" }],
      api_keys: [{ token: API_KEY }],
      ssh_keys: [{ label: "seeded" }],
      hardware_reservations: [{ project_id: PROJECT_ID, plan: "m3.large.x86", facility: "sv15" }],
    },
  });
  dir.defer(() => fakeApi.process.stop());
  return { METAL_BASE_URL: fakeApi.baseUrl, METAL_API_KEY: API_KEY, METAL_PROJECT_ID: PROJECT_ID };
}

/** Outcome of one Go test function: its subtests by result, and the output to show when it failed. */
interface GoRun {
  passed: string[];
  failed: string[];
  skipped: string[];
  success: boolean;
  output: string;
}

async function runGoTest(bin: string, fn: string, env: Record<string, string>): Promise<GoRun> {
  const out = await new Deno.Command(bin, {
    args: ["-test.run", `^${fn}$`, "-test.v", "-test.count=1", "-test.timeout=5m"],
    cwd: MODULE_DIR,
    env: { ...minimalEnv(), ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const run: GoRun = { passed: [], failed: [], skipped: [], success: out.success, output };
  for (const m of output.matchAll(/^\s+--- (PASS|FAIL|SKIP): (\S+)/gm)) {
    ({ PASS: run.passed, FAIL: run.failed, SKIP: run.skipped })[m[1] as "PASS" | "FAIL" | "SKIP"].push(m[2]!);
  }
  return run;
}

Deno.test("the official Metal Go clients (packngo, equinix-sdk-go) work against `ccm fake-api`", async (t) => {
  await using dir = await makeTestDir({ prefix: "ccm-clients-" });
  const bin = await suiteBinary();
  const listed = new TextDecoder().decode(
    (await new Deno.Command(bin, { args: ["-test.list", "."], stdout: "piped" }).output()).stdout,
  ).split("\n").filter((l) => l !== "");
  for (const [client, fns] of Object.entries(SUITES)) {
    let operations = 0;
    for (const fn of fns) {
      await t.step(`${client}: ${fn}`, async () => {
        assert.ok(listed.includes(fn), `${fn} is not in test/clients (found ${listed.join(", ")})`);
        const run = await runGoTest(bin, fn, await startSeededFakeApi(dir, fn));
        const tail = run.output.split("\n").filter((l) => !/^\s+--- PASS|^=== RUN/.test(l)).slice(-60).join(
          "\n",
        );
        assert.deepEqual(run.failed, [], `${fn}: failed client operations\n${tail}`);
        assert.deepEqual(run.skipped, [], `${fn}: skipped client operations (none may be skipped)`);
        assert.ok(run.success, `${fn} exited non-zero\n${tail}`);
        assert.ok(run.passed.length > 0, `${fn} ran no client operation`);
        operations += run.passed.length;
        // deno-lint-ignore no-console
        console.log(`${client} ${fn}: ${run.passed.length} operations passed`);
      });
    }
    await t.step(`${client}: at least ${MIN_OPERATIONS} operations`, () => {
      assert.ok(operations >= MIN_OPERATIONS, `${client} ran ${operations} operations`);
    });
  }
});
