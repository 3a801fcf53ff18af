/**
 * The benchmark test bed: a real etcd + kube-apiserver (test/harness) with an audit log of the CCM's user, a
 * real `ccm fake-api` process seeded with one project and N devices (`node-00000`…) and injected latency, and
 * `ccm run` as a process with the one flag set every benchmark uses ({@linkcode CCM_FLAGS}, {@linkcode CCM_ENV}),
 * and kwok as the kubelets (test/harness/kwok.ts, {@linkcode KWOK_OPTIONS}): it registers the Nodes NotReady
 * and tainted, reports them Ready, heartbeats their status and renews their Leases, as kubelets with
 * `--cloud-provider=external` do.
 *
 * Counting: Metal API calls come from the simulator's request log (`/_fake/requests`, polled so its
 * 10,000-entry window never drops any); Kubernetes API calls from the API server's audit log, which records
 * every request of the CCM's user `ccm-bench` (and nothing else), at stage ResponseComplete (watches at
 * ResponseStarted).
 *
 * @module
 */
import type { RequestLogEntry } from "../../fake_api/request_log.ts";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { type Kwok, type KwokOptions, startKwok } from "../../test/harness/kwok.ts";
import { SharedInformerFactory } from "../../provider/kube/informer_factory.ts";
import { startTestCluster, type TestCluster, UNINITIALIZED_TAINT, waitFor } from "../../test/harness/mod.ts";
import type { ManagedProcess } from "../../test/harness/process.ts";
import { startDenoScript } from "./process.ts";
import { forEachConcurrently } from "../../util/worker_pool.ts";
import { progress } from "./report.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Project of the seeded simulator. */
export const PROJECT_ID = "6f1d2c3b-0000-4000-8000-0000000be9c5";
/** Metro of devices and elastic IPs. */
export const METRO = "sv";
/** Kubernetes user the CCM runs as (system:masters); the audit policy records only this user. */
export const CCM_USER = "ccm-bench";

/**
 * Flags of every `ccm run` in every benchmark (besides the per-run `--kubeconfig`, `--bind-address`,
 * `--secure-port` and serving certificate).
 */
export const CCM_FLAGS: readonly string[] = Object.freeze([
  "--cloud-provider=equinixmetal",
  "--leader-elect=false",
  "--kube-api-qps=200",
  "--concurrent-node-syncs=10",
  "--concurrent-service-syncs=10",
  "--logging-format=json",
]);

/** Environment of every `ccm run` (besides the simulator's key, project and URLs). */
export const CCM_ENV: Readonly<Record<string, string>> = Object.freeze({
  METAL_LOAD_BALANCER: "kube-vip://",
  METAL_METRO_NAME: METRO,
});

/** The `ccm run` command line of the benchmarks, for reports (per-run paths and ports elided). */
export async function ccmCommandLine(timeScale = 1): Promise<string> {
  const env = Object.entries(CCM_ENV).map(([k, v]) => `${k}=${v}`).join(" ");
  const script = timeScale === 1 ? "main.ts" : "bench/lib/ccm_scaled.ts";
  const scale = timeScale === 1 ? "" : `CCM_BENCH_TIME_SCALE=${timeScale} `;
  const v8Flags = await ccmV8Flags();
  const deno = `deno run --allow-all${v8Flags ? ` --v8-flags=${v8Flags}` : ""}`;
  return `${scale}${env} METAL_API_KEY=… METAL_PROJECT_ID=… METAL_BASE_URL=… ${deno} ${script} run ` +
    `${CCM_FLAGS.join(" ")} --kubeconfig=… --bind-address=127.0.0.1 --secure-port=… --tls-cert-file=… ` +
    "--tls-private-key-file=…";
}

/**
 * V8 flags the release binary is compiled with (.ci/v8-flags), so `deno run` behaves like it. The environment
 * variable `CCM_BENCH_V8_FLAGS` overrides them (empty: none), for comparisons.
 */
export async function shippedV8Flags(): Promise<string> {
  return (await Deno.readTextFile(`${ROOT}.ci/v8-flags`)).trim();
}

