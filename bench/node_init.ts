/**
 * Node initialization at scale: N Nodes registered at once with the uninitialized taint, each matching a
 * device of the simulator by hostname, against a running `ccm run` (flags in bench/lib/system.ts). Reports the
 * time until the last node is initialized, per-node latency from creation to taint removal, the Metal API calls
 * (simulator request log) and the CCM's Kubernetes API writes (audit log), until the CCM is quiet again (which
 * includes the BGP setup kube-vip mode does for each new node). Prints a table and appends it to
 * bench/RESULTS.md. Not a test: numbers vary by machine.
 *
 * Usage: deno run --allow-all bench/node_init.ts [--nodes 100,1000,5000] [--latency-ms 50] [--quick] [--no-record]
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
  DEFAULT_LATENCY_MS,
  kubeOperation,
  metalOperation,
  nodeName,
  startBenchSystem,
  waitForQuiet,
  waitUntil,
  Watcher,
  WRITE_VERBS,
} from "./lib/system.ts";

interface Result {
  nodes: number;
  createMs: number;
  lastInitMs: number;
  p50Ms: number;
  p99Ms: number;
  metalUntilInit: number;
  /** Device lookups (project device list pages, device GETs without include): what initialization costs. */
  metalInit: number;
  metalTotal: number;
  metalOps: [string, number][];
  kubeWritesUntilInit: number;
  kubeWritesTotal: number;
  kubeOps: [string, number][];
  quietMs: number;
  load: string;
}

/** A device list page or a device GET without `include`: what finding nodes' devices costs (not BGP). */
function isDeviceLookup(r: { method: string; path: string; query: string }): boolean {
  return r.method === "GET" && /\/devices(\/[^/]+)?$/.test(r.path) && !/include=/.test(r.query);
}

async function measure(nodes: number, latencyMs: number): Promise<Result> {
  await using system = await startBenchSystem({ devices: nodes, latencyMs });
  await using watcher = new Watcher(system.cluster);
  await watcher.synced();
  await system.startCcm();
  // Start-up calls (project BGP, cluster id) are not part of initializing nodes.
  await waitForQuiet(system, 3000, 60_000);
  const metalMark = await system.metal.mark();
  const auditMark = await system.audit.mark();
  const load = await loadAverage();

  const names = Array.from({ length: nodes }, (_, i) => nodeName(i));
  const createdAt = new Map<string, number>();
  progress(`creating ${nodes} tainted nodes`);
  const start = performance.now();
  const startWall = Date.now();
  await createNodes(system, names, {
    tainted: true,
    concurrency: 64,
    onCreated: (name, at) => createdAt.set(name, at),
  });
  const createMs = performance.now() - start;
  progress(`created ${nodes} nodes in ${seconds(createMs)} s; waiting for initialization`);
  await waitUntil(system, `${nodes} nodes initialized`, () => ({
    done: watcher.nodesInitializedAt.size >= nodes,
    status: `${watcher.nodesInitializedAt.size}/${nodes} initialized`,
  }), 120_000 + nodes * 30);
  const lastInit = Math.max(...watcher.nodesInitializedAt.values());
  const lastInitWall = startWall + (lastInit - start);
  progress(`all nodes initialized after ${seconds(lastInit - start)} s; waiting for the CCM to go quiet`);
  // kube-vip BGP setup makes 3 Metal calls per node at the client's 10 requests/s: ~0.3 s per node.
  await waitForQuiet(system, 5000, 600_000 + nodes * 600);
  const quietMs = performance.now() - start;

  const latencies = names.map((n) => watcher.nodesInitializedAt.get(n)! - createdAt.get(n)!).sort((a, b) =>
    a - b
  );
  const metal = await system.metal.since(metalMark);
  const kube = await system.audit.since(auditMark);
  const writes = kube.filter((r) => WRITE_VERBS.has(r.verb));
  return {
    nodes,
    createMs,
    lastInitMs: lastInit - start,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    metalUntilInit: metal.filter((r) => Date.parse(r.time) <= lastInitWall).length,
    // Until the last node was initialized: later device lists are the cache's periodic refreshes.
    metalInit: metal.filter((r) => Date.parse(r.time) <= lastInitWall && isDeviceLookup(r)).length,
    metalTotal: metal.length,
    metalOps: countBy(metal, (r) => `${metalOperation(r)}${/include=/.test(r.query) ? " (include)" : ""}`),
    kubeWritesUntilInit: writes.filter((r) => r.time <= lastInitWall).length,
    kubeWritesTotal: writes.length,
    kubeOps: countBy(kube, kubeOperation),
    quietMs,
    load,
  };
}

