/**
 * `make demo`: the whole system on one machine — etcd and kube-apiserver, the simulated Equinix Metal API with
 * three control-plane devices, kwok as their kubelets, and `ccm run` against both — with a progress line for each thing ccm does, then
 * how to look around. Runs until Ctrl-C; `--timeout 2m` (or `DEMO_TIMEOUT=2m`) exits by itself instead: 0 once
 * everything was reached, 1 at the timeout. Every process and temporary file is gone on exit.
 *
 * It lives in test/ because it is built from the integration-test harness (test/harness) and its binaries.
 *
 * Usage: deno run --allow-all test/demo.ts [--timeout <duration>]
 *
 * @module
 */
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { parseDuration } from "../util/duration.ts";
import { changesIps, DemoProgress, type FakeRequest, type Reservation } from "./demo_progress.ts";
import {
  consoleUrl,
  DEMO_EIP_TAG,
  DEMO_HOSTNAMES,
  DEMO_PROJECT_ID,
  DEMO_SERVICE,
  type LocalSystem,
  startLocalSystem,
} from "./demo_system.ts";
import { errorMessage } from "../util/errors.ts";

const encoder = new TextEncoder();
const started = performance.now();

function say(line: string): void {
  const elapsed = ((performance.now() - started) / 1000).toFixed(1).padStart(5);
  Deno.stdout.writeSync(encoder.encode(`[${elapsed}s] ${line}\n`));
}

function print(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}

function durationArg(text: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new InvalidArgumentError("Expected a Go duration such as 90s or 2m.");
  }
}

/** Fetches what changed since the last poll and reports it. */
class Poller {
  readonly #system: LocalSystem;
  readonly #progress: DemoProgress;
  #since = 0;
  #logged = 0;
  /** Metal API requests the demo itself made (reservation lookups); they are in the log too. */
  #own = 0;

  constructor(system: LocalSystem, progress: DemoProgress) {
    this.#system = system;
    this.#progress = progress;
  }

  /** Metal API requests ccm has made so far. */
  get ccmRequests(): number {
    return this.#logged - this.#own;
  }

  async poll(): Promise<void> {
    const core = this.#system.cluster.clients.core;
    const nodes: V1Node[] = (await core.listNode()).items;
    const service: V1Service | undefined = await core.readNamespacedService(DEMO_SERVICE).catch(() =>
      undefined
    );
    const requests = await this.#requests();
    const reservations = requests.some(changesIps) ? await this.#reservations() : undefined;
    for (const line of this.#progress.observe({ nodes, service, requests, reservations })) say(line);
  }

  async #requests(): Promise<FakeRequest[]> {
    const res = await fetch(`${this.#system.fakeApiUrl}/_fake/requests?since=${this.#since}`);
    if (!res.ok) throw new Error(`GET /_fake/requests answered ${res.status}`);
    const { requests } = await res.json() as { requests: FakeRequest[] };
    this.#logged += requests.length;
    this.#since = Math.max(this.#since, ...requests.map((r) => r.seq));
    return requests;
  }

  async #reservations(): Promise<Reservation[]> {
    const env = this.#system.metalEnv;
    const url = `${env.METAL_BASE_URL}/projects/${DEMO_PROJECT_ID}/ips?include=assignments&per_page=100`;
    this.#own++;
    const res = await fetch(url, { headers: { "X-Auth-Token": env.METAL_API_KEY as string } });
    if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
    const body = await res.json() as { ip_addresses: Array<Reservation & { management?: boolean }> };
    return body.ip_addresses.filter((r) => !r.management);
  }
}

function usage(system: LocalSystem): string {
  const kubeconfig = system.cluster.kubeconfigPath;
  return `
Everything runs locally; nothing here reaches the internet.

  Kubernetes API   ${system.cluster.server}
    export KUBECONFIG=${kubeconfig}
    # then, if you have kubectl:
    kubectl get nodes -o wide
    kubectl get service ${DEMO_SERVICE.name} -o wide
    kubectl get events -A

  Simulated Metal  ${system.fakeApiUrl}
    console        ${consoleUrl(system.fakeApiUrl)}  (open it in a browser: devices, IPs, requests, faults)
    # METAL_API_KEY, METAL_PROJECT_ID, METAL_BASE_URL, ... (also what a second 'ccm run' needs):
    source ${system.dir}/metal.env
    curl -s -H "X-Auth-Token: $METAL_API_KEY" "$METAL_BASE_URL/projects/$METAL_PROJECT_ID/ips?include=assignments"
    # every Metal API call ccm made, and object counts:
    curl -s ${system.fakeApiUrl}/_fake/requests
    curl -s ${system.fakeApiUrl}/_fake/stats

  ccm              https://127.0.0.1:${system.ccmPort}/metrics (self-signed certificate: curl -k)
    log            ${system.ccm.logPath}
  Simulator log    ${system.fakeApi.logPath}

Press Ctrl-C to stop; every process and temporary file is removed.
`;
}

