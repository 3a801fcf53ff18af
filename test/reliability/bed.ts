/**
 * Shared pieces of the reliability suite (`test/reliability/*_test.ts`): the soak switch and the seed, the
 * recognizable secrets every scenario runs with, and {@linkcode Bed} — the load balancer test bed of
 * `test/loadbalancer_system.ts` (real kube-apiserver, real `ccm fake-api`, `ccm run` processes) plus HTTPS
 * metrics, the simulator's faults and request log, devices and nodes coming and going, and the leak check.
 *
 * @module
 */
import type { RequestLogEntry } from "../../fake_api/request_log.ts";
import type { JsonEvent } from "../../provider/kube/json_types.ts";
import { selfSignedCertificate } from "../../provider/server.ts";
import { createNode, type TestCluster, UNINITIALIZED_TAINT, waitFor } from "../harness/mod.ts";
import { freePort, type ManagedProcess } from "../harness/process.ts";
import {
  type LbSystem,
  type LbSystemOptions,
  PROJECT_ID,
  serviceHash,
  startLbSystem,
} from "../loadbalancer_system.ts";
import { errorMessage } from "../../util/errors.ts";

/** `CCM_SOAK=1` runs the long variants. */
export const SOAK = Deno.env.get("CCM_SOAK") === "1";
/** Seed of every random choice; override with `CCM_TEST_SEED` to reproduce a failure. */
export const SEED = Number(Deno.env.get("CCM_TEST_SEED") ?? "20260630");
/** A Metal API key no log line, Event, metric or request log may ever show. */
export const SECRET_API_KEY = "RELIABILITY-api-key-7Qx2Vn9Lm4Kp";
/** A BGP password (the API's rule: 10–20 letters and digits) with the same rule. */
export const SECRET_BGP_PASS = "RelBgpPass7x9q";
/** User-Agent prefix of the CCM's Metal API requests. */
export const CCM_USER_AGENT = "cloud-provider-equinix-metal/";

/** One request of the simulator's request log (`GET /_fake/requests`). */
export type LoggedRequest = RequestLogEntry;

/** Simulator fault settings (`PUT /_fake/faults`). */
export interface FaultSettings {
  latencyMs?: number;
  errorRate?: number;
  rateLimit?: number;
}

/** A `ccm run` process serving HTTPS on `port`. */
export interface Ccm {
  readonly name: string;
  readonly process: ManagedProcess;
  readonly port: number;
}

/** What {@linkcode Bed.assertNoSecrets} looked through, so a test can show the check was not vacuous. */
export interface LeakScan {
  logLines: number;
  events: number;
  requests: number;
  metricLines: number;
}

/** The forms in which a secret could leak: as is, and base64 (node annotations carry the password so). */
export function secretForms(): string[] {
  return [SECRET_API_KEY, SECRET_BGP_PASS, btoa(SECRET_API_KEY), btoa(SECRET_BGP_PASS)];
}

/** Lines of `text` that contain any secret form. */
export function leakedLines(text: string): string[] {
  const needles = secretForms();
  return text.split("\n").filter((line) => needles.some((n) => line.includes(n)));
}

/** A Service a scenario made, and what it should have now. */
export interface TrackedService {
  name: string;
  /** `lb`: a LoadBalancer Service; `clusterip`: switched away from LoadBalancer; `deleted`: gone. */
  state: "lb" | "clusterip" | "deleted";
}

const USAGE = "usage=cloud-provider-equinix-metal-auto";
const FINALIZER = "service.kubernetes.io/load-balancer-cleanup";

/**
 * What is not (yet) as it should be for these Services of `namespace` — an empty list once converged: each
 * LoadBalancer Service holds exactly one tagged elastic IP, shows it as its ingress and carries the cleanup
 * finalizer; the others hold none and carry no finalizer; deleted ones are gone; and the project holds no
 * other reservation of ours.
 */