function perNode(count: number, nodes: number): string {
  return `${count} (${(count / nodes).toFixed(2)}/node)`;
}

async function main(): Promise<void> {
  const program = new Command("node_init")
    .option("--nodes <list>", "comma-separated node counts", "100,1000,5000")
    .option("--latency-ms <ms>", "latency the simulator adds to each Metal call", String(DEFAULT_LATENCY_MS))
    .option("--quick", "smoke test: 50 and 200 nodes")
    .option("--no-record", "do not append to bench/RESULTS.md")
    .parse(Deno.args, { from: "user" });
  const o = program.opts();
  const sizes = o.quick ? [50, 200] : String(o.nodes).split(",").map(Number);
  const latencyMs = Number(o.latencyMs);
  const context = await entryContext("node_init.ts", Deno.args);
  const results: Result[] = [];
  for (const nodes of sizes) {
    progress(`node-init with ${nodes} nodes`);
    results.push(await measure(nodes, latencyMs));
  }
  const summary = table(
    [
      "nodes",
      "create s",
      "last initialized s",
      "p50 s",
      "p99 s",
      "Metal calls for initialization",
      "Metal target",
      "all Metal calls until last init",
      "Metal calls until quiet",
      "kube writes until last init",
      "kube writes until quiet",
      "quiet after s",
      "load at start",
    ],
    results.map((r) => [
      String(r.nodes),
      seconds(r.createMs),
      seconds(r.lastInitMs),
      seconds(r.p50Ms),
      seconds(r.p99Ms),
      String(r.metalInit),
      `≤ ${Math.ceil(r.nodes / 500) + 10}`,
      String(r.metalUntilInit),
      String(r.metalTotal),
      perNode(r.kubeWritesUntilInit, r.nodes),
      perNode(r.kubeWritesTotal, r.nodes),
      seconds(r.quietMs),
      r.load,
    ]),
  );
  const breakdown = table(
    [
      "nodes",
      "Metal API calls until quiet, by operation",
      "CCM Kubernetes API requests until quiet, by verb",
    ],
    results.map((r) => [
      String(r.nodes),
      r.metalOps.map(([op, n]) => `${op}: ${n}`).join("; "),
      r.kubeOps.map(([op, n]) => `${op}: ${n}`).join("; "),
    ]),
  );
  const entry = await formatEntry(`${sizes.join(", ")} nodes, ${latencyMs} ms Metal latency`, context, [
    `ccm: \`${await ccmCommandLine()}\``,
    "Timing: from the first Node create (64 creates in flight, admin client) to the benchmark's watch seeing " +
    'the taint gone and the providerID set; per node from its create returning to that. "Until quiet": ' +
    "until neither Metal calls nor CCM writes happened for 5 s (includes kube-vip BGP setup of every node). " +
    '"Metal calls for initialization": device list pages and device GETs until the last node was initialized ' +
    "(the BGP controller's device GETs with include are BGP; the device cache's refreshes after that are not " +
    "initialization; entries before 2026-11-22T02:40Z counted them until quiet). " +
    `Kubernetes requests from the audit log of user \`${CCM_USER}\` (Events included)`,
  ], [summary, breakdown]);
  write(`\n${entry}\n`);
  if (o.record) {
    await record("node-init", entry);
    write("Appended to bench/RESULTS.md\n");
  }
}

if (import.meta.main) await main();
