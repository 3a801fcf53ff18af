/**
 * Reporting shared by the benchmark scripts: machine and commit lines, Markdown tables, percentiles, and
 * appending an entry to a section of bench/RESULTS.md in the format of the fake-api section.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url).pathname;

/** Path of the results file. */
export const RESULTS_PATH = `${ROOT}bench/RESULTS.md`;

const encoder = new TextEncoder();

/** Writes to stdout (benchmarks print their tables; `console` is linted out in this project). */
export function write(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}

/** Progress line on stderr, prefixed with the seconds since the script started. */
export function progress(text: string): void {
  const seconds = (performance.now() / 1000).toFixed(1).padStart(6);
  Deno.stderr.writeSync(encoder.encode(`[${seconds}s] ${text}\n`));
}

/** The value at quantile `p` (0–1) of ascending `sorted`, nearest rank; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** A Markdown table (deno fmt aligns it when RESULTS.md is formatted). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n") + "\n";
}

/** 1-minute load average, as text. */
export async function loadAverage(): Promise<string> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return text.split(" ")[0] || "unknown";
}

/** CPU model, core count, OS/arch and Deno version. */
export async function machine(): Promise<string> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown CPU";
  return `${model}, ${navigator.hardwareConcurrency} CPUs, ${Deno.build.os}/${Deno.build.arch}, Deno ${Deno.version.deno}`;
}

/** The paths in `git status --porcelain` output (each line is two status letters, a space and the path). */
export function changedFiles(porcelain: string): string[] {
  return porcelain.split("\n").filter((l) => l.length > 3).map((l) => l.slice(3));
}

/** Short HEAD, marked when product or bench files have uncommitted changes. */
export async function commit(): Promise<string> {
  // Not trimmed at the start: a porcelain line begins with its status, such as " M".
  const git = async (...args: string[]) =>
    new TextDecoder().decode((await new Deno.Command("git", { args, cwd: ROOT }).output()).stdout).trimEnd();
  try {
    const head = await git("rev-parse", "--short", "HEAD");
    const dirty = await git(
      "status",
      "--porcelain",
      "--",
      "main.ts",
      "provider",
      "metal",
      "fake_api",
      "bench",
      ":!bench/RESULTS.md",
    );
    if (dirty === "") return head;
    const files = changedFiles(dirty);
    return `${head} (with uncommitted changes in the shared tree: ${files.join(", ")})`;
  } catch {
    return "unknown";
  }
}

/** What every entry says about where and how it was measured. */
export interface EntryContext {
  command: string;
  commit: string;
  machine: string;
  /** 1-minute load average when the run started. */
  loadAtStart: string;
}

/** Reads the context at the start of a run (the load average must be read before the run loads the machine). */
export async function entryContext(script: string, args: readonly string[]): Promise<EntryContext> {
  return {
    command: `deno run --allow-all bench/${script} ${args.join(" ")}`.trimEnd(),
    commit: await commit(),
    machine: await machine(),
    loadAtStart: await loadAverage(),
  };
}

/** One RESULTS.md entry: heading, the context lines, extra lines, then the tables. */
export async function formatEntry(
  title: string,
  context: EntryContext,
  lines: readonly string[],
  tables: readonly string[],
): Promise<string> {
  return [
    `### ${new Date().toISOString().slice(0, 19)}Z — ${title}`,
    "",
    `- Command: \`${context.command}\``,
    `- Commit: ${context.commit}`,
    `- Machine: ${context.machine}`,
    `- Load: 1-minute load average ${context.loadAtStart} at start, ${await loadAverage()} at the end (the ` +
    "machine is shared; busy neighbours slow the numbers)",
    ...lines.map((l) => `- ${l}`),
    "",
    ...tables.flatMap((t) => [t.trimEnd(), ""]),
  ].join("\n").trimEnd() + "\n";
}

/** Inserts `entry` at the end of section `## <heading>` of RESULTS.md (creating file or section). */
export async function record(heading: string, entry: string): Promise<void> {
  let text = await Deno.readTextFile(RESULTS_PATH).catch(() =>
    "# Benchmark results\n\nAppended by the scripts in bench/.\n"
  );
  const marker = `\n## ${heading}\n`;
  if (!text.includes(marker)) text = `${text.trimEnd()}\n${marker}\n`;
  const start = text.indexOf(marker) + marker.length;
  const next = text.indexOf("\n## ", start);
  const end = next < 0 ? text.length : next + 1;
  const section = text.slice(start, end).trimEnd();
  const before = section === "" ? "\n" : `${section}\n\n`;
  text = `${text.slice(0, start)}${before}${entry.trimEnd()}\n${next < 0 ? "" : "\n"}${text.slice(end)}`;
  await Deno.writeTextFile(RESULTS_PATH, text);
  const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", RESULTS_PATH] }).output();
  if (!fmt.success) {
    throw new Error(`deno fmt of ${RESULTS_PATH} failed: ${new TextDecoder().decode(fmt.stderr)}`);
  }
}

/** Seconds with one decimal. */
export function seconds(ms: number): string {
  return (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
}
