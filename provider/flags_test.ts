import { deepEqual, equal, match, throws } from "node:assert/strict";
import { Command } from "commander";
import { RUN_FLAGS } from "./flag_table.ts";
import { addRunFlags, FlagError, parseFlagValue, parseRunFlags, resolveControllers } from "./flags.ts";
import type { RunOptions } from "./options.ts";
import { errorMessage } from "../util/errors.ts";

function fails(args: string[], pattern: RegExp): void {
  throws(() => parseRunFlags(args), (err: unknown) => {
    equal(err instanceof FlagError, true, String(err));
    match(errorMessage(err), pattern);
    return true;
  });
}

Deno.test("parseRunFlags() gives upstream defaults when no flag is set", () => {
  const want: RunOptions = {
    cloudProvider: "equinixmetal",
    cloudConfig: "",
    kubeconfig: "",
    master: "",
    clusterName: "kubernetes",
    controllers: [
      "cloud-node-controller",
      "cloud-node-lifecycle-controller",
      "service-lb-controller",
      "node-route-controller",
    ],
    minResyncPeriodMs: 12 * 3600_000,
    kubeApiQps: 20,
    kubeApiBurst: 30,
    nodeMonitorPeriodMs: 5_000,
    nodeStatusUpdateFrequencyMs: 300_000,
    concurrentNodeSyncs: 1,
    concurrentNodeStatusUpdates: 0,
    concurrentServiceSyncs: 1,
    leaderElect: true,
    leaderElectLeaseDurationMs: 15_000,
    leaderElectRenewDeadlineMs: 10_000,
    leaderElectRetryPeriodMs: 2_000,
    leaderElectResourceLock: "leases",
    leaderElectResourceName: "cloud-controller-manager",
    leaderElectResourceNamespace: "kube-system",
    bindAddress: "0.0.0.0",
    securePort: 10258,
    tlsCertFile: "",
    tlsPrivateKeyFile: "",
    verbosity: 0,
    loggingFormat: "json",
    ignoredFlags: [],
  };
  deepEqual(parseRunFlags([]), want);
});

Deno.test("parseRunFlags() returns a frozen object", () => {
  const options = parseRunFlags([]);
  equal(Object.isFrozen(options), true);
  equal(Object.isFrozen(options.controllers), true);
  equal(Object.isFrozen(options.ignoredFlags), true);
});

const LEADER_ELECT: [string[], boolean][] = [
  [["--leader-elect=false"], false],
  [["--leader-elect"], true],
  [["--leader-elect=true"], true],
  [["--leader-elect=0"], false],
  [["--leader-elect=F"], false],
  [["--leader-elect=FALSE"], false],
  [["--leader-elect=False"], false],
  [["--leader-elect=1"], true],
  [["--leader-elect=T"], true],
  [["--leader-elect", "false"], false],
  [["--leader-elect", "--v=2"], true],
  [["--leader-elect=false", "--leader-elect"], true],
];

for (const [args, want] of LEADER_ELECT) {
  Deno.test(`parseRunFlags() reads ${args.join(" ")} as leaderElect=${want}`, () => {
    equal(parseRunFlags(args).leaderElect, want);
  });
}

Deno.test("parseRunFlags() rejects a bool flag with a non-Go-bool value", () => {
  fails(
    ["--leader-elect=yes"],
    /'--leader-elect \[bool\]' argument 'yes' is invalid. Expected 'true' or 'false'/,
  );
  fails(["--leader-elect=False "], /Expected 'true' or 'false'/);
});

Deno.test("parseRunFlags() reads Go durations into milliseconds", () => {
  const options = parseRunFlags([
    "--node-monitor-period=1m30s",
    "--node-status-update-frequency",
    "300ms",
    "--min-resync-period=1.5h",
    "--leader-elect-lease-duration=30s",
    "--leader-elect-renew-deadline=20s",
    "--leader-elect-retry-period=2500ms",
  ]);
  equal(options.nodeMonitorPeriodMs, 90_000);
  equal(options.nodeStatusUpdateFrequencyMs, 300);
  equal(options.minResyncPeriodMs, 5_400_000);
  equal(options.leaderElectLeaseDurationMs, 30_000);
  equal(options.leaderElectRenewDeadlineMs, 20_000);
  equal(options.leaderElectRetryPeriodMs, 2_500);
});

Deno.test("parseRunFlags() rejects a duration without unit, naming flag and value", () => {
  fails(["--node-monitor-period=5"], /'--node-monitor-period <duration>' argument '5' is invalid.*'1m30s'/);
});