async function reportCcmExit(system: LocalSystem): Promise<void> {
  const { code } = await system.ccm.exited;
  say(`ccm run exited (code ${code}); the end of its log:\n${await system.ccm.logTail(30)}`);
}

/** Runs the demo; resolves with the exit code. */
async function runDemo(timeoutMs: number | undefined): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  let system: LocalSystem | undefined;
  try {
    say(
      "Starting etcd, kube-apiserver, kwok, the simulated Equinix Metal API and ccm" +
        (timeoutMs === undefined ? "" : ` (exits by itself within ${timeoutMs / 1000}s)`),
    );
    system = await startLocalSystem({ onStep: say });
    if (stop.signal.aborted) return 130;
    await system.registerNodes();
    say(
      `registered nodes ${
        DEMO_HOSTNAMES.join(", ")
      } as kubelets with --cloud-provider=external would (tainted; kwok plays the kubelets)`,
    );
    await system.createService();
    say(`created LoadBalancer Service ${DEMO_SERVICE.namespace}/${DEMO_SERVICE.name}`);

    const progress = new DemoProgress({ nodeNames: DEMO_HOSTNAMES, eipTag: DEMO_EIP_TAG });
    const poller = new Poller(system, progress);
    const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
    let hinted = false;
    while (!stop.signal.aborted) {
      if (system.ccm.hasExited) {
        await reportCcmExit(system);
        return 1;
      }
      await poller.poll().catch((err) => say(`poll failed: ${errorMessage(err)}`));
      if (progress.complete) break;
      if (performance.now() >= deadline) {
        say(`timed out waiting for: ${progress.missing().join("; ")} (see ${system.ccm.logPath})`);
        say(`the end of the ccm log:\n${await system.ccm.logTail(30)}`);
        return 1;
      }
      if (!hinted && performance.now() - started > 60_000) {
        hinted = true;
        say(`still waiting for: ${progress.missing().join("; ")}; ccm's log is ${system.ccm.logPath}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (stop.signal.aborted) return 130;
    const m = progress.milestones;
    say(`${poller.ccmRequests} Metal API requests by ccm so far`);
    say(`all nodes initialized, service has ingress ${m.serviceIngress}`);
    if (timeoutMs !== undefined) return 0;

    print(usage(system));
    const stopped = new Promise<"stopped">((resolve) =>
      stop.signal.addEventListener("abort", () => resolve("stopped"), { once: true })
    );
    if (await Promise.race([stopped, system.ccm.exited]) === "stopped") return 0;
    await reportCcmExit(system);
    return 1;
  } catch (err) {
    say(`failed: ${errorMessage(err)}`);
    return 1;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    if (system) {
      say("stopping ccm, the simulator, kwok, kube-apiserver and etcd");
      await system.stop();
      say("stopped; temporary files removed");
    }
  }
}

if (import.meta.main) {
  const program = new Command("demo")
    .description("Run kube-apiserver, the simulated Equinix Metal API and ccm on this machine")
    .option(
      "--timeout <duration>",
      "Exit by itself: 0 once everything was reached, 1 after this long",
      durationArg,
    )
    .exitOverride();
  try {
    program.parse(Deno.args, { from: "user" });
  } catch (err) {
    Deno.exit(err instanceof CommanderError && err.exitCode === 0 ? 0 : 2);
  }
  const envTimeout = Deno.env.get("DEMO_TIMEOUT");
  let timeoutMs: number | undefined = program.opts().timeout;
  if (timeoutMs === undefined && envTimeout) {
    try {
      timeoutMs = parseDuration(envTimeout);
    } catch {
      say(`DEMO_TIMEOUT '${envTimeout}' is not a Go duration; use for example 90s or 2m`);
      Deno.exit(2);
    }
  }
  Deno.exit(await runDemo(timeoutMs));
}
