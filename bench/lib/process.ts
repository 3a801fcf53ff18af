/**
 * Child processes of the benchmarks (`ccm fake-api`, `ccm run`) — the test harness's {@linkcode ManagedProcess}:
 * output appended to a log file, killed with the benchmark — and their resource usage from /proc.
 *
 * @module
 */
import { ManagedProcess, minimalEnv } from "../../test/harness/process.ts";

/** Resource usage of a process from /proc. */
export interface ProcUsage {
  /** Resident set size, bytes (`VmRSS`). */
  rss: number;
  /** Peak resident set size, bytes (`VmHWM`). */
  hwm: number;
  /** User + system CPU time of all threads, seconds (`utime` + `stime` of /proc/<pid>/stat). */
  cpuSeconds: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

/** Reads {@linkcode ProcUsage} of `pid`. */
export async function procUsage(pid: number): Promise<ProcUsage> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the parenthesised command name (which may contain spaces); utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rss: kib("VmRSS"), hwm: kib("VmHWM"), cpuSeconds: ticks / CLOCK_TICKS };
}

/** Options of {@linkcode startDenoScript}. */
export interface DenoScriptOptions {
  name: string;
  script: string;
  args: string[];
  /** Options of `deno run` before the script. */
  denoArgs?: string[];
  env?: Record<string, string>;
  logPath: string;
  cwd: string;
}

/**
 * Starts `deno run --allow-all <script> <args>` in `cwd` with exactly `env` (plus PATH, HOME, DENO_DIR, TMPDIR,
 * NO_COLOR), as the test harness's {@linkcode ManagedProcess}.
 */
export async function startDenoScript(options: DenoScriptOptions): Promise<ManagedProcess> {
  return await ManagedProcess.start({
    name: options.name,
    bin: Deno.execPath(),
    args: ["run", "--allow-all", ...(options.denoArgs ?? []), options.script, ...options.args],
    env: { ...minimalEnv(), ...options.env },
    clearEnv: true,
    cwd: options.cwd,
    logPath: options.logPath,
  });
}
