/**
 * The `ccm fake-api` subcommand: serves the simulated Equinix Metal API until SIGINT/SIGTERM.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { Command, InvalidArgumentError, Option } from "commander";
import { parseDuration } from "../util/duration.ts";
import { configureLogging, type LogFormat } from "../util/log.ts";
// The simulator itself (./serve.ts, ./admin.ts, ./seed.ts) is imported when this subcommand runs, so that
// `ccm run` never loads it (a few MB of memory).
import type { FakeApiServer, ServeOptions } from "./serve.ts";
import { errorMessage } from "../util/errors.ts";

/** Parsed `fake-api` flags. */
export interface FakeApiFlags {
  listen: { hostname: string; port: number };
  /** Bearer token the admin API (`/_fake`) requires; needed to listen on a non-loopback address. */
  adminToken?: string;
  state?: string;
  seed?: string;
  provisionDelayMs: number;
  powerDelayMs?: number;
  latencyMs: number;
  errorRate: number;
  rateLimit: number;
  verbosity: number;
  loggingFormat: LogFormat;
  /** `--intercept`: also serve as an HTTPS proxy for api.equinix.com and friends (see intercept.ts). */
  intercept?: { listen: { hostname: string; port: number }; caCert?: string; caKey?: string };
}

/** Parses `HOST:PORT` (`[::1]:8080` for IPv6). */
export function parseListen(text: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new InvalidArgumentError(
      "Expected HOST:PORT, for example 127.0.0.1:8080 (port 0 picks a free one).",
    );
  }
  return { hostname: m[1] ?? (m[2] || "127.0.0.1"), port };
}

/** Shortest admin token accepted: guessing one must be hopeless. */
const ADMIN_TOKEN_MIN_LENGTH = 16;

function adminToken(text: string, pattern: RegExp): string {
  if (text.length < ADMIN_TOKEN_MIN_LENGTH || !pattern.test(text)) {
    throw new InvalidArgumentError(
      `Expected at least ${ADMIN_TOKEN_MIN_LENGTH} characters of letters, digits and '._~+/-', for example ` +
        "the output of 'openssl rand -hex 16'.",
    );
  }
  return text;
}

function duration(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError(`${errorMessage(err)}.`);
  }
}

function share(text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidArgumentError("Expected a share from 0 to 1, for example 0.05 for 5%.");
  }
  return value;
}

function nonNegativeInt(text: string): number {
  const clean = text.startsWith("=") ? text.slice(1) : text; // klog accepts -v=2
  if (!/^\d+$/.test(clean)) throw new InvalidArgumentError("Expected a whole number, for example 2.");
  return Number(clean);
}