Deno.test("parseRunFlags() reads -v and --v in all pflag spellings", () => {
  for (
    const [args, want] of [[["-v=2"], 2], [["-v", "3"], 3], [["-v4"], 4], [["--v=5"], 5], [
      ["--v", "6"],
      6,
    ]] as const
  ) {
    equal(parseRunFlags([...args]).verbosity, want, args.join(" "));
  }
  fails(["-v=x"], /argument '=x' is invalid. Expected a whole number/);
  fails(["--v=-1"], /Invalid value for '--v': '-1' must be at least 0/);
});

Deno.test("parseRunFlags() reads the logging format, numbers and strings", () => {
  const options = parseRunFlags([
    "--logging-format=text",
    "--kube-api-qps=2.5",
    "--kube-api-burst=7",
    "--concurrent-service-syncs=4",
    "--concurrent-node-syncs=3",
    "--concurrent-node-status-updates=2",
    "--secure-port=0",
    "--bind-address=::1",
    "--cluster-name=prod",
    "--kubeconfig=/etc/kubernetes/ccm.conf",
    "--master=https://127.0.0.1:6443",
    "--tls-cert-file=/tls/crt",
    "--tls-private-key-file=/tls/key",
    "--leader-elect-resource-name=ccm",
    "--leader-elect-resource-namespace=ccm-system",
  ]);
  equal(options.loggingFormat, "text");
  equal(options.kubeApiQps, 2.5);
  equal(options.kubeApiBurst, 7);
  equal(options.concurrentServiceSyncs, 4);
  equal(options.concurrentNodeSyncs, 3);
  equal(options.concurrentNodeStatusUpdates, 2);
  equal(options.securePort, 0);
  equal(options.bindAddress, "::1");
  equal(options.clusterName, "prod");
  equal(options.kubeconfig, "/etc/kubernetes/ccm.conf");
  equal(options.master, "https://127.0.0.1:6443");
  equal(options.tlsCertFile, "/tls/crt");
  equal(options.tlsPrivateKeyFile, "/tls/key");
  equal(options.leaderElectResourceName, "ccm");
  equal(options.leaderElectResourceNamespace, "ccm-system");
  fails(["--logging-format=xml"], /argument 'xml' is invalid. Use one of 'json', 'text'/);
  fails(["--leader-elect-resource-lock=endpoints"], /argument 'endpoints' is invalid. Use one of 'leases'/);
  fails(["--kube-api-qps=fast"], /'--kube-api-qps <float>' argument 'fast' is invalid/);
  fails(
    ["--kube-api-burst=1.5"],
    /'--kube-api-burst <int>' argument '1.5' is invalid. Expected a whole number/,
  );
});

Deno.test("parseRunFlags() accepts the upstream manifest's arguments", () => {
  const options = parseRunFlags([
    "--cloud-provider=equinixmetal",
    "--leader-elect=true",
    "--authentication-skip-lookup=true",
    "--cloud-config=/etc/cloud-sa/cloud-sa.json",
  ]);
  equal(options.cloudProvider, "equinixmetal");
  equal(options.leaderElect, true);
  equal(options.cloudConfig, "/etc/cloud-sa/cloud-sa.json");
  deepEqual(options.ignoredFlags.map((f) => f.flag), ["--authentication-skip-lookup"]);
});

Deno.test("parseRunFlags() records each ignored flag that was set, with its reason", () => {
  const options = parseRunFlags([
    "--allow-untagged-cloud",
    "--profiling=false",
    "--route-reconciliation-period=1m",
  ]);
  deepEqual(options.ignoredFlags, [
    { flag: "--allow-untagged-cloud", reason: "deprecated upstream and without effect" },
    { flag: "--profiling", reason: "profiling endpoints are not served" },
    {
      flag: "--route-reconciliation-period",
      reason: "Equinix Metal has no cloud routes, so the route controller never runs",
    },
  ]);
  fails(["--profiling=maybe"], /'--profiling \[bool\]' argument 'maybe' is invalid/);
  fails(["--route-reconciliation-period=10"], /argument '10' is invalid/);
});

Deno.test("parseRunFlags() resolves --controllers with aliases, negation and repetition", () => {
  const all = ["cloud-node-controller", "cloud-node-lifecycle-controller", "service-lb-controller"];
  deepEqual(parseRunFlags(["--controllers=*,-route"]).controllers, all);
  deepEqual(parseRunFlags(["--controllers", "*, -node-route-controller"]).controllers, all);
  deepEqual(parseRunFlags(["--controllers=cloud-node,service"]).controllers, [
    "cloud-node-controller",
    "service-lb-controller",
  ]);
  deepEqual(parseRunFlags(["--controllers=cloud-node", "--controllers=service"]).controllers, [
    "cloud-node-controller",
    "service-lb-controller",
  ]);
  deepEqual(parseRunFlags(["--controllers=-service"]).controllers, []);
  deepEqual(parseRunFlags(["--controllers=service,-service"]).controllers, []);
  fails(["--controllers=*,bgp"], /'--controllers': 'bgp' is not a known controller; .*cloud-node-controller/);
});

