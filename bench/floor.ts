/**
 * The memory floor of `ccm run`: what a Deno process takes before ccm does any work, step by step — the bare
 * runtime, each npm package `ccm run` loads on its own, all of main.ts's modules loaded, and `ccm run` on an
 * empty cluster — for each set of V8 flags (the dev path `deno task ccm` has none; the shipped binary and image
 * use .ci/v8-flags). RSS and /proc/<pid>/smaps split (executable, other files, anonymous) and V8's heap.
 * Prints the tables and appends them to bench/RESULTS.md (section memory). Not a test: numbers vary by machine.
 *
 * Usage: deno run --allow-all bench/floor.ts [--v8-flags "<set>;<set>"] [--no-record]
 *
 * @module
 */
import { Command } from "commander";
import { procUsage } from "./lib/process.ts";
import { entryContext, formatEntry, progress, record, table, write } from "./lib/report.ts";
import { readSmaps, type SmapsBreakdown } from "./lib/smaps.ts";
import { shippedV8Flags, startBenchSystem, UPSTREAM_DEFAULT_FLAGS, waitForQuiet } from "./lib/system.ts";

const ROOT = new URL("../", import.meta.url);

/** Packages `ccm run` loads statically (deno.json import names), each measured alone. */
const PACKAGES = ["commander", "@logtape/logtape", "prom-client", "undici", "zod"];

/** A child that imports `target` (or nothing), waits for the heap to settle, prints its heap, then idles. */
const PROBE = `
const target = Deno.args[0];
if (target) await import(target);
await new Promise((r) => setTimeout(r, 2000));
const m = Deno.memoryUsage();
console.log(JSON.stringify({ heapUsed: m.heapUsed }));
await new Promise((r) => setTimeout(r, 60_000));
`;

interface Sample {
  step: string;
  rssKb: number;
  heapUsedMb?: number;
  smaps: SmapsBreakdown;
}

async function probe(v8Flags: string, step: string, target: string): Promise<Sample> {
  const script = await Deno.makeTempFile({
    dir: new URL(".", ROOT).pathname,
    prefix: ".floor-",
    suffix: ".ts",
  });
  try {
    await Deno.writeTextFile(script, PROBE);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []),
        script,
        ...(target ? [target] : []),
      ],
      cwd: ROOT.pathname,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`probe ${step} exited before printing its heap`);
      text += value;
    }
    const { heapUsed } = JSON.parse(text.trim()) as { heapUsed: number };
    const usage = await procUsage(child.pid);
    const smaps = await readSmaps(child.pid);
    child.kill();
    await child.status;
    await reader.cancel().catch(() => {});
    return { step, rssKb: usage.rss / 1024, heapUsedMb: heapUsed / 1048576, smaps };
  } finally {
    await Deno.remove(script).catch(() => {});
  }
}

/** V8 heap used by `ccm run`, from its /metrics (prom-client's nodejs_heap_size_used_bytes). */
function heapFromMetrics(metrics: string): number | undefined {
  const match = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(metrics);
  return match ? Number(match[1]) / 1048576 : undefined;
}

async function ccmOnEmptyCluster(v8Flags: string): Promise<Sample> {
  Deno.env.set("CCM_BENCH_V8_FLAGS", v8Flags);
  await using system = await startBenchSystem({ devices: 0, latencyMs: 0 });
  const ccm = await system.startCcm({ flags: UPSTREAM_DEFAULT_FLAGS });
  // A ccm that cannot talk to Kubernetes (e.g. V8's --lite-mode turns off WebAssembly, which undici's HTTP/1
  // parser needs) would idle at less memory: it must have become leader, i.e. written its Lease.
  const deadline = performance.now() + 60_000;
  while (!/^leader_election_master_status\{[^}]*\} 1$/m.test(await system.metrics())) {
    if (performance.now() > deadline) throw new Error("ccm did not become leader within 60 s; see its log");
    await new Promise((r) => setTimeout(r, 500));
  }
  await waitForQuiet(system, 5000, 60_000);
  // Past the first minute: native memory trimming (util/native_memory.ts) has run once.
  await new Promise((r) => setTimeout(r, 65_000));
  const usage = await procUsage(ccm.pid);
  return {
    step: "`ccm run`, empty cluster, after 70 s",
    rssKb: usage.rss / 1024,
    heapUsedMb: heapFromMetrics(await system.metrics()),
    smaps: await readSmaps(ccm.pid),
  };
}

function mb(kb: number): string {
  return (kb / 1024).toFixed(1);
}

async function main(): Promise<void> {
  const shipped = await shippedV8Flags();
  const program = new Command("floor")
    .option("--v8-flags <sets>", "V8 flag sets to compare, separated by ';' (empty = none)", `;${shipped}`)
    .option("--no-record", "do not append to bench/RESULTS.md")
    .parse(Deno.args, { from: "user" });
  const o = program.opts();
  const context = await entryContext("floor.ts", Deno.args);
  const sets = String(o.v8Flags).split(";");
  const tables: string[] = [];
  for (const flags of sets) {
    progress(`V8 flags: ${flags || "(none)"}`);
    const samples: Sample[] = [await probe(flags, "bare runtime (an empty script)", "")];
    for (const name of PACKAGES) samples.push(await probe(flags, `runtime + \`${name}\` alone`, name));
    samples.push(
      await probe(flags, "runtime + every module of main.ts (not run)", new URL("main.ts", ROOT).href),
    );
    samples.push(await ccmOnEmptyCluster(flags));
    const rows = samples.map((s) => [
      s.step,
      mb(s.rssKb),
      s.heapUsedMb === undefined ? "–" : s.heapUsedMb.toFixed(1),
      mb(s.smaps.executable.rssKb),
      mb(s.smaps.files.rssKb),
      mb(s.smaps.anonymous.rssKb),
      mb(s.smaps.anonymous.dirtyKb),
    ]);
    const t = table([
      `step (V8 flags: ${flags ? `\`${flags}\`` : "none"})`,
      "RSS MB",
      "V8 heap used MB",
      "executable MB",
      "other files MB",
      "anonymous MB",
      "anonymous dirty MB",
    ], rows);
    write(t);
    tables.push(t);
  }
  const entry = await formatEntry(
    "memory floor of `ccm run`",
    context,
    [
      "Each step is a fresh process; RSS from /proc/<pid>/status, the split from /proc/<pid>/smaps, V8 heap from " +
      "`Deno.memoryUsage()` (probes) or ccm's `nodejs_heap_size_used_bytes`. Package rows are the runtime plus " +
      "that package alone (their sum overlaps: they share Node compatibility code)",
    ],
    tables,
  );
  if (o.record) await record("memory", entry);
}

if (import.meta.main) await main();
