/**
 * Steady-state API cost: N initialized nodes and M LoadBalancer Services (kube-vip mode) left idle, counting
 * the Metal API calls (simulator request log) and the CCM's Kubernetes API requests (audit log) per hour.
 *
 * An idle hour is simulated: `ccm run` runs with its clock `--time-scale` times faster than real time
 * (bench/lib/ccm_scaled.ts), which scales every period and cache lifetime of the product by the same factor,
 * so `--simulated-hours` hours take `60 × hours / scale` real minutes. Counts in the window are divided by the
 * simulated hours. Watches are the exception: the API server ends them after the timeout the client asked for,
 * in real time, so watch requests are divided by the real hours of the window instead. Prints a table and
 * appends it to bench/RESULTS.md. Not a test.
 *
 * Usage: deno run --allow-all bench/steady_state.ts [--nodes 1000] [--services 100] [--time-scale 12]
 *   [--simulated-hours 1] [--latency-ms 50] [--quick] [--no-record]
 *
 * @module
 */
import { Command } from "commander";
import { entryContext, formatEntry, loadAverage, progress, record, table, write } from "./lib/report.ts";
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
} from "./lib/system.ts";

/** Target of the issue: Metal calls per hour at 1,000 nodes and 100 Services. */
const METAL_TARGET_PER_HOUR = 100;

interface Options {
  nodes: number;
  services: number;
  timeScale: number;
  simulatedHours: number;
  latencyMs: number;
}

async function run(o: Options) {
  await using system = await startBenchSystem({ devices: o.nodes, latencyMs: o.latencyMs });
  await using watcher = new Watcher(system.cluster);
  await watcher.synced();
  await system.startCcm({ timeScale: o.timeScale });
  const nodes = Array.from({ length: o.nodes }, (_, i) => nodeName(i));
  const services = Array.from({ length: o.services }, (_, i) => serviceName(i));
  progress(`creating ${o.nodes} nodes and ${o.services} Services`);
  await createNodes(system, nodes, { tainted: true, concurrency: 64 });
  await createServices(system.cluster, services, { concurrency: 32 });
  await waitUntil(system, "nodes initialized and Services with ingress", () => ({
    done: watcher.nodesInitializedAt.size >= o.nodes && services.every((s) => watcher.servicesReadyAt.has(s)),
    status:
      `${watcher.nodesInitializedAt.size}/${o.nodes} nodes, ${watcher.servicesReadyAt.size}/${o.services} ` +
      "Services",
  }), 600_000);
  progress("set up; waiting for the CCM to go quiet");
  await waitForQuiet(system, 3000, 900_000);

  const windowMs = (o.simulatedHours * 3600_000) / o.timeScale;
  const load = await loadAverage();
  const metalMark = await system.metal.mark();
  const auditMark = await system.audit.mark();
  progress(`measuring ${o.simulatedHours} simulated hour(s): ${(windowMs / 1000).toFixed(0)} s of real time`);
  const started = performance.now();
  while (performance.now() - started < windowMs) {
    await new Promise((r) => setTimeout(r, Math.min(5000, windowMs - (performance.now() - started))));
    await system.assertCcmRunning();
  }
  const metalEnd = await system.metal.mark();
  const auditEnd = await system.audit.mark();
  const realHours = (performance.now() - started) / 3600_000;
  const metal = await system.metal.since(metalMark, metalEnd);
  const kube = await system.audit.since(auditMark, auditEnd);
  const watches = kube.filter((r) => r.verb === "watch");
  const other = kube.filter((r) => r.verb !== "watch");
  return {
    load,
    windowMs,
    realHours,
    metal,
    metalPerHour: metal.length / o.simulatedHours,
    kubeOtherPerHour: other.length / o.simulatedHours,
    watchesPerHour: watches.length / realHours,
    metalOps: countBy(metal, metalOperation),
    kubeOps: countBy(other, kubeOperation),
    watchOps: countBy(watches, kubeOperation),
  };
}

async function main(): Promise<void> {
  const program = new Command("steady_state")
    .option("--nodes <n>", "initialized nodes (and devices)", "1000")
    .option("--services <n>", "LoadBalancer Services", "100")
    .option("--time-scale <k>", "ccm's clock runs k times faster than real time", "12")
    .option("--simulated-hours <h>", "idle time measured, in simulated hours", "1")
    .option("--latency-ms <ms>", "latency the simulator adds to each Metal call", String(DEFAULT_LATENCY_MS))
    .option("--quick", "smoke test: 100 nodes, 10 Services, time scale 60")
    .option("--no-record", "do not append to bench/RESULTS.md")
    .parse(Deno.args, { from: "user" });
  const a = program.opts();
  const o: Options = {
    nodes: a.quick ? 100 : Number(a.nodes),
    services: a.quick ? 10 : Number(a.services),
    timeScale: a.quick ? 60 : Number(a.timeScale),
    simulatedHours: Number(a.simulatedHours),
    latencyMs: Number(a.latencyMs),
  };
  const context = await entryContext("steady_state.ts", Deno.args);
  const r = await run(o);
  const target = o.nodes <= 1000 && o.services <= 100 ? `≤ ${METAL_TARGET_PER_HOUR}` : "–";
  const summary = table(
    [
      "nodes",
      "Services",
      "time scale",
      "window (real s)",
      "Metal calls/hour",
      "Metal target",
      "kube requests/hour (excl. watches)",
      "kube watches/hour",
      "load at start",
    ],
    [[
      String(o.nodes),
      String(o.services),
      `${o.timeScale}×`,
      (r.windowMs / 1000).toFixed(0),
      r.metalPerHour.toFixed(1),
      target,
      r.kubeOtherPerHour.toFixed(1),
      r.watchesPerHour.toFixed(1),
      r.load,
    ]],
  );
  const perHour = (n: number, hours: number) => (n / hours).toFixed(1);
  const breakdown = table(
    ["API", "calls per hour, by operation"],
    [
      ["Metal", r.metalOps.map(([op, n]) => `${op}: ${perHour(n, o.simulatedHours)}`).join("; ") || "none"],
      [
        "Kubernetes",
        r.kubeOps.map(([op, n]) => `${op}: ${perHour(n, o.simulatedHours)}`).join("; ") || "none",
      ],
      [
        "Kubernetes watches",
        r.watchOps.map(([op, n]) => `${op}: ${perHour(n, r.realHours)}`).join("; ") || "none",
      ],
    ],
  );
  const entry = await formatEntry(
    `${o.nodes} nodes, ${o.services} Services, ${o.simulatedHours} simulated hour(s) at ${o.timeScale}×`,
    context,
    [
      `ccm: \`${await ccmCommandLine(o.timeScale)}\``,
      `Method: nodes initialized and Services given ingress first, then ${o.simulatedHours} simulated hour(s) ` +
      `idle = ${(r.windowMs / 1000).toFixed(0)} s of real time with ccm's clock at ${o.timeScale}× (see ` +
      '"Steady state: how time is scaled"). Kubernetes requests from the audit log of user ' +
      `\`${CCM_USER}\`; watches per real hour`,
    ],
    [summary, breakdown],
  );
  write(`\n${entry}\n`);
  if (a.record) {
    await record("steady-state", entry);
    write("Appended to bench/RESULTS.md\n");
  }
}

if (import.meta.main) await main();
