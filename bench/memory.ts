/**
 * Memory and CPU of `ccm run` at scale (kube-vip mode): resident set size (`VmRSS`, and the peak seen) and CPU
 * seconds (utime + stime of all threads, /proc/<pid>/stat) sampled every second, through phases:
 *
 * 1. started: the CCM on an empty cluster, quiet;
 * 2. setup: N nodes registered at once (tainted) and M LoadBalancer Services created, until every node is
 *    initialized, every Service has ingress and the CCM is quiet (BGP set up on every node);
 * 3. idle: `--idle-seconds` with nothing happening but the kubelets' heartbeats;
 * 4. churn: `--churn-seconds` of cluster activity — 5% of the nodes deleted and as many new ones registered,
 *    20% of the Services deleted and as many created — then until quiet;
 * 5. idle after churn.
 *
 * kwok plays the kubelets all along (bench/lib/system.ts `KWOK_OPTIONS`): every node's status is reported once
 * a minute and its Lease renewed every 10 s, in every phase (the CCM sees the status reports, not the Leases).
 *
 * Prints a table and appends it to bench/RESULTS.md. Not a test.
 *
 * Usage: deno run --allow-all bench/memory.ts [--nodes 5000] [--services 500] [--idle-seconds 60]
 *   [--churn-seconds 60] [--latency-ms 50] [--quick] [--no-record]
 *
 * @module
 */
import { Command } from "commander";
import { type ProcUsage, procUsage } from "./lib/process.ts";
import { entryContext, formatEntry, loadAverage, progress, record, table, write } from "./lib/report.ts";
import {
  type BenchSystem,
  ccmCommandLine,
  createNodes,
  createServices,
  DEFAULT_LATENCY_MS,
  nodeName,
  serviceName,
  startBenchSystem,
  waitForQuiet,
  waitUntil,
  Watcher,
} from "./lib/system.ts";

/** Target of the issue at 5,000 nodes and 500 Services. */
const RSS_TARGET_MB = 200;

interface Phase {
  name: string;
  wallSeconds: number;
  cpuSeconds: number;
  rssEnd: number;
  rssPeak: number;
  hwm: number;
  load: string;
}

/** Samples the CCM's usage every second; phases read the peak since they began. */
class Sampler {
  #system: BenchSystem;
  #timer: ReturnType<typeof setInterval>;
  #peak = 0;
  last: ProcUsage | undefined;

  constructor(system: BenchSystem) {
    this.#system = system;
    this.#timer = setInterval(() => this.sample().catch(() => {}), 1000);
  }