async function ccmV8Flags(): Promise<string> {
  return Deno.env.get("CCM_BENCH_V8_FLAGS") ?? await shippedV8Flags();
}

/** Default latency the simulator adds to every Metal API request. */
export const DEFAULT_LATENCY_MS = 50;

/** Device hostname (and Node name) number `i`. */
export function nodeName(i: number): string {
  return `node-${String(i).padStart(5, "0")}`;
}

/**
 * How kwok plays the kubelets in every benchmark: a kubelet's 40 s Lease (renewed every 10 s), and a status
 * report every 60-66 s (the kubelet reports every 5 minutes when nothing changed; 60 s is the old churn phase's
 * rate of one heartbeat per node a minute, and makes the heartbeats' informer events show in every phase).
 */
export const KWOK_OPTIONS: Readonly<KwokOptions> = Object.freeze({
  statusReportMs: 60_000,
  leaseDurationSeconds: 40,
  parallelism: 32,
  logLevel: "WARN",
});

/** Options of {@linkcode startBenchSystem}. */
export interface BenchSystemOptions {
  /** Devices in the simulator, named {@linkcode nodeName}(0…devices-1). */
  devices: number;
  /** Latency added to each Metal API request. */
  latencyMs: number;
}

/** One Metal API request from the simulator's log. */
export type MetalRequest = RequestLogEntry;

/** Polls the simulator's request log and keeps every entry. */
export class MetalRequestLog {
  #url: string;
  #entries: MetalRequest[] = [];
  #since = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #polling: Promise<void> = Promise.resolve();

  constructor(fakeApiUrl: string) {
    this.#url = fakeApiUrl;
    this.#timer = setInterval(() => {
      this.#polling = this.#polling.then(() => this.#poll()).catch(() => {});
    }, 1000);
  }

  async #poll(): Promise<void> {
    const res = await fetch(`${this.#url}/_fake/requests?since=${this.#since}`);
    const body = await res.json() as { requests: MetalRequest[] };
    for (const entry of body.requests) {
      if (entry.seq <= this.#since) continue;
      if (entry.seq !== this.#since + 1 && this.#since !== 0) {
        throw new Error(`Missed Metal requests ${this.#since + 1}..${entry.seq - 1} in the simulator log`);
      }
      this.#entries.push(entry);
      this.#since = entry.seq;
    }
  }

  /** Every request so far (reads the log once more first). */
  async all(): Promise<MetalRequest[]> {
    await this.#polling;
    await this.#poll();
    return this.#entries;
  }

  /** Sequence number of the last request seen; requests after it are "since" this mark. */
  async mark(): Promise<number> {
    await this.all();
    return this.#since;
  }

  /** Requests after `mark` (up to `until`, inclusive, when given). */
  async since(mark: number, until = Infinity): Promise<MetalRequest[]> {
    return (await this.all()).filter((e) => e.seq > mark && e.seq <= until);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** `METHOD /path/{id}/...` without ids, the API prefix and the query. */
export function metalOperation(request: Pick<MetalRequest, "method" | "path">): string {
  return `${request.method} ${request.path.replace(/^\/metal\/v1/, "").replace(UUID, "{id}")}`;
}

/** Count per key, sorted by count descending. */
export function countBy<T>(items: readonly T[], key: (item: T) => string): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** One audit event of the CCM's user. */
export interface KubeRequest {
  verb: string;
  resource: string;
  subresource: string;
  code: number;
  /** Microsecond timestamp of the stage, as ms since the epoch. */
  time: number;
  /** The client's User-Agent (ccm names each controller's client: `ccm/<version>/cloud-node-controller`). */
  userAgent: string;
  /** Object name, when the request names one. */
  name?: string;
  /** When the API server received the request (ms since the epoch). */
  received?: number;
}

/** Kubernetes verbs that change state. */
export const WRITE_VERBS: ReadonlySet<string> = new Set([
  "create",
  "update",
  "patch",
  "delete",
  "deletecollection",
]);

/** Reads the API server audit log incrementally. */
export class KubeAuditLog {
  #path: string;
  #offset = 0;
  #rest = "";
  #entries: KubeRequest[] = [];

  constructor(path: string) {
    this.#path = path;
  }

  /** Every request of the CCM's user so far. */
  async all(): Promise<KubeRequest[]> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.#path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return this.#entries;
      throw err;
    }
    try {
      await file.seek(this.#offset, Deno.SeekMode.Start);
      const decoder = new TextDecoder();
      const buf = new Uint8Array(1 << 20);
      for (;;) {
        const n = await file.read(buf);
        if (n === null) break;
        this.#offset += n;
        const lines = (this.#rest + decoder.decode(buf.subarray(0, n), { stream: true })).split("\n");
        this.#rest = lines.pop()!;
        for (const line of lines) this.#add(line);
      }
    } finally {
      file.close();
    }
    return this.#entries;
  }

  #add(line: string): void {
    if (line === "") return;
    const e = JSON.parse(line);
    if (e.user?.username !== CCM_USER) return;
    // Watches are counted when they start (they complete only when they end).
    const watch = e.verb === "watch";
    if (watch ? e.stage !== "ResponseStarted" : e.stage !== "ResponseComplete") return;
    this.#entries.push({
      verb: e.verb,
      resource: e.objectRef?.resource ?? e.requestURI,
      subresource: e.objectRef?.subresource ?? "",
      code: e.responseStatus?.code ?? 0,
      time: Date.parse(e.stageTimestamp),
      userAgent: e.userAgent ?? "",
      name: e.objectRef?.name,
      received: Date.parse(e.requestReceivedTimestamp),
    });
  }

  /** Number of requests so far; a mark for {@linkcode since}. */
  async mark(): Promise<number> {
    return (await this.all()).length;
  }

  async since(mark: number, until = Infinity): Promise<KubeRequest[]> {
    return (await this.all()).slice(mark, until);
  }
}

