/**
 * Takes a CPU profile of a Deno process started with `--inspect=HOST:PORT` (for example `ccm run` in a
 * benchmark, with `CCM_BENCH_DENO_ARGS=--inspect=127.0.0.1:9230`) through the inspector protocol, writes it as
 * a `.cpuprofile` (Chrome DevTools) and prints the functions with the most self time. Deno 2.9 has no
 * `--cpu-prof` for `deno run`; this is the same V8 sampling profiler.
 *
 * Usage: deno run --allow-net --allow-write bench/lib/cpu_profile.ts --inspect 127.0.0.1:9230 --seconds 60
 *   [--out ccm.cpuprofile] [--top 30]
 *
 * @module
 */
import { Command } from "commander";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

/** Self time per function (name and location), descending, as shares of all samples. */
export function selfTimes(profile: Profile): { frame: string; share: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const url = frame.url.replace(/^.*\/(registry\.npmjs\.org|main)\//, "");
    const key = `${frame.functionName || "(anonymous)"} ${url}:${frame.lineNumber + 1}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length || 1;
  return [...counts].map(([frame, n]) => ({ frame, share: n / total })).sort((a, b) => b.share - a.share);
}

async function main(): Promise<void> {
  const o = new Command("cpu_profile")
    .requiredOption("--inspect <host:port>", "inspector address of the process")
    .option("--seconds <s>", "how long to sample", "60")
    .option("--out <file>", "where to write the .cpuprofile", "ccm.cpuprofile")
    .option("--top <n>", "functions to print", "30")
    .parse(Deno.args, { from: "user" }).opts();
  const targets = await (await fetch(`http://${o.inspect}/json/list`)).json() as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    pending.get(msg.id)?.(msg.result);
    pending.delete(msg.id);
  };
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 1000 });
  await send("Profiler.start");
  await new Promise((r) => setTimeout(r, Number(o.seconds) * 1000));
  const { profile } = await send("Profiler.stop") as { profile: Profile };
  ws.close();
  await Deno.writeTextFile(o.out, JSON.stringify(profile));
  const lines = selfTimes(profile).slice(0, Number(o.top))
    .map((t) => `${(100 * t.share).toFixed(1).padStart(5)}%  ${t.frame}`);
  Deno.stdout.writeSync(new TextEncoder().encode(`${profile.samples.length} samples\n${lines.join("\n")}\n`));
}

if (import.meta.main) await main();