export async function eipProblems(
  system: LbSystem,
  namespace: string,
  services: readonly TrackedService[],
): Promise<string[]> {
  const out: string[] = [];
  const ours = (await system.reservations()).filter((r) => r.tags.includes(USAGE));
  for (const s of services) {
    const tag = `service=${await serviceHash(namespace, s.name)}`;
    const mine = ours.filter((r) => r.tags.includes(tag));
    const svc = await system.service(namespace, s.name);
    const ingress = (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip);
    const finalized = (svc?.metadata?.finalizers ?? []).includes(FINALIZER);
    if (s.state === "deleted") {
      if (svc !== undefined) out.push(`${s.name}: not deleted (finalizers ${svc.metadata?.finalizers})`);
      if (mine.length > 0) out.push(`${s.name}: deleted but holds ${mine.length} reservations`);
    } else if (s.state === "clusterip") {
      if (mine.length > 0) out.push(`${s.name}: ClusterIP but holds ${mine.length} reservations`);
      if (finalized || ingress.length > 0) out.push(`${s.name}: ClusterIP with finalizer or ingress`);
    } else if (mine.length !== 1) {
      out.push(`${s.name}: ${mine.length} reservations`);
    } else if (ingress.length !== 1 || ingress[0] !== mine[0]!.address || !finalized) {
      out.push(
        `${s.name}: ingress ${JSON.stringify(ingress)}, finalizer ${finalized}, EIP ${mine[0]!.address}`,
      );
    }
  }
  const live = services.filter((s) => s.state === "lb").length;
  if (ours.length !== live) out.push(`${ours.length} tagged reservations for ${live} LoadBalancer Services`);
  return out;
}

/** Waits (up to `timeoutMs`) for {@linkcode eipProblems} to be empty; the error lists what is left. */
export async function waitConverged(
  bed: Bed,
  namespace: string,
  services: readonly TrackedService[],
  timeoutMs: number,
  extra: () => Promise<string[]> = () => Promise.resolve([]),
): Promise<number> {
  const started = Date.now();
  let last: string[] = [];
  await waitFor(async () => {
    last = [...await eipProblems(bed.system, namespace, services), ...await extra()];
    return last.length === 0;
  }, { timeoutMs, intervalMs: 500, message: "convergence" }).catch(async (err) => {
    throw new Error(`${errorMessage(err)}: ${last.join("; ")}\n${await bed.logTails()}`);
  });
  return Date.now() - started;
}

/** Polls the Node list and remembers when each Node disappeared. */
export class NodeWatcher {
  readonly seen = new Set<string>();
  readonly gone = new Map<string, number>();
  readonly #cluster: TestCluster;
  #timer: ReturnType<typeof setInterval> | undefined;
  #last: Promise<void> = Promise.resolve();

  constructor(cluster: TestCluster, intervalMs = 250) {
    this.#cluster = cluster;
    this.#timer = setInterval(() => {
      this.#last = this.#last.then(() => this.#poll()).catch(() => {
        // the API server may be restarting; try again next tick
      });
    }, intervalMs);
  }

  async #poll(): Promise<void> {
    const names = new Set(
      (await this.#cluster.clients.core.listNode()).items.map((n) => n.metadata?.name ?? ""),
    );
    const now = Date.now();
    for (const name of names) this.seen.add(name);
    for (const name of this.seen) if (!names.has(name) && !this.gone.has(name)) this.gone.set(name, now);
  }

  /** Stops polling after one last look. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#last;
    await this.#poll().catch(() => {});
  }
}

/** See the module documentation. */
export class Bed implements AsyncDisposable {
  readonly system: LbSystem;
  readonly #client: Deno.HttpClient;
  readonly #tlsArgs: string[];
  readonly ccms: Ccm[] = [];
  /** Every request of the simulator's log seen so far (the simulator keeps only the last 10,000). */
  readonly requestLog: LoggedRequest[] = [];
  #polling: ReturnType<typeof setInterval> | undefined;
  #pollDone: Promise<void> = Promise.resolve();
  #stopped: Promise<void> | undefined;

