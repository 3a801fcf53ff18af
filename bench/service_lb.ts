/**
 * Service load balancers at scale (kube-vip mode): M LoadBalancer Services created at once on a cluster of a
 * few initialized nodes, against a running `ccm run` (flags in bench/lib/system.ts). Reports the time until
 * every Service has its ingress IP, per-Service latency, the Metal API calls (simulator request log) and the
 * CCM's Kubernetes API writes (audit log). Prints a table and appends it to bench/RESULTS.md. Not a test.
 *
 * Usage: deno run --allow-all bench/service_lb.ts [--services 10,100,500] [--nodes 3] [--latency-ms 50] [--quick]
 *   [--no-record]
 *
 * @module
 */
import { Command } from "commander";
import {
  entryContext,
  formatEntry,
  loadAverage,
  percentile,
  progress,
  record,
  seconds,
  table,
  write,
} from "./lib/report.ts";
import {
  CCM_USER,
  ccmCommandLine,
  countBy,
  createNodes,
  createServices,
  DEFAULT_LATENCY_MS,
  kubeOperation,
  metalOperation,
  nodeName,
  serviceName,
  startBenchSystem,
  waitForQuiet,
  waitUntil,
  Watcher,
  WRITE_VERBS,
} from "./lib/system.ts";

interface Result {
  services: number;
  createMs: number;
  lastReadyMs: number;
  p50Ms: number;
  p99Ms: number;
  metalUntilReady: number;
  metalTotal: number;
  metalOps: [string, number][];
  kubeWritesTotal: number;
  kubeOps: [string, number][];
  load: string;
}

async function measure(services: number, nodes: number, latencyMs: number): Promise<Result> {
  await using system = await startBenchSystem({ devices: nodes, latencyMs });
  await using watcher = new Watcher(system.cluster);
  await watcher.synced();
  await system.startCcm();
  const nodeNames = Array.from({ length: nodes }, (_, i) => nodeName(i));
  await createNodes(system, nodeNames, { tainted: true });
  await waitUntil(system, `${nodes} nodes initialized`, () => ({
    done: watcher.nodesInitializedAt.size >= nodes,
    status: `${watcher.nodesInitializedAt.size}/${nodes}`,
  }), 120_000);
  // Node initialization and BGP setup of the nodes are not part of this measurement.
  await waitForQuiet(system, 3000, 120_000);
  const metalMark = await system.metal.mark();
  const auditMark = await system.audit.mark();
  const load = await loadAverage();

  const names = Array.from({ length: services }, (_, i) => serviceName(i));
  const createdAt = new Map<string, number>();
  progress(`creating ${services} LoadBalancer Services`);
  const start = performance.now();
  const startWall = Date.now();
  await createServices(system.cluster, names, {
    concurrency: 64,
    onCreated: (name, at) => createdAt.set(name, at),
  });
  const createMs = performance.now() - start;
  await waitUntil(system, `${services} Services with ingress`, () => ({
    done: names.every((n) => watcher.servicesReadyAt.has(n)),
    status: `${watcher.servicesReadyAt.size}/${services} with ingress`,
  }), 120_000 + services * 200);
  const lastReady = Math.max(...names.map((n) => watcher.servicesReadyAt.get(n)!));
  const lastReadyWall = startWall + (lastReady - start);
  progress(
    `all Services have ingress after ${seconds(lastReady - start)} s; waiting for the CCM to go quiet`,
  );
  await waitForQuiet(system, 5000, 300_000);

  const latencies = names.map((n) => watcher.servicesReadyAt.get(n)! - createdAt.get(n)!).sort((a, b) =>
    a - b
  );
  const metal = await system.metal.since(metalMark);
  const kube = await system.audit.since(auditMark);
  return {
    services,
    createMs,
    lastReadyMs: lastReady - start,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    metalUntilReady: metal.filter((r) => Date.parse(r.time) <= lastReadyWall).length,
    metalTotal: metal.length,
    metalOps: countBy(metal, metalOperation),
    kubeWritesTotal: kube.filter((r) => WRITE_VERBS.has(r.verb)).length,
    kubeOps: countBy(kube, kubeOperation),
    load,
  };
}

async function main(): Promise<void> {
  const program = new Command("service_lb")
    .option("--services <list>", "comma-separated Service counts", "10,100,500")
    .option("--nodes <n>", "initialized nodes (devices) in the cluster", "3")
    .option("--latency-ms <ms>", "latency the simulator adds to each Metal call", String(DEFAULT_LATENCY_MS))
    .option("--quick", "smoke test: 10 and 50 Services")
    .option("--no-record", "do not append to bench/RESULTS.md")
    .parse(Deno.args, { from: "user" });
  const o = program.opts();
  const sizes = o.quick ? [10, 50] : String(o.services).split(",").map(Number);
  const nodes = Number(o.nodes);
  const latencyMs = Number(o.latencyMs);
  const context = await entryContext("service_lb.ts", Deno.args);
  const results: Result[] = [];
  for (const services of sizes) {
    progress(`service-lb with ${services} Services`);
    results.push(await measure(services, nodes, latencyMs));
  }
  const summary = table(
    [
      "Services",
      "create s",
      "all with ingress s",
      "p50 s",
      "p99 s",
      "Metal calls until all ingress",
      "Metal calls until quiet",
      "kube writes until quiet",
      "load at start",
    ],
    results.map((r) => [
      String(r.services),
      seconds(r.createMs),
      seconds(r.lastReadyMs),
      seconds(r.p50Ms),
      seconds(r.p99Ms),
      String(r.metalUntilReady),
      String(r.metalTotal),
      `${r.kubeWritesTotal} (${(r.kubeWritesTotal / r.services).toFixed(2)}/Service)`,
      r.load,
    ]),
  );
  const breakdown = table(
    [
      "Services",
      "Metal API calls until quiet, by operation",
      "CCM Kubernetes API requests until quiet, by verb",
    ],
    results.map((r) => [
      String(r.services),
      r.metalOps.map(([op, n]) => `${op}: ${n}`).join("; "),
      r.kubeOps.map(([op, n]) => `${op}: ${n}`).join("; "),
    ]),
  );
  const entry = await formatEntry(
    `${sizes.join(", ")} Services, ${nodes} nodes, ${latencyMs} ms Metal latency`,
    context,
    [
      `ccm: \`${await ccmCommandLine()}\``,
      `Timing: from the first Service create (64 creates in flight, admin client) to the benchmark's watch ` +
      "seeing an ingress IP in its status; per Service from its create returning to that. The nodes are " +
      'initialized (with BGP) before the measurement starts. "Until quiet": until neither Metal calls nor CCM ' +
      `writes happened for 5 s. Kubernetes requests from the audit log of user \`${CCM_USER}\` (Events included)`,
    ],
    [summary, breakdown],
  );
  write(`\n${entry}\n`);
  if (o.record) {
    await record("service-lb", entry);
    write("Appended to bench/RESULTS.md\n");
  }
}

if (import.meta.main) await main();
