import { deepEqual, equal, match, rejects } from "node:assert/strict";
import { getLogger, reset } from "@logtape/logtape";
import "../metal/mod.ts";
import { runController, type RunControllerDeps, type StartControllersContext } from "./app.ts";
import type { CloudProvider } from "./cloud.ts";
import { ConfigError } from "./errors.ts";
import { parseRunFlags } from "./flags.ts";
import { forgetSecretsForTesting, MASK } from "../util/log.ts";
import { registerCloudProvider, unregisterCloudProvider } from "./registry.ts";

interface Run {
  lines: string[];
  records: Record<string, unknown>[];
  started: StartControllersContext[];
}

async function run(args: string[], deps: RunControllerDeps = {}): Promise<Run> {
  const lines: string[] = [];
  const started: StartControllersContext[] = [];
  try {
    await runController(parseRunFlags(args), {
      env: { METAL_API_KEY: "test-key", METAL_PROJECT_ID: "test-project" },
      readTextFile: (path) => Promise.reject(new Deno.errors.NotFound(`No such file: '${path}'`)),
      startControllers: (ctx) => {
        started.push(ctx);
        return Promise.resolve();
      },
      ...deps,
      logWrite: (line) => lines.push(line),
    });
  } finally {
    await reset();
  }
  return { lines, records: lines.map((line) => JSON.parse(line)), started };
}

async function runFails(args: string[], deps: RunControllerDeps, pattern: RegExp): Promise<string[]> {
  const lines: string[] = [];
  await rejects(run(args, { ...deps, logWrite: (line) => lines.push(line) }), (err: unknown) => {
    match((err as Error).message, pattern);
    return true;
  });
  return lines;
}

Deno.test("runController() logs the version and options, builds the provider and starts the controllers", async () => {
  const { records, started } = await run(["--leader-elect=false", "-v=2"]);
  equal(records[0]?.msg, "Starting cloud controller manager");
  equal(typeof records[0]?.version, "string");
  equal((records[0]?.options as Record<string, unknown>).leaderElect, false);
  equal(records.some((r) => r.msg === "Loaded Equinix Metal configuration"), true);
  equal(records.at(-1)?.msg, "Created cloud provider equinixmetal");
  equal(started.length, 1);
  equal(started[0]?.provider.providerName, "equinixmetal");
  equal(started[0]?.options.verbosity, 2);
});

Deno.test("runController() logs one line per ignored flag", async () => {
  const { records } = await run(["--authentication-skip-lookup=true", "--allow-untagged-cloud"]);
  const ignored = records.filter((r) => String(r.msg).startsWith("Ignored flag"));
  deepEqual(ignored.map((r) => r.flag), ["--allow-untagged-cloud", "--authentication-skip-lookup"]);
  match(String(ignored[0]?.msg), /^Ignored flag --allow-untagged-cloud: deprecated upstream/);
});

Deno.test("runController() with an unknown --cloud-provider lists the registered providers", async () => {
  await runFails(
    ["--cloud-provider=aws"],
    {},
    /^Cannot use cloud provider 'aws': it is not registered; registered providers: 'equinixmetal'$/,
  );
});

Deno.test("runController() lists every registered provider when the name is unknown", async () => {
  const other = (): CloudProvider => {
    throw new Error("not used");
  };
  registerCloudProvider("acme", other);
  try {
    await runFails(["--cloud-provider=packet"], {}, /registered providers: 'acme', 'equinixmetal'$/);
  } finally {
    unregisterCloudProvider("acme");
  }
});

Deno.test("runController() names an unreadable --cloud-config file", async () => {
  await runFails(
    ["--cloud-config=/etc/cloud-sa/cloud-sa.json"],
    {},
    /^Cannot read --cloud-config file '\/etc\/cloud-sa\/cloud-sa.json': No such file.*Secret holding it is mounted$/,
  );
});

Deno.test("runController() rejects missing credentials before starting anything, naming METAL_API_KEY", async () => {
  let started = false;
  const deps: RunControllerDeps = {
    env: {},
    startControllers: () => {
      started = true;
      return Promise.resolve();
    },
  };
  await rejects(run([], deps), (err: unknown) => {
    equal(err instanceof ConfigError, true);
    match(
      (err as Error).message,
      /^Cannot start cloud provider 'equinixmetal': Missing API key: set METAL_API_KEY/,
    );
    return true;
  });
  equal(started, false);
});

Deno.test("runController() passes the --cloud-config contents and path to the provider", async () => {
  const files: Record<string, string> = {
    "/etc/cloud-sa/cloud-sa.json": '{"apiKey":"file-key","projectID":"file-project","metro":"da"}',
  };
  const { records } = await run(["--cloud-config=/etc/cloud-sa/cloud-sa.json"], {
    env: {},
    readTextFile: (path) => Promise.resolve(files[path] ?? ""),
  });
  const config = records.find((r) => r.msg === "Loaded Equinix Metal configuration")?.config as Record<
    string,
    unknown
  >;
  equal(config.projectId, "file-project");
  equal(config.metro, "da");
});

Deno.test("runController() never lets a secret reach the startup log", async () => {
  const apiKey = "sk-live-9f8e7d6c5b4a";
  const bgpPass = "bgp-pass-from-file-0042";
  const fileKey = "sk-from-cloud-sa-1234";
  const bgpFile = await Deno.makeTempFile();
  await Deno.writeTextFile(bgpFile, `${bgpPass}\n`);
  try {
    const { lines, records } = await run(["--cloud-config=/cloud-sa.json", "-v=10"], {
      env: { METAL_API_KEY: apiKey, METAL_PROJECT_ID: "p", METAL_BGP_PASS_FILE: bgpFile },
      readTextFile: () => Promise.resolve(JSON.stringify({ apiKey: fileKey, bgpPass: "unused" })),
      startControllers: (ctx) => {
        // Whatever later code logs, the values stay masked.
        getLogger(["ccm", "test"]).info(`Connected with ${apiKey}`, { header: `X-Auth-Token: ${apiKey}` });
        getLogger(["ccm", "test"]).debug("Peer {pass}", { pass: bgpPass, provider: ctx.provider });
        return Promise.resolve();
      },
    });
    const text = lines.join("");
    for (const secret of [apiKey, bgpPass, fileKey]) {
      equal(text.includes(secret), false, `${secret} leaked: ${text}`);
    }
    const config = records.find((r) => r.msg === "Loaded Equinix Metal configuration")?.config as Record<
      string,
      unknown
    >;
    equal(config.apiKey, MASK);
    equal(config.bgpPass, MASK);
    equal(records.filter((r) => r.msg === "Loaded Equinix Metal configuration").length, 1);
  } finally {
    forgetSecretsForTesting();
    await Deno.remove(bgpFile);
  }
});

Deno.test("runController() starts the framework and fails clearly on an unreadable kubeconfig", async () => {
  await runFails(
    ["--kubeconfig=/nonexistent/kubeconfig"],
    { startControllers: undefined },
    /\/nonexistent\/kubeconfig/,
  );
});

Deno.test("runController() writes text logs with --logging-format=text", async () => {
  const lines: string[] = [];
  try {
    await runController(parseRunFlags(["--logging-format=text"]), {
      env: { METAL_API_KEY: "k", METAL_PROJECT_ID: "p" },
      startControllers: () => Promise.resolve(),
      logWrite: (line) => lines.push(line),
    });
  } finally {
    await reset();
  }
  match(lines[0] as string, /^I\d{4} [\d:.]+ ccm\.app\] "Starting cloud controller manager" version=/);
});