  private constructor(system: LbSystem, cert: string, tlsArgs: string[]) {
    this.system = system;
    this.#client = Deno.createHttpClient({ caCerts: [cert] });
    this.#tlsArgs = tlsArgs;
  }

  /**
   * Starts the test bed with the recognizable API key and BGP password (`options.env` may add to the
   * environment; `METAL_BGP_PASS` is set unless given).
   */
  static async start(options: LbSystemOptions): Promise<Bed> {
    const system = await startLbSystem({
      ...options,
      apiKey: SECRET_API_KEY,
      env: { METAL_BGP_PASS: SECRET_BGP_PASS, ...options.env },
    });
    const { cert, key } = await selfSignedCertificate("127.0.0.1");
    await Deno.writeTextFile(`${system.dir}/tls.crt`, cert);
    await Deno.writeTextFile(`${system.dir}/tls.key`, key);
    return new Bed(system, cert, [
      `--tls-cert-file=${system.dir}/tls.crt`,
      `--tls-private-key-file=${system.dir}/tls.key`,
    ]);
  }

  get cluster(): TestCluster {
    return this.system.cluster;
  }

  /** Starts `ccm run` (serving HTTPS on a free port); `args` after the defaults, `env` over them. */
  async startCcm(
    name: string,
    options: { args?: string[]; env?: Record<string, string>; permissions?: string[] } = {},
  ): Promise<Ccm> {
    const port = freePort();
    const process = await this.system.startCcmProcess({
      name,
      args: [...this.#tlsArgs, `--secure-port=${port}`, ...options.args ?? []],
      env: options.env,
      permissions: options.permissions,
    });
    const ccm = { name, process, port };
    this.ccms.push(ccm);
    return ccm;
  }

  /** `GET /metrics` of a running ccm. */
  async metrics(ccm: Ccm, signal?: AbortSignal): Promise<string> {
    const res = await fetch(`https://127.0.0.1:${ccm.port}/metrics`, { client: this.#client, signal });
    const text = await res.text();
    if (!res.ok) throw new Error(`GET /metrics of ${ccm.name}: ${res.status} ${text}`);
    return text;
  }

  /** Sets simulator faults. */
  async setFaults(faults: FaultSettings): Promise<void> {
    await this.#admin("PUT", "/_fake/faults", faults);
  }

  /** Scripts failures of the next `count` matching requests. */
  async script(
    failure: { path: string; status: number; count?: number; method?: string; retryAfter?: number },
  ): Promise<void> {
    await this.#admin("POST", "/_fake/faults/scripted", failure);
  }

  /** Turns every fault off. */
  async clearFaults(): Promise<void> {
    await this.setFaults({ latencyMs: 0, errorRate: 0, rateLimit: 0 });
    await this.#admin("DELETE", "/_fake/faults/scripted");
  }

  /** Adds a device to the project (as if provisioned outside the cluster); returns its id. */
  async addDevice(hostname: string): Promise<string> {
    const device = await this.#admin("POST", `/_fake/projects/${PROJECT_ID}/devices`, {
      hostname,
      metro: "sv",
    });
    return (device as { id: string }).id;
  }

  /** Deletes a device behind the cluster's back. */
  async deleteDevice(id: string): Promise<void> {
    await this.#admin("DELETE", `/_fake/devices/${id}`);
  }

  /** A Node joining: registered by its kubelet with the uninitialized taint, no providerID yet. */
  async joinNode(hostname: string, options: { ready?: boolean } = {}): Promise<void> {
    await createNode(this.cluster.clients, hostname, {
      labels: { "kubernetes.io/hostname": hostname },
      taints: [UNINITIALIZED_TAINT],
      ready: options.ready ?? true,
    });
  }

  /** Reads the simulator's new request log entries into {@linkcode requestLog}; returns them. */
  async pollRequests(): Promise<LoggedRequest[]> {
    const since = this.requestLog.at(-1)?.seq ?? 0;
    const res = await this.system.raw("GET", `/_fake/requests?since=${since}`);
    const { requests } = await res.json() as { requests: LoggedRequest[] };
    if (requests.length > 0 && since > 0 && requests[0]!.seq !== since + 1) {
      throw new Error(`The simulator dropped request log entries ${since + 1}..${requests[0]!.seq - 1}`);
    }
    this.requestLog.push(...requests);
    return requests;
  }

  /** Polls the request log every `intervalMs` until {@linkcode stopPolling} (the simulator keeps 10,000). */
  startPolling(intervalMs = 2000): void {
    if (this.#polling !== undefined) return;
    this.#polling = setInterval(() => {
      this.#pollDone = this.#pollDone.then(() => this.pollRequests()).then(() => {}, () => {});
    }, intervalMs);
  }