  async sample(): Promise<ProcUsage> {
    const usage = await procUsage(this.#system.ccm!.pid);
    this.#peak = Math.max(this.#peak, usage.rss);
    this.last = usage;
    return usage;
  }

  /** Runs `body` as a phase and measures it. */
  async phase(name: string, body: () => Promise<void>): Promise<Phase> {
    progress(`phase: ${name}`);
    const load = await loadAverage();
    const before = await this.sample();
    this.#peak = before.rss;
    const started = performance.now();
    await body();
    const after = await this.sample();
    const phase = {
      name,
      wallSeconds: (performance.now() - started) / 1000,
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      rssEnd: after.rss,
      rssPeak: this.#peak,
      hwm: after.hwm,
      load,
    };
    progress(
      `${name}: RSS ${mb(phase.rssEnd)} MB (peak ${mb(phase.rssPeak)} MB), CPU ${
        phase.cpuSeconds.toFixed(1)
      } s in ` +
        `${phase.wallSeconds.toFixed(0)} s`,
    );
    return phase;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Options {
  nodes: number;
  services: number;
  idleSeconds: number;
  churnSeconds: number;
  latencyMs: number;
}

async function run(o: Options): Promise<Phase[]> {
  const replaced = Math.round(o.nodes * 0.05);
  const recreated = Math.round(o.services * 0.2);
  await using system = await startBenchSystem({ devices: o.nodes + replaced, latencyMs: o.latencyMs });
  await using watcher = new Watcher(system.cluster);
  await watcher.synced();
  await system.startCcm();
  const sampler = new Sampler(system);
  const phases: Phase[] = [];
  const quiet = () => waitForQuiet(system, 5000, 3600_000);
  try {
    phases.push(await sampler.phase("started, empty cluster", quiet));
    const nodes = Array.from({ length: o.nodes }, (_, i) => nodeName(i));
    const services = Array.from({ length: o.services }, (_, i) => serviceName(i));
    phases.push(
      await sampler.phase(
        `setup: ${o.nodes} nodes initialized, ${o.services} Services with ingress`,
        async () => {
          await createNodes(system, nodes, { tainted: true, concurrency: 64 });
          await createServices(system.cluster, services, { concurrency: 32 });
          await waitUntil(system, "nodes initialized and Services with ingress", () => ({
            done: nodes.every((n) => watcher.nodesInitializedAt.has(n)) &&
              services.every((s) => watcher.servicesReadyAt.has(s)),
            status: `${watcher.nodesInitializedAt.size}/${o.nodes} nodes, ${watcher.servicesReadyAt.size}/` +
              `${o.services} Services, RSS ${mb(sampler.last?.rss ?? 0)} MB`,
          }), 3600_000);
          await quiet();
        },
      ),
    );
    phases.push(await sampler.phase(`idle ${o.idleSeconds} s`, () => sleep(o.idleSeconds * 1000)));
    phases.push(
      await sampler.phase(
        `churn: ${replaced} nodes replaced, ${recreated} Services replaced`,
        async () => {
          const core = system.cluster.clients.core;
          const begin = performance.now();
          // Spreads `total` operations evenly over the churn period.
          const pace = async (i: number, total: number) => {
            const at = begin + (i / total) * o.churnSeconds * 1000;
            if (at > performance.now()) await sleep(at - performance.now());
          };
          const nodeTurnover = (async () => {
            for (let i = 0; i < replaced; i++) {
              await pace(i, replaced);
              await core.deleteNode({ name: nodes[i]! });
              await createNodes(system, [nodeName(o.nodes + i)], { tainted: true });
            }
          })();
          const serviceTurnover = (async () => {
            for (let i = 0; i < recreated; i++) {
              await pace(i, recreated);
              await core.deleteNamespacedService({ namespace: "default", name: services[i]! });
              await createServices(system.cluster, [serviceName(o.services + i)]);
            }
          })();
          await Promise.all([nodeTurnover, serviceTurnover]);
          const newNodes = Array.from({ length: replaced }, (_, i) => nodeName(o.nodes + i));
          const newServices = Array.from({ length: recreated }, (_, i) => serviceName(o.services + i));
          await waitUntil(system, "new nodes initialized and new Services with ingress", () => ({
            done: newNodes.every((n) => watcher.nodesInitializedAt.has(n)) &&
              newServices.every((s) => watcher.servicesReadyAt.has(s)),
            status: `RSS ${mb(sampler.last?.rss ?? 0)} MB`,
          }), 1800_000);
          await quiet();
        },
      ),
    );
    phases.push(
      await sampler.phase(`idle ${o.idleSeconds} s after churn`, () => sleep(o.idleSeconds * 1000)),
    );
  } finally {
    sampler.stop();
  }
  return phases;
}

async function main(): Promise<void> {
  const program = new Command("memory")
    .option("--nodes <n>", "nodes (and devices)", "5000")
    .option("--services <n>", "LoadBalancer Services", "500")
    .option("--idle-seconds <s>", "length of the idle phases", "60")
    .option("--churn-seconds <s>", "length of the churn phase (before waiting for quiet)", "60")
    .option("--latency-ms <ms>", "latency the simulator adds to each Metal call", String(DEFAULT_LATENCY_MS))
    .option("--quick", "smoke test: 500 nodes, 50 Services, 15 s phases")
    .option("--no-record", "do not append to bench/RESULTS.md")
    .parse(Deno.args, { from: "user" });
  const a = program.opts();
  const o: Options = {
    nodes: a.quick ? 500 : Number(a.nodes),
    services: a.quick ? 50 : Number(a.services),
    idleSeconds: a.quick ? 15 : Number(a.idleSeconds),
    churnSeconds: a.quick ? 15 : Number(a.churnSeconds),
    latencyMs: Number(a.latencyMs),
  };
  const context = await entryContext("memory.ts", Deno.args);
  const phases = await run(o);
  const peak = Math.max(...phases.map((p) => p.rssPeak));
  const rows = phases.map((p) => [
    p.name,
    p.wallSeconds.toFixed(0),
    mb(p.rssEnd),
    mb(p.rssPeak),
    p.cpuSeconds.toFixed(1),
    `${(100 * p.cpuSeconds / p.wallSeconds).toFixed(0)}%`,
    p.load,
  ]);
  const summary = table(
    ["phase", "wall s", "RSS at end MB", "peak RSS in phase MB", "CPU s", "CPU / wall", "load at start"],
    rows,
  );
  const entry = await formatEntry(`${o.nodes} nodes, ${o.services} Services`, context, [
    `ccm: \`${await ccmCommandLine()}\``,
    `Method: /proc/<pid>/status VmRSS sampled every second (peak = largest sample; VmHWM at the end ` +
    `${mb(phases.at(-1)!.hwm)} MB), CPU = utime + stime of /proc/<pid>/stat over the phase. Target: RSS ≤ ` +
    `${RSS_TARGET_MB} MB — peak ${mb(peak)} MB`,
  ], [summary]);
  write(`\n${entry}\n`);
  if (a.record) {
    await record("memory", entry);
    write("Appended to bench/RESULTS.md\n");
  }
}

if (import.meta.main) await main();
