/**
 * Item 5 (configuration) — `ccm run` as a process with malformed `cloud-sa.json` files, environment values and
 * `METAL_LOAD_BALANCER` strings: each exits 1 before touching a cluster, with one fatal line naming the field
 * (environment variable or file key), and no secret in its output (item 6).
 */
import assert from "node:assert/strict";
import { PROJECT_ID } from "../loadbalancer_system.ts";
import { leakedLines, SECRET_API_KEY, SECRET_BGP_PASS } from "./bed.ts";
import { report } from "./report.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

interface Case {
  name: string;
  /** `cloud-sa.json` contents (written as is), if any. */
  file?: string;
  env?: Record<string, string>;
  /** What the fatal line must say. */
  message: RegExp;
}

/** A valid base: the secrets and the project come from the environment unless a case overrides them. */
const BASE_ENV = {
  METAL_API_KEY: SECRET_API_KEY,
  METAL_PROJECT_ID: PROJECT_ID,
  METAL_BGP_PASS: SECRET_BGP_PASS,
};

const CASES: Case[] = [
  { name: "file is not JSON", file: '{"apiKey": ', message: /cloud config file '.*cloud-sa\.json'.*JSON/i },
  { name: "file is empty", file: "", message: /cloud config file '.*cloud-sa\.json'/ },
  { name: "file is a JSON array", file: "[1, 2]", message: /cloud config file '.*cloud-sa\.json'.*object/i },
  {
    name: "file is binary",
    file: "\u0000\u0001\u00ff\ufffe",
    message: /cloud config file '.*cloud-sa\.json'/,
  },
  {
    name: "apiKey is a number",
    file: JSON.stringify({ apiKey: 31337, projectID: PROJECT_ID }),
    env: { METAL_API_KEY: "" },
    message: /Invalid "apiKey" in cloud config file .*: expected a string in double quotes, got a number/,
  },
  {
    name: "localASN is a string",
    file: JSON.stringify({ localASN: "65000" }),
    message: /Invalid "localASN" in cloud config file .*: expected a whole number without quotes/,
  },
  {
    name: "localASN out of range",
    file: JSON.stringify({ localASN: 4294967296 }),
    message: /Invalid "localASN" in cloud config file .*4294967296/,
  },
  { name: "base-url not a URL", file: JSON.stringify({ "base-url": "not a url" }), message: /"base-url"/ },
  {
    name: "eipHealthCheckUseHostIP not a boolean",
    file: JSON.stringify({ eipHealthCheckUseHostIP: "yes" }),
    message: /Invalid "eipHealthCheckUseHostIP" in cloud config file .*: expected true or false/,
  },
  {
    name: "bgpNodeSelector unparsable",
    file: JSON.stringify({ bgpNodeSelector: "role in (edge" }),
    message: /"bgpNodeSelector"/,
  },
  {
    name: "METAL_LOCAL_ASN not a number",
    env: { METAL_LOCAL_ASN: "sixty-five" },
    message: /METAL_LOCAL_ASN/,
  },
  {
    name: "METAL_API_SERVER_PORT out of range",
    env: { METAL_API_SERVER_PORT: "70000" },
    message: /METAL_API_SERVER_PORT/,
  },
  {
    name: "METAL_EIP_HEALTH_CHECK_USE_HOST_IP not a bool",
    env: { METAL_EIP_HEALTH_CHECK_USE_HOST_IP: "maybe" },
    message: /METAL_EIP_HEALTH_CHECK_USE_HOST_IP/,
  },
  {
    name: "METAL_CONTROL_PLANE_CHECK_PERIOD zero",
    env: { METAL_CONTROL_PLANE_CHECK_PERIOD: "0" },
    message: /METAL_CONTROL_PLANE_CHECK_PERIOD/,
  },
  { name: "METAL_BASE_URL relative", env: { METAL_BASE_URL: "/metal/v1" }, message: /METAL_BASE_URL/ },
  {
    name: "METAL_API_KEY_FILE missing",
    env: { METAL_API_KEY: "", METAL_API_KEY_FILE: "/nonexistent/key" },
    message: /Cannot read METAL_API_KEY_FILE '\/nonexistent\/key'/,
  },
  {
    name: "METAL_API_KEY and METAL_API_KEY_FILE both set",
    env: { METAL_API_KEY_FILE: "/etc/hostname" },
    message: /Conflicting METAL_API_KEY and METAL_API_KEY_FILE/,
  },
  { name: "no project", env: { METAL_PROJECT_ID: "" }, message: /Missing project ID: set METAL_PROJECT_ID/ },
  // Malformed METAL_LOAD_BALANCER strings.
  ...[
    ["metallb", /not of the form '<type>:\/\/\.\.\.'/],
    ["metallb:///ns?crdConfiguration", /'crdConfiguration' must be 'true' or 'false', not ''/],
    ["metallb://metallb-system/config", /host position/],
    ["metallb:///metallb-system?crdConfiguration=yes", /'crdConfiguration' must be 'true' or 'false'/],
    ["metallb:///Bad_Namespace", /not a valid Kubernetes namespace name/],
    ["metallb:///名前空間/設定", /METAL_LOAD_BALANCER/],
    ["metallb:///ns/a/b", /not a valid Kubernetes object name/],
    ["emlb:///", /needs a metro code/],
    ["emlb:///da/x", /not a metro code/],
    ["emlb:///%zz", /'%zz' is not a metro code/],
    ["packet://", /unknown load balancer type 'packet'/],
    [`metallb:///${"n".repeat(10_000)}`, /METAL_LOAD_BALANCER/],
  ].map(([value, message]) => ({
    name: `METAL_LOAD_BALANCER ${JSON.stringify(String(value).slice(0, 40))}`,
    env: { METAL_LOAD_BALANCER: value as string },
    message: message as RegExp,
  })),
];