  /** Stops polling and reads what is left. */
  async stopPolling(): Promise<void> {
    clearInterval(this.#polling);
    this.#polling = undefined;
    await this.#pollDone;
    await this.pollRequests();
  }

  /** The CCM's requests in {@linkcode requestLog} (not the test's own reads). */
  ccmRequests(): LoggedRequest[] {
    return this.requestLog.filter((r) => r.userAgent.startsWith(CCM_USER_AGENT));
  }

  /** Every Event in the cluster. */
  async events(): Promise<JsonEvent[]> {
    return (await this.cluster.clients.core.listEventForAllNamespaces()).items;
  }

  /**
   * Item 6: neither secret (nor its base64) in any process output of this bed (every `ccm run`, the simulator),
   * any Event, the simulator's request log, or the given `/metrics` outputs. Returns what was scanned.
   */
  async assertNoSecrets(metrics: string[]): Promise<LeakScan> {
    const leaks: string[] = [];
    let logLines = 0;
    for await (const entry of Deno.readDir(this.system.dir)) {
      if (!entry.name.endsWith(".log")) continue;
      const text = await Deno.readTextFile(`${this.system.dir}/${entry.name}`);
      logLines += text.split("\n").length;
      for (const line of leakedLines(text)) leaks.push(`${entry.name}: ${line}`);
    }
    const events = await this.events();
    for (const event of events) {
      for (const line of leakedLines(JSON.stringify(event))) leaks.push(`Event: ${line}`);
    }
    await this.pollRequests();
    for (const line of leakedLines(JSON.stringify(this.requestLog))) leaks.push(`request log: ${line}`);
    let metricLines = 0;
    for (const text of metrics) {
      metricLines += text.split("\n").length;
      for (const line of leakedLines(text)) leaks.push(`/metrics: ${line}`);
    }
    if (leaks.length > 0) {
      throw new Error(`Secrets leaked (${leaks.length}):\n${leaks.slice(0, 20).join("\n")}`);
    }
    return { logLines, events: events.length, requests: this.requestLog.length, metricLines };
  }

  /** Waits until a ccm's log has a line matching `pattern` (default: the service controller started). */
  async ready(
    ccm: Ccm,
    pattern = /Starting controller".*controller"?[=:]"service-lb-controller"/,
    timeoutMs = 60_000,
  ) {
    await waitFor(async () => {
      if (ccm.process.hasExited) throw new Error(`${ccm.name} exited:\n${await ccm.process.logTail()}`);
      return pattern.test(await Deno.readTextFile(ccm.process.logPath).catch(() => ""));
    }, { timeoutMs, intervalMs: 100, message: `${ccm.name} to log ${pattern}` });
  }

  /** Last lines of every ccm's log, for failure messages. */
  async logTails(lines = 30): Promise<string> {
    const parts = await Promise.all(
      this.ccms.map(async (c) => `--- ${c.name} ---\n${await c.process.logTail(lines)}`),
    );
    return parts.join("\n");
  }

  async #admin(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await this.system.raw(method, path, body);
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text === "" ? undefined : JSON.parse(text);
  }

  /** Stops every process and removes the directory; safe to call twice. */
  stop(): Promise<void> {
    return this.#stopped ??= (async () => {
      clearInterval(this.#polling);
      await this.system.stop();
      this.#client.close();
    })();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
