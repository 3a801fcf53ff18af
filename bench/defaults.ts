/**
 * ccm at upstream's default flags (what an operator who swaps the Go CCM's image keeps: leader election on,
 * `--kube-api-qps` 20 / burst 30, one worker per controller): N Nodes registered at once with their providerID
 * preset (as Cluster API kubelets do) and the uninitialized taint, and M LoadBalancer Services created at the same
 * moment, kube-vip mode, Metal latency as the simulator adds it. Reports when the last node was initialized
 * against the Kubernetes write limit the flags set (node controller writes / qps), when the Services got their
 * ingress, the calls on both APIs, and ccm's peak and idle RSS. Prints a table and appends it to
 * bench/RESULTS.md. Not a test: numbers vary by machine.
 *
 * The Services are sent all at once by default ("100 at once"); `--service-creates 16` sends them 16 at a time as
 * entries before 2026-12-07T20:40Z did. While the Nodes are created the API server answers Service creates slowly,
 * so the table also gives when the last Service was created and each Service's own wait (creation → ingress).
 *
 * Usage: deno run --allow-all bench/defaults.ts [--nodes 1000] [--services 100] [--service-creates N]
 *   [--latency-ms 50] [--no-record]
 *
 * @module
 */
import { Command } from "commander";
import { procUsage } from "./lib/process.ts";
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
  countBy,
  createNodes,
  createServices,
  DEFAULT_LATENCY_MS,
  deviceId,
  kubeOperation,
  nodeName,
  serviceName,
  startBenchSystem,
  UPSTREAM_DEFAULT_FLAGS,
  waitForQuiet,
  waitUntil,
  Watcher,
  WRITE_VERBS,
} from "./lib/system.ts";

/** Upstream's `--kube-api-qps` default: the write limit each controller's client has. */
const DEFAULT_QPS = 20;