/** Builds the `fake-api` subcommand. `serve` is replaceable for tests. */
export function fakeApiCommand(
  options: { serve?: (flags: FakeApiFlags) => Promise<void> } = {},
): Command {
  const command = new Command("fake-api")
    .description(
      "Serve a simulated Equinix Metal API (Metal v1, Load Balancer API and token exchange) for trying and " +
        "testing the CCM",
    )
    .usage("[flags]")
    .addOption(
      new Option(
        "--listen <host:port>",
        "Address to listen on; other than loopback only with --admin-token",
      ).default("127.0.0.1:8080"),
    )
    .addOption(
      new Option(
        "--admin-token <token>",
        "Require 'Authorization: Bearer <token>' on the admin API (/_fake)",
      ).env("FAKE_API_ADMIN_TOKEN"),
    )
    .addOption(
      new Option(
        "--state <file>",
        "Keep state in this JSON file; every change is written before it is acknowledged",
      ),
    )
    .addOption(
      new Option("--seed <file>", "Start from this JSON seed (projects, api_keys, devices, reservations)"),
    )
    .addOption(
      new Option(
        "--provision-delay <duration>",
        "Time from queued to active for new devices (0s: active at once)",
      )
        .default("0s"),
    )
    .addOption(
      new Option(
        "--power-delay <duration>",
        "Time for power on/off (default 2s, or 0s with --provision-delay 0s)",
      ),
    )
    .addOption(new Option("--latency <duration>", "Added latency per API request").default("0s"))
    .addOption(
      new Option("--error-rate <share>", "Share of API requests answered with a simulated 500 (0-1)").default(
        "0",
      ),
    )
    .addOption(
      new Option("--rate-limit <n>", "API requests per second before 429 (0: unlimited)").default("0"),
    )
    .addOption(new Option("-v, --v <level>", "Log verbosity; 2 logs every request").default("0"))
    .addOption(
      new Option("--logging-format <format>", "Log format").choices(["json", "text"]).default("json"),
    )
    .addOption(
      new Option(
        "--intercept",
        "Also serve as an HTTPS proxy for api.equinix.com, lb.metalctrl.io and iam.metalctrl.io (prints HTTPS_PROXY and SSL_CERT_FILE)",
      ),
    )
    .addOption(
      new Option(
        "--intercept-listen <host:port>",
        "Proxy address for --intercept; other than loopback only with --admin-token",
      ).default("127.0.0.1:8443"),
    )
    .addOption(
      new Option("--ca-cert <file>", "CA certificate (PEM) --intercept signs with; default: a new one"),
    )
    .addOption(new Option("--ca-key <file>", "Private key (PEM) of --ca-cert"))
    .action(async () => {
      const o = command.opts();
      const [{ ADMIN_TOKEN_PATTERN }, { adminExposureProblem }] = await Promise.all([
        import("./admin.ts"),
        import("./serve.ts"),
      ]);
      let flags: FakeApiFlags;
      try {
        const listen = parseListen(o.listen);
        const token = o.adminToken === undefined ? undefined : adminToken(o.adminToken, ADMIN_TOKEN_PATTERN);
        const exposure = adminExposureProblem(listen.hostname, token);
        if (exposure !== undefined) throw new InvalidArgumentError(exposure);
        const interceptListen = parseListen(o.interceptListen);
        if (o.intercept) {
          const proxyExposure = adminExposureProblem(interceptListen.hostname, token);
          if (proxyExposure !== undefined) {
            throw new InvalidArgumentError(`--intercept-listen: ${proxyExposure}`);
          }
          if ((o.caCert === undefined) !== (o.caKey === undefined)) {
            throw new InvalidArgumentError("--ca-cert and --ca-key go together; pass both or neither");
          }
        }
        flags = {
          listen,
          adminToken: token,
          state: o.state,
          seed: o.seed,
          provisionDelayMs: duration(o.provisionDelay),
          powerDelayMs: o.powerDelay === undefined ? undefined : duration(o.powerDelay),
          latencyMs: duration(o.latency),
          errorRate: share(o.errorRate),
          rateLimit: nonNegativeInt(o.rateLimit),
          verbosity: nonNegativeInt(o.v),
          loggingFormat: o.loggingFormat,
          ...(o.intercept
            ? { intercept: { listen: interceptListen, caCert: o.caCert, caKey: o.caKey } }
            : {}),
        };
      } catch (err) {
        command.error(`error: ${errorMessage(err)}`, { exitCode: 2, code: "ccm.flags" });
      }
      await (options.serve ?? runFakeApi)(flags!);
    });
  return command;
}

