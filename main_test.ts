import { equal, match } from "node:assert/strict";

const ROOT = new URL(".", import.meta.url).pathname;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run main.ts ...args` with a clean environment (plus `env`), as a user would. */
async function ccm(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const keep = ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME", "DENO_NO_UPDATE_CHECK"];
  const base: Record<string, string> = { NO_COLOR: "1" };
  for (const name of keep) {
    const value = Deno.env.get(name);
    if (value !== undefined) base[name] = value;
  }
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", "main.ts", ...args],
    cwd: ROOT,
    clearEnv: true,
    env: { ...base, ...env },
  }).output();
  const text = new TextDecoder();
  return { code: output.code, stdout: text.decode(output.stdout), stderr: text.decode(output.stderr) };
}

Deno.test("ccm run without credentials exits non-zero naming METAL_API_KEY, before touching a cluster", async () => {
  const { code, stderr } = await ccm(["run", "--kubeconfig=/nonexistent"]);
  equal(code, 1);
  match(stderr, /Missing API key: set METAL_API_KEY/);
  const fatal = JSON.parse(stderr.trim().split("\n").at(-1) as string);
  equal(fatal.level, "fatal");
  match(fatal.err, /^Cannot start cloud provider 'equinixmetal': Missing API key/);
});

Deno.test("ccm run keeps secrets out of its output", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/cloud-sa.json`, '{"apiKey":"sk-from-file-31337","projectID":"p"}');
    const { code, stderr } = await ccm(["run", `--cloud-config=${dir}/cloud-sa.json`], {
      METAL_BGP_PASS: "bgp-from-env-31337",
    });
    equal(code, 1, stderr);
    match(stderr, /Loaded Equinix Metal configuration/);
    equal(stderr.includes("31337"), false, stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ccm run with an unknown flag exits 2 with the error and the usage line", async () => {
  const { code, stderr } = await ccm(["run", "--leader-elekt"]);
  equal(code, 2);
  match(stderr, /^error: unknown option '--leader-elekt'/);
  match(stderr, /\(Did you mean --leader-elect\?\)/);
  match(stderr, /Usage: ccm run \[flags\]\nRun 'ccm run --help' for more information/);
});

Deno.test("ccm run with a bad value exits 2 naming the flag and the value", async () => {
  const { code, stderr } = await ccm(["run", "--node-monitor-period=5"]);
  equal(code, 2);
  match(stderr, /option '--node-monitor-period <duration>' argument '5' is invalid/);
  match(stderr, /Usage: ccm run \[flags\]/);
});

Deno.test("ccm --help lists the subcommands", async () => {
  const { code, stdout } = await ccm(["--help"]);
  equal(code, 0);
  match(stdout, /^ {2}run /m);
  match(stdout, /^ {2}fake-api /m);
  match(stdout, /^ {2}version /m);
});

Deno.test("ccm run --help lists the flags with defaults", async () => {
  const { code, stdout } = await ccm(["run", "--help"]);
  equal(code, 0);
  match(stdout, /--leader-elect\[=true\|false\]/);
  match(stdout, /--cloud-provider string +The provider for cloud services \(default equinixmetal\)/);
});

Deno.test("ccm fake-api --help describes the simulator", async () => {
  const { code, stdout } = await ccm(["fake-api", "--help"]);
  equal(code, 0);
  match(stdout, /^Usage: ccm fake-api \[flags\]/);
  match(stdout, /simulated Equinix Metal API/);
});

Deno.test("ccm fake-api with an unknown flag exits 2 with the usage line", async () => {
  const { code, stderr } = await ccm(["fake-api", "--bogus"]);
  equal(code, 2);
  match(stderr, /^error: unknown option '--bogus'\nUsage: ccm fake-api \[flags\]/);
});

Deno.test("ccm version prints the version", async () => {
  const { code, stdout } = await ccm(["version"]);
  equal(code, 0);
  match(stdout, /^v\d+\.\d+\.\d+\S*\n$/);
});

Deno.test("ccm without a command runs the daemon, so upstream manifests' arguments work unchanged", async () => {
  const upstreamArgs = [
    "--cloud-provider=equinixmetal",
    "--leader-elect=true",
    "--authentication-skip-lookup=true",
    "--cloud-config=/nonexistent/cloud-sa.json",
  ];
  const { code, stderr } = await ccm(upstreamArgs);
  equal(code, 1);
  match(stderr, /"msg":"Ignored flag --authentication-skip-lookup: /);
  match(stderr, /Cannot read --cloud-config file '\/nonexistent\/cloud-sa.json'/);
  const bare = await ccm([]);
  equal(bare.code, 1);
  match(bare.stderr, /Missing API key: set METAL_API_KEY/);
});