/** `verb resource[/subresource]`. */
export function kubeOperation(r: KubeRequest): string {
  return `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ""}`;
}

/** Options of {@linkcode BenchSystem.startCcm}. */
export interface StartCcmOptions {
  /** Run `ccm` with its clock this many times faster (bench/lib/ccm_scaled.ts); default 1 (main.ts). */
  timeScale?: number;
  /** Flags instead of {@linkcode CCM_FLAGS} (the address, port, TLS and kubeconfig flags are always added). */
  flags?: readonly string[];
}

/**
 * What an operator who swaps the Go CCM's image keeps: upstream's manifests pass only the provider (and the
 * leader election, qps 20/burst 30 and 1 worker per controller are the defaults). JSON logs for the benchmark.
 */
export const UPSTREAM_DEFAULT_FLAGS: readonly string[] = Object.freeze([
  "--cloud-provider=equinixmetal",
  "--logging-format=json",
]);

/** The seeded device of node `i` (ids are fixed so Nodes can carry their providerID from the start). */
export function deviceId(i: number): string {
  return `d0000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** The running test bed; stop it with `await using`. */
export class BenchSystem implements AsyncDisposable {
  readonly dir: string;
  readonly cluster: TestCluster;
  readonly fakeApi: ManagedProcess;
  /** The kubelets. */
  readonly kwok: Kwok;
  /** Simulator root, `http://127.0.0.1:<port>`. */
  readonly fakeApiUrl: string;
  readonly metalEnv: Record<string, string>;
  readonly metal: MetalRequestLog;
  readonly audit: KubeAuditLog;
  readonly ccmKubeconfig: string;
  ccm: ManagedProcess | undefined;
  /** Command line of the last started `ccm run` (for the report). */
  ccmCommand = "";
  #metricsPort = 0;
  #httpClient: Deno.HttpClient;

  constructor(
    o: {
      dir: string;
      cluster: TestCluster;
      fakeApi: ManagedProcess;
      kwok: Kwok;
      fakeApiUrl: string;
      metalEnv: Record<string, string>;
      ccmKubeconfig: string;
      caCert: string;
    },
  ) {
    this.dir = o.dir;
    this.cluster = o.cluster;
    this.fakeApi = o.fakeApi;
    this.kwok = o.kwok;
    this.fakeApiUrl = o.fakeApiUrl;
    this.metalEnv = o.metalEnv;
    this.ccmKubeconfig = o.ccmKubeconfig;
    this.metal = new MetalRequestLog(o.fakeApiUrl);
    this.audit = new KubeAuditLog(`${o.cluster.dir}/audit.log`);
    this.#httpClient = Deno.createHttpClient({ caCerts: [o.caCert] });
  }

  /** Starts `ccm run` with {@linkcode CCM_FLAGS} and {@linkcode CCM_ENV}; resolves once it serves `/healthz`. */
  async startCcm(options: StartCcmOptions = {}): Promise<ManagedProcess> {
    if (this.ccm && !this.ccm.hasExited) throw new Error("ccm is already running");
    const scale = options.timeScale ?? 1;
    this.#metricsPort = freePort();
    const args = [
      "run",
      ...(options.flags ?? CCM_FLAGS),
      `--kubeconfig=${this.ccmKubeconfig}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${this.#metricsPort}`,
      `--tls-cert-file=${this.cluster.pki.serverCert}`,
      `--tls-private-key-file=${this.cluster.pki.serverKey}`,
    ];
    const script = scale === 1 ? "main.ts" : "bench/lib/ccm_scaled.ts";
    const v8Flags = await ccmV8Flags();
    // CCM_BENCH_DENO_ARGS: extra `deno run` options for investigations, e.g. `--inspect=127.0.0.1:9230` to take
    // a CPU profile with bench/lib/cpu_profile.ts.
    const extra = (Deno.env.get("CCM_BENCH_DENO_ARGS") ?? "").split(" ").filter((a) => a !== "");
    const denoArgs = [...(v8Flags ? [`--v8-flags=${v8Flags}`] : []), ...extra];
    this.ccmCommand = `${scale === 1 ? "" : `CCM_BENCH_TIME_SCALE=${scale} `}deno run --allow-all ${
      denoArgs.join(" ")
    } ${script} ${args.join(" ")}`;
    this.ccm = await startDenoScript({
      name: "ccm",
      script,
      args,
      denoArgs,
      env: { ...this.metalEnv, ...CCM_ENV, ...(scale === 1 ? {} : { CCM_BENCH_TIME_SCALE: String(scale) }) },
      logPath: `${this.dir}/ccm.log`,
      cwd: ROOT,
    });
    await waitFor(async () => {
      if (this.ccm?.hasExited) throw new Error(`ccm run exited:\n${await this.ccm.logTail()}`);
      const res = await fetch(`https://127.0.0.1:${this.#metricsPort}/healthz`, { client: this.#httpClient });
      await res.body?.cancel();
      return res.ok;
    }, { timeoutMs: 60_000, intervalMs: 100, message: "ccm run to serve /healthz" });
    return this.ccm;
  }

  /** The CCM's Prometheus metrics, as text. */
  async metrics(): Promise<string> {
    const res = await fetch(`https://127.0.0.1:${this.#metricsPort}/metrics`, { client: this.#httpClient });
    return await res.text();
  }

  /** Throws (with its log) when ccm has exited. */
  async assertCcmRunning(): Promise<void> {
    if (this.ccm?.hasExited) throw new Error(`ccm run exited:\n${await this.ccm.logTail()}`);
  }

  async stop(): Promise<void> {
    this.metal.stop();
    await this.ccm?.stop().catch(() => {});
    await this.fakeApi.stop().catch(() => {});
    await this.kwok.stop().catch(() => {});
    await this.cluster.stop().catch(() => {});
    this.#httpClient.close();
    if (Deno.env.get("CCM_BENCH_KEEP_DIR") !== "1") {
      await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** Audit policy: Metadata level for the CCM's user only, so the benchmark's own requests cost nothing. */
const AUDIT_POLICY = {
  apiVersion: "audit.k8s.io/v1",
  kind: "Policy",
  omitStages: ["RequestReceived"],
  rules: [{ level: "Metadata", users: [CCM_USER] }, { level: "None" }],
};

/** Starts cluster and simulator (not ccm). */
export async function startBenchSystem(options: BenchSystemOptions): Promise<BenchSystem> {
  const dir = await Deno.makeTempDir({ prefix: "ccm-bench-" });
  await Deno.writeTextFile(`${dir}/audit-policy.json`, JSON.stringify(AUDIT_POLICY));
  const apiKey = `bench-${crypto.randomUUID()}`;
  await Deno.writeTextFile(
    `${dir}/seed.json`,
    JSON.stringify({
      projects: [{ id: PROJECT_ID, name: "bench" }],
      api_keys: [{ token: apiKey, project_ids: [PROJECT_ID] }],
      devices: Array.from({ length: options.devices }, (_, i) => ({
        project_id: PROJECT_ID,
        id: deviceId(i),
        hostname: nodeName(i),
        metro: METRO,
      })),
    }),
  );
  progress(`starting kube-apiserver, etcd, kwok and ccm fake-api with ${options.devices} devices`);
  const [cluster, fakeApi] = await Promise.all([
    startTestCluster({ audit: true, apiserverArgs: [`--audit-policy-file=${dir}/audit-policy.json`] }),
    startDenoScript({
      name: "fake-api",
      script: "main.ts",
      args: [
        "fake-api",
        "--listen",
        "127.0.0.1:0",
        "--seed",
        `${dir}/seed.json`,
        "--latency",
        `${options.latencyMs}ms`,
        "--logging-format",
        "text",
      ],
      logPath: `${dir}/fake-api.log`,
      cwd: ROOT,
    }),
  ]);
  let kwok: Kwok | undefined;
  try {
    const printed = (await fakeApi.waitForStdout(/METAL_TOKEN_EXCHANGE_URL=\S+\n/)).input;
    const exports = Object.fromEntries(
      [...printed.matchAll(/^export (METAL_[A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    const baseUrl = exports.METAL_BASE_URL!;
    const ccmKubeconfig = await cluster.userKubeconfig({ user: CCM_USER, groups: ["system:masters"] });
    kwok = await startKwok(cluster, KWOK_OPTIONS);
    return new BenchSystem({
      dir,
      cluster,
      fakeApi,
      kwok,
      fakeApiUrl: new URL(baseUrl).origin,
      metalEnv: { ...exports, METAL_API_KEY: apiKey, METAL_PROJECT_ID: PROJECT_ID, METAL_BASE_URL: baseUrl },
      ccmKubeconfig,
      caCert: await Deno.readTextFile(cluster.pki.caCert),
    });
  } catch (err) {
    await kwok?.stop();
    await fakeApi.stop();
    await cluster.stop();
    throw err;
  }
}

/** Options of {@linkcode createNodes}. */
export interface CreateNodesOptions {
  /** With the `node.cloudprovider.kubernetes.io/uninitialized` taint (as a kubelet with an external cloud). */
  tainted: boolean;
  /** Requests in flight. */
  concurrency?: number;
  /** Called with each node name when its create returned. */
  onCreated?: (name: string, at: number) => void;
  /** `spec.providerID` of each node, as Cluster API kubelets register (`--provider-id`); default none. */
  providerId?: (name: string) => string;
}

/**
 * Registers Nodes as their kubelets would, `concurrency` at a time, for kwok to play: one create each, status
 * included (conditions, capacity, node info and images, so the CCM's caches hold Nodes of a real kubelet's size,
 * ~5 KiB), NotReady until kwok reports them Ready.
 */
export async function createNodes(
  system: BenchSystem,
  names: readonly string[],
  options: CreateNodesOptions,
): Promise<void> {
  await system.kwok.registerNodes(names, (name) => ({
    tainted: options.tainted,
    images: true,
    providerID: options.providerId?.(name),
  }), { concurrency: options.concurrency, onCreated: options.onCreated });
}

/** Creates LoadBalancer Services `svc-0000`… in `default`, `concurrency` at a time. */
export async function createServices(
  cluster: TestCluster,
  names: readonly string[],
  options: { concurrency?: number; onCreated?: (name: string, at: number) => void } = {},
): Promise<void> {
  await forEachConcurrently(names, async (name) => {
    await cluster.clients.core.createNamespacedService({
      namespace: "default",
      body: {
        metadata: { name, namespace: "default" },
        spec: {
          type: "LoadBalancer",
          selector: { app: name },
          ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
        },
      },
    });
    options.onCreated?.(name, performance.now());
  }, { concurrency: options.concurrency ?? 32 });
}

/** Service name number `i`. */
export function serviceName(i: number): string {
  return `svc-${String(i).padStart(4, "0")}`;
}

/** Whether the node still has the uninitialized taint. */
export function isTainted(node: V1Node): boolean {
  return node.spec?.taints?.some((t) => t.key === UNINITIALIZED_TAINT.key) ?? false;
}

/** Whether the Service has an ingress IP. */
export function hasIngress(service: V1Service): boolean {
  return (service.status?.loadBalancer?.ingress ?? []).some((i) => i.ip);
}

/**
 * Watches Nodes and Services from the benchmark (admin client, no rate limit) and records when each first
 * reached a state: node initialized (taint gone), Service with ingress.
 */
export class Watcher implements AsyncDisposable {
  readonly nodesInitializedAt = new Map<string, number>();
  readonly servicesReadyAt = new Map<string, number>();
  readonly #informers: SharedInformerFactory;
  readonly #stop = new AbortController();
  readonly #running: Promise<void>;
  readonly nodes;
  readonly services;

  constructor(cluster: TestCluster) {
    this.#informers = new SharedInformerFactory({ kube: cluster.clients, minResyncPeriodMs: 0 });
    this.nodes = this.#informers.nodes();
    this.services = this.#informers.services();
    const onNode = (node: V1Node) => {
      const name = node.metadata?.name ?? "";
      if (!isTainted(node) && node.spec?.providerID && !this.nodesInitializedAt.has(name)) {
        this.nodesInitializedAt.set(name, performance.now());
      }
    };
    const onService = (service: V1Service) => {
      const name = service.metadata?.name ?? "";
      if (hasIngress(service) && !this.servicesReadyAt.has(name)) {
        this.servicesReadyAt.set(name, performance.now());
      }
    };
    this.nodes.addHandlers({ add: onNode, update: (_o, n) => onNode(n) });
    this.services.addHandlers({ add: onService, update: (_o, s) => onService(s) });
    this.#running = this.#informers.start(this.#stop.signal);
  }

  async synced(): Promise<void> {
    await this.#informers.waitForSync(this.#stop.signal);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop.abort();
    await this.#running.catch(() => {});
  }
}

/** Waits until `check` holds, failing fast when ccm exits; logs progress every 10 s. */
export async function waitUntil(
  system: BenchSystem,
  what: string,
  check: () => { done: boolean; status: string },
  timeoutMs: number,
): Promise<void> {
  let lastLog = performance.now();
  await waitFor(async () => {
    await system.assertCcmRunning();
    const { done, status } = check();
    if (performance.now() - lastLog > 10_000) {
      progress(`${what}: ${status}`);
      lastLog = performance.now();
    }
    return done;
  }, { timeoutMs, intervalMs: 50, message: what });
}

/** A write that counts as work: not a leader lease renewal (every 2 s with `--leader-elect`). */
function isWork(r: KubeRequest): boolean {
  return WRITE_VERBS.has(r.verb) && r.resource !== "leases";
}

/** Waits until no Metal request and no Kubernetes write of the CCM (lease renewals aside) happened for `quietMs`. */
export async function waitForQuiet(system: BenchSystem, quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let metal = await system.metal.mark();
  let kube = (await system.audit.all()).filter(isWork).length;
  let quietSince = performance.now();
  while (performance.now() - quietSince < quietMs) {
    if (performance.now() > deadline) {
      throw new Error(`CCM did not go quiet for ${quietMs} ms within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 500));
    await system.assertCcmRunning();
    const m = await system.metal.mark();
    const k = (await system.audit.all()).filter(isWork).length;
    if (m !== metal || k !== kube) {
      metal = m;
      kube = k;
      quietSince = performance.now();
    }
  }
}