Deno.test("resolveControllers() enables all with '*' only", () => {
  deepEqual(resolveControllers(["*"]).length, 4);
  deepEqual(resolveControllers([]), []);
});

Deno.test("parseRunFlags() rejects unknown flags and positional arguments", () => {
  fails(["--leader-elekt=false"], /unknown option '--leader-elekt=false'/);
  fails(["--cloud-provider=equinixmetal", "extra"], /too many arguments/);
});

const INCONSISTENT: [string[], RegExp][] = [
  [
    ["--leader-elect-renew-deadline=15s"],
    /'--leader-elect-renew-deadline': '15s' must be less than .* '15s'/,
  ],
  [["--leader-elect-retry-period=9s"], /'--leader-elect-retry-period': '9s' must be less than/],
  [["--node-monitor-period=0s"], /'--node-monitor-period': '0s' must be longer than 0s/],
  [["--node-status-update-frequency=-5m"], /'--node-status-update-frequency': '-5m0s' must be longer/],
  [["--concurrent-node-syncs=0"], /'--concurrent-node-syncs': '0' must be at least 1/],
  [["--concurrent-service-syncs=0"], /'--concurrent-service-syncs': '0' must be at least 1/],
  [["--concurrent-node-status-updates=-1"], /'--concurrent-node-status-updates': '-1' must be at least 0/],
  [["--kube-api-qps=0"], /'--kube-api-qps': '0' must be greater than 0/],
  [["--kube-api-burst=0"], /'--kube-api-burst': '0' must be at least 1/],
  [["--secure-port=70000"], /'--secure-port': '70000' must be between 0 and 65535/],
  [["--bind-address=localhost"], /'--bind-address': 'localhost' is not an IP address/],
  [["--bind-address=300.1.1.1"], /'--bind-address': '300.1.1.1' is not an IP address/],
  [["--tls-cert-file=/a"], /--tls-cert-file and --tls-private-key-file must be set together/],
];

for (const [args, pattern] of INCONSISTENT) {
  Deno.test(`parseRunFlags() rejects ${args.join(" ")}`, () => fails(args, pattern));
}

Deno.test("parseRunFlags() skips leader election timing checks when --leader-elect=false", () => {
  equal(parseRunFlags(["--leader-elect=false", "--leader-elect-renew-deadline=1m"]).leaderElect, false);
});

Deno.test("parseRunFlags() reports every inconsistency at once", () => {
  fails(["--concurrent-node-syncs=0", "--secure-port=-1"], /concurrent-node-syncs.*; .*secure-port/);
});

Deno.test("RUN_FLAGS has unique names, parsable defaults and one destination per option", () => {
  const names = RUN_FLAGS.map((spec) => spec.name);
  equal(new Set(names).size, names.length);
  const options = RUN_FLAGS.flatMap((spec) => (spec.option === undefined ? [] : [spec.option]));
  equal(new Set(options).size, options.length);
  for (const spec of RUN_FLAGS) {
    parseFlagValue(spec.kind, spec.default, spec.choices);
    equal((spec.option === undefined) !== (spec.ignored === undefined), true, spec.name);
  }
  // Every RunOptions field comes from the table, except the two computed ones.
  deepEqual(
    [...options, "ignoredFlags"].sort(),
    Object.keys(parseRunFlags([])).sort(),
  );
});

Deno.test("addRunFlags() help lists used flags with Go defaults and names every ignored flag", () => {
  const full = captureHelp();
  const [optionList = ""] = full.split("Accepted for compatibility");
  for (const spec of RUN_FLAGS) equal(full.includes(`--${spec.name}`), true, spec.name);
  match(full, /--leader-elect\[=true\|false\] +Start a leader election client.*\(default true\)/);
  match(full, /--node-status-update-frequency duration +.*\(default 5m0s\)/);
  match(full, /--min-resync-period duration +.*\(default 12h0m0s\)/);
  match(full, /-v, --v int +Log verbosity/);
  match(full, /Leader election flags:/);
  match(full, /Accepted for compatibility with upstream manifests and ignored/);
  equal(full.includes("preset"), false);
  // Ignored flags are named after the option list, not in it.
  for (const spec of RUN_FLAGS) {
    equal(new RegExp(`--${spec.name}[ []`).test(optionList), spec.ignored === undefined, spec.name);
  }
});

function captureHelp(): string {
  let out = "";
  const command = addRunFlags(new Command("run")).exitOverride().configureOutput({
    writeOut: (text) => (out += text),
    writeErr: (text) => (out += text),
  });
  try {
    command.parse(["--help"], { from: "user" });
  } catch {
    // exitOverride throws after printing help
  }
  return out;
}