async function ccmRun(c: Case, dir: string): Promise<{ code: number; output: string }> {
  const env: Record<string, string> = { NO_COLOR: "1", ...BASE_ENV, ...c.env };
  for (const key of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(key);
    if (value !== undefined) env[key] = value;
  }
  const args = ["run", "--allow-all", "--quiet", "main.ts", "run", "--kubeconfig=/nonexistent/kubeconfig"];
  if (c.file !== undefined) {
    const path = `${dir}/${c.name.replaceAll(/[^a-z0-9]+/gi, "-")}-cloud-sa.json`;
    await Deno.writeTextFile(path, c.file);
    args.push(`--cloud-config=${path}`);
  }
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT, env, clearEnv: true }).output();
  const text = new TextDecoder();
  return { code: out.code, output: text.decode(out.stdout) + text.decode(out.stderr) };
}

Deno.test("bad configuration: ccm run exits 1 with one fatal line naming the field, and no secret", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ccm-bad-config-" });
  try {
    const failures: string[] = [];
    // A few processes at a time: each is a Deno start-up.
    for (let i = 0; i < CASES.length; i += 4) {
      await Promise.all(
        CASES.slice(i, i + 4).map(async (c) => {
          const { code, output } = await ccmRun(c, dir);
          const fatal = output.trim().split("\n").filter((l) => l.includes('"level":"fatal"'));
          const err = fatal.length === 1 ? String(JSON.parse(fatal[0]!).err) : "";
          const problems = [
            code !== 1 ? `exit code ${code}` : "",
            fatal.length !== 1 ? `${fatal.length} fatal lines` : "",
            !err.startsWith("Cannot start cloud provider 'equinixmetal': ")
              ? "not a configuration error"
              : "",
            !c.message.test(err) ? `fatal line does not match ${c.message}` : "",
            /Starting controller|Waiting to acquire/.test(output) ? "went on to start" : "",
            leakedLines(output).length > 0 ? "a secret in the output" : "",
          ].filter(Boolean);
          if (problems.length > 0) failures.push(`${c.name}: ${problems.join(", ")}\n${output.slice(-600)}`);
        }),
      );
    }
    assert.deepEqual(failures, []);
    report("bad-config", { cases: CASES.length });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