/** Runs the simulator with parsed flags until SIGINT/SIGTERM, printing the `export` lines to stdout. */
export async function runFakeApi(flags: FakeApiFlags): Promise<void> {
  const [{ serveFakeApi, exportLines }, { loadSeedFile }] = await Promise.all([
    import("./serve.ts"),
    import("./seed.ts"),
  ]);
  await configureLogging({ verbosity: flags.verbosity, format: flags.loggingFormat });
  const serveOptions: ServeOptions = {
    hostname: flags.listen.hostname,
    port: flags.listen.port,
    adminToken: flags.adminToken,
    stateFile: flags.state,
    seed: flags.seed ? await loadSeedFile(flags.seed) : undefined,
    provisionDelayMs: flags.provisionDelayMs,
    powerDelayMs: flags.powerDelayMs,
    faults: { latencyMs: flags.latencyMs, errorRate: flags.errorRate, rateLimit: flags.rateLimit },
    verbosity: flags.verbosity,
  };
  // The CA is read (or made) before the simulator listens, so a bad --ca-cert fails before anything serves.
  const tls = flags.intercept ? await interceptCertificates(flags.intercept) : undefined;
  const server = await serveFakeApi(serveOptions);
  const env = { ...server.env };
  let proxy: { close(): Promise<void> } | undefined;
  if (flags.intercept && tls) {
    const { startInterceptProxy } = await import("./intercept.ts");
    const started = startInterceptProxy({
      handler: (request) => server.api.app.fetch(request),
      leaf: tls.leaf,
      hostname: flags.intercept.listen.hostname,
      port: flags.intercept.listen.port,
    });
    proxy = started;
    env.HTTPS_PROXY = started.url;
    env.SSL_CERT_FILE = tls.caFile;
    // The metal CLI and the SDK examples read the key from METAL_AUTH_TOKEN.
    if (env.METAL_API_KEY !== undefined) env.METAL_AUTH_TOKEN = env.METAL_API_KEY;
  }
  Deno.stdout.writeSync(new TextEncoder().encode(exportLines(env)));
  try {
    await untilSignal(server);
  } finally {
    await proxy?.close();
    if (tls?.tempDir) await Deno.remove(tls.tempDir, { recursive: true }).catch(() => {});
  }
}

/**
 * The CA file clients trust and the leaf certificate of the intercepted hosts: from --ca-cert/--ca-key, or a
 * throwaway CA written to a temporary directory that is removed on exit.
 */
async function interceptCertificates(
  o: NonNullable<FakeApiFlags["intercept"]>,
): Promise<{ caFile: string; tempDir?: string; leaf: { cert: string; key: string } }> {
  const [{ INTERCEPT_HOSTS }, { generateCa, generateLeaf }] = await Promise.all([
    import("./intercept.ts"),
    import("./tls_ca.ts"),
  ]);
  if (o.caCert !== undefined && o.caKey !== undefined) {
    const ca = { cert: await readPem("--ca-cert", o.caCert), key: await readPem("--ca-key", o.caKey) };
    let leaf;
    try {
      leaf = await generateLeaf(ca, Object.keys(INTERCEPT_HOSTS));
    } catch (err) {
      throw new Error(`--ca-cert/--ca-key: cannot sign with this CA: ${errorMessage(err)}`);
    }
    return { caFile: o.caCert, leaf };
  }
  const ca = await generateCa();
  const tempDir = await Deno.makeTempDir({ prefix: "ccm-fake-api-ca-" });
  const caFile = `${tempDir}/ca.pem`;
  await Deno.writeTextFile(caFile, ca.cert);
  return { caFile, tempDir, leaf: await generateLeaf(ca, Object.keys(INTERCEPT_HOSTS)) };
}

/** Reads a PEM file named by a flag; a missing or non-PEM file is an error naming the flag. */
async function readPem(flag: string, file: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    throw new Error(`${flag}: cannot read '${file}': ${errorMessage(err)}`);
  }
  if (!text.includes("-----BEGIN ")) {
    throw new Error(`${flag}: '${file}' is not a PEM file (no "-----BEGIN" line)`);
  }
  return text;
}

async function untilSignal(server: FakeApiServer): Promise<void> {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const stop = () => {
    getLogger(["fake-api"]).info("Stopping on signal");
    server.shutdown();
  };
  for (const s of signals) Deno.addSignalListener(s, stop);
  try {
    await server.finished;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
  }
  getLogger(["fake-api"]).info("Stopped");
}
