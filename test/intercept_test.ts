/**
 * `ccm fake-api --intercept` as a user runs it: a real process prints HTTPS_PROXY and SSL_CERT_FILE, and a
 * Go program using only the default HTTP client and those two variables (as the metal CLI, packngo and the Go
 * CCM do, with their hard-coded https://api.equinix.com/metal/v1) reaches the simulator; other hosts are
 * refused by the proxy.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startMainProcess } from "./harness/main_process.ts";
import { minimalEnv } from "./harness/process.ts";
import { makeTestDir } from "./harness/test_dir.ts";
import { generateCa } from "../fake_api/tls_ca.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface GetResult {
  url: string;
  status?: number;
  body?: string;
  error?: string;
}

async function goGet(env: Record<string, string>, urls: string[]): Promise<GetResult[]> {
  const out = await new Deno.Command("go", {
    args: ["run", "./test/fixtures/https_get/main.go", ...urls],
    cwd: ROOT,
    env: { ...env, GOFLAGS: "-mod=mod", GO111MODULE: "on" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `go run failed (is Go installed?): ${stderr}`);
  return new TextDecoder().decode(out.stdout).trim().split("\n").map((line) => JSON.parse(line) as GetResult);
}

/** Starts `ccm fake-api --intercept` with `args` and returns the variables it printed. */
async function startIntercept(
  dir: { path: string; defer(f: () => Promise<unknown>): void },
  args: string[] = [],
): Promise<Record<string, string>> {
  const fakeApi = await startMainProcess({
    name: "fake-api",
    args: [
      "fake-api",
      "--listen",
      "127.0.0.1:0",
      "--intercept",
      "--intercept-listen",
      "127.0.0.1:0",
      ...args,
    ],
    logPath: `${dir.path}/fake-api.log`,
  });
  dir.defer(() => fakeApi.stop());
  await fakeApi.waitForStdout(/^export SSL_CERT_FILE=\S+$/m);
  const printed = await Deno.readTextFile(`${dir.path}/fake-api.log`);
  const env: Record<string, string> = {};
  for (const m of printed.matchAll(/^export ([A-Z_]+)=(\S+)$/gm)) env[m[1]!] = m[2]!;
  assert.match(env.HTTPS_PROXY ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(env.SSL_CERT_FILE && env.METAL_API_KEY && env.METAL_PROJECT_ID, printed);
  assert.equal(env.METAL_AUTH_TOKEN, env.METAL_API_KEY, "the metal CLI's variable");
  return env;
}

function goEnv(env: Record<string, string>): Record<string, string> {
  return {
    ...minimalEnv(),
    GOPATH: Deno.env.get("GOPATH") ?? `${Deno.env.get("HOME")}/go`,
    GOCACHE: Deno.env.get("GOCACHE") ?? `${Deno.env.get("HOME")}/.cache/go-build`,
    HTTPS_PROXY: env.HTTPS_PROXY!,
    SSL_CERT_FILE: env.SSL_CERT_FILE!,
    METAL_AUTH_TOKEN: env.METAL_API_KEY!,
  };
}

Deno.test("a Go client with HTTPS_PROXY and SSL_CERT_FILE from `ccm fake-api --intercept` gets the simulator as api.equinix.com", async () => {
  await using dir = await makeTestDir({ prefix: "ccm-intercept-" });
  const env = await startIntercept(dir);
  assert.match(await Deno.readTextFile(env.SSL_CERT_FILE!), /^-----BEGIN CERTIFICATE-----/);
  const project = `https://api.equinix.com/metal/v1/projects/${env.METAL_PROJECT_ID}`;
  const [ok, badKey, notSimulated, otherHost] = await goGet(
    goEnv(env),
    [
      project,
      "https://api.equinix.com/metal/v1/user/api-keys-that-do-not-exist",
      "https://api.equinix.com/_fake/state",
      "https://example.com/",
    ],
  );
  assert.equal(ok!.status, 200, JSON.stringify(ok));
  assert.equal(JSON.parse(ok!.body!).id, env.METAL_PROJECT_ID);
  assert.equal(badKey!.status, 404, JSON.stringify(badKey));
  assert.match(JSON.parse(badKey!.body!).errors[0], /Not found/);
  // The admin API is not reachable through the proxy: only /metal/v1 is mirrored on api.equinix.com.
  assert.equal(notSimulated!.status, 404, JSON.stringify(notSimulated));
  assert.match(notSimulated!.body!, /is not simulated/);
  assert.match(otherHost!.error ?? "", /Forbidden/, JSON.stringify(otherHost));

  const [unauthorized] = await goGet({ ...goEnv(env), METAL_AUTH_TOKEN: "not-a-key" }, [project]);
  assert.equal(unauthorized!.status, 401, JSON.stringify(unauthorized));

  // Without the CA the same request fails certificate verification: the proxy does not weaken TLS.
  const [untrusted] = await goGet({ ...goEnv(env), SSL_CERT_FILE: "/dev/null" }, [project]);
  assert.match(untrusted!.error ?? "", /certificate/, JSON.stringify(untrusted));
});

Deno.test("`ccm fake-api --intercept --ca-cert/--ca-key` signs with the given CA and prints its file", async () => {
  await using dir = await makeTestDir({ prefix: "ccm-intercept-ca-" });
  const ca = await generateCa();
  await Deno.writeTextFile(`${dir.path}/ca.pem`, ca.cert);
  await Deno.writeTextFile(`${dir.path}/ca.key`, ca.key);
  const env = await startIntercept(dir, [
    "--ca-cert",
    `${dir.path}/ca.pem`,
    "--ca-key",
    `${dir.path}/ca.key`,
  ]);
  assert.equal(env.SSL_CERT_FILE, `${dir.path}/ca.pem`);
  const [ok] = await goGet(goEnv(env), [`https://api.equinix.com/metal/v1/projects/${env.METAL_PROJECT_ID}`]);
  assert.equal(ok!.status, 200, JSON.stringify(ok));
});

Deno.test("`ccm fake-api --intercept --ca-cert` with a missing file exits 1 naming the flag", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "main.ts",
      "fake-api",
      "--listen",
      "127.0.0.1:0",
      "--intercept",
      "--intercept-listen",
      "127.0.0.1:0",
      "--ca-cert",
      "/nonexistent/ca.pem",
      "--ca-key",
      "/nonexistent/ca.key",
    ],
    cwd: ROOT,
    env: minimalEnv(),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 1, output);
  assert.match(output, /--ca-cert: cannot read '\/nonexistent\/ca.pem'/);
});