async function main(): Promise<void> {
  const program = new Command("defaults")
    .option("--nodes <n>", "Nodes registered at once", "1000")
    .option("--services <n>", "LoadBalancer Services created at the same time", "100")
    .option("--service-creates <n>", "Service creates in flight (default: all at once)")
    .option("--latency-ms <ms>", "latency the simulator adds to each Metal call", String(DEFAULT_LATENCY_MS))
    .option("--no-record", "do not append to bench/RESULTS.md")
    .parse(Deno.args, { from: "user" });
  const o = program.opts();
  const nodes = Number(o.nodes);
  const services = Number(o.services);
  const serviceCreates = o.serviceCreates === undefined ? services : Number(o.serviceCreates);
  const latencyMs = Number(o.latencyMs);
  const context = await entryContext("defaults.ts", Deno.args);

  await using system = await startBenchSystem({ devices: nodes, latencyMs });
  await using watcher = new Watcher(system.cluster);
  await watcher.synced();
  const ccm = await system.startCcm({ flags: UPSTREAM_DEFAULT_FLAGS });
  await waitForQuiet(system, 3000, 60_000);
  const idleBefore = await procUsage(ccm.pid);
  const metalMark = await system.metal.mark();
  const auditMark = await system.audit.mark();
  const load = await loadAverage();

  const nodeNames = Array.from({ length: nodes }, (_, i) => nodeName(i));
  const serviceNames = Array.from({ length: services }, (_, i) => serviceName(i));
  const nodeCreated = new Map<string, number>();
  const serviceCreated = new Map<string, number>();
  let peak = idleBefore.rss;
  const sampler = setInterval(() => {
    procUsage(ccm.pid).then((u) => peak = Math.max(peak, u.rss), () => {});
  }, 250);
  progress(`creating ${nodes} nodes (providerID preset) and ${services} Services at once`);
  const start = performance.now();
  const startWall = Date.now();
  await Promise.all([
    createNodes(system, nodeNames, {
      tainted: true,
      concurrency: 64,
      providerId: (name) => `equinixmetal://${deviceId(Number(name.slice(5)))}`,
      onCreated: (name, at) => nodeCreated.set(name, at),
    }),
    createServices(system.cluster, serviceNames, {
      concurrency: serviceCreates,
      onCreated: (name, at) => serviceCreated.set(name, at),
    }),
  ]);
  await waitUntil(system, "nodes initialized and Services with ingress", () => ({
    done: watcher.nodesInitializedAt.size >= nodes && watcher.servicesReadyAt.size >= services,
    status:
      `${watcher.nodesInitializedAt.size}/${nodes} nodes, ${watcher.servicesReadyAt.size}/${services} Services`,
  }), 600_000 + nodes * 100);
  const lastInit = Math.max(...watcher.nodesInitializedAt.values()) - start;
  const lastService = Math.max(...watcher.servicesReadyAt.values()) - start;
  const lastServiceCreated = Math.max(...serviceCreated.values()) - start;
  progress(`nodes after ${seconds(lastInit)} s, Services after ${seconds(lastService)} s; waiting for quiet`);
  await waitForQuiet(system, 5000, 600_000 + nodes * 600);
  clearInterval(sampler);
  const quietMs = performance.now() - start;
  await new Promise((r) => setTimeout(r, 30_000)); // idle: a minute's trim has run at least once since the burst
  const idleAfter = await procUsage(ccm.pid);

  const metal = await system.metal.since(metalMark);
  const kube = await system.audit.since(auditMark);
  // CCM_BENCH_TRACE=<file>: every Kubernetes request (audit) and Metal call of the run as JSON, with the times
  // Services were created and got ingress, for a timeline of the Service path.
  const tracePath = Deno.env.get("CCM_BENCH_TRACE");
  if (tracePath) {
    await Deno.writeTextFile(
      tracePath,
      JSON.stringify({
        start: startWall,
        startPerf: start,
        kube,
        metal,
        serviceCreated: [...serviceCreated],
        servicesReadyAt: [...watcher.servicesReadyAt],
      }),
    );
  }
  const lastInitWall = startWall + lastInit;
  // The node controller's writes until the last node was initialized: what the write limit applies to.
  const nodeWrites =
    kube.filter((r) =>
      WRITE_VERBS.has(r.verb) && r.userAgent.endsWith("/cloud-node-controller") && r.time <= lastInitWall
    ).length;
  const limitMs = Math.max(0, nodeWrites - 30) / DEFAULT_QPS * 1000; // the burst's 30 tokens come at once
  const serviceLatencies = serviceNames.map((n) => watcher.servicesReadyAt.get(n)! - serviceCreated.get(n)!)
    .sort((a, b) => a - b);
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

  const summary = table(
    [
      "nodes",
      "Services",
      "last node initialized s",
      "write limit s",
      "× limit",
      "node controller writes",
      "last Service ingress s",
      "last Service created s",
      "Service wait p50 s",
      "Service wait max s",
      "quiet after s",
      "Metal calls",
      "kube writes",
      "RSS idle before MB",
      "peak RSS MB",
      "VmHWM MB",
      "RSS idle after MB",
      "load at start",
    ],
    [[
      String(nodes),
      String(services),
      seconds(lastInit),
      seconds(limitMs),
      (lastInit / limitMs).toFixed(2),
      `${nodeWrites} (${(nodeWrites / nodes).toFixed(2)}/node)`,
      seconds(lastService),
      seconds(lastServiceCreated),
      seconds(percentile(serviceLatencies, 0.5)),
      seconds(serviceLatencies.at(-1)!),
      seconds(quietMs),
      String(metal.length),
      String(kube.filter((r) => WRITE_VERBS.has(r.verb)).length),
      mb(idleBefore.rss),
      mb(peak),
      mb(idleAfter.hwm),
      mb(idleAfter.rss),
      load,
    ]],
  );
  const byAgent = table(
    ["CCM Kubernetes requests by user agent and verb, until quiet"],
    [[
      countBy(kube, (r) => `${r.userAgent.replace(/^ccm\/[^/]+\//, "")} ${kubeOperation(r)}`)
        .map(([op, n]) => `${op}: ${n}`).join("; "),
    ]],
  );
  const entry = await formatEntry(
    `${nodes} nodes + ${services} Services at upstream default flags`,
    context,
    [
      `ccm: \`${
        system.ccmCommand.replace(
          /--kubeconfig=\S+|--secure-port=\S+|--tls-\S+=\S+/g,
          (m) => `${m.split("=")[0]}=…`,
        )
      }\``,
      "Nodes carry their providerID and the uninitialized taint; Nodes and Services are created at the same moment " +
      `(64 and ${serviceCreates} creates in flight). Service wait: from its creation to its ingress. Write limit: the node controller's writes until the last ` +
      `node was initialized, beyond the burst of 30, at ${DEFAULT_QPS}/s. RSS sampled every 250 ms; idle after: 30 s after ` +
      `quiet. Kubernetes requests from the audit log of user \`${CCM_USER}\` (Events included)`,
    ],
    [summary, byAgent],
  );
  write(`\n${entry}\n`);
  if (o.record) {
    await record("defaults", entry);
    write("Appended to bench/RESULTS.md\n");
  }
}

if (import.meta.main) await main();
