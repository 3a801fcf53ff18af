/**
 * Child processes of the benchmarks (`ccm fake-api`, `ccm run`): output appended to a log file, killed with
 * the benchmark (`setpriv --pdeathsig` when available), and readable resource usage from /proc.
 *
 * @module
 */

const live = new Set<Deno.ChildProcess>();
globalThis.addEventListener("unload", () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }
});

function setpriv(): string | undefined {
  for (const candidate of ["/usr/bin/setpriv", "/bin/setpriv"]) {
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

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

/** A running child with its log. */
export class BenchProcess {
  readonly name: string;
  readonly logPath: string;
  readonly pid: number;
  readonly exited: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #done = false;
  #stdout = "";
  #stdoutWaiters: Array<() => void> = [];

  private constructor(name: string, logPath: string, child: Deno.ChildProcess, log: Deno.FsFile) {
    this.name = name;
    this.logPath = logPath;
    this.pid = child.pid;
    this.#child = child;
    const pump = async (stream: ReadableStream<Uint8Array>, keep: boolean) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        if (keep && this.#stdout.length < 65536) {
          this.#stdout += decoder.decode(chunk, { stream: true });
          for (const wake of this.#stdoutWaiters.splice(0)) wake();
        }
        let rest = chunk;
        while (rest.length > 0) rest = rest.subarray(log.writeSync(rest));
      }
    };
    const pumps = Promise.all([pump(child.stdout, true), pump(child.stderr, false)]).finally(() =>
      log.close()
    );
    this.exited = child.status.then(async (status) => {
      this.#done = true;
      live.delete(child);
      for (const wake of this.#stdoutWaiters.splice(0)) wake();
      await pumps.catch(() => {});
      return status;
    });
  }

  /** Starts `deno run --allow-all <script> <args>` in `cwd` with exactly `env` (plus PATH, HOME, DENO_DIR). */
  static async start(
    options: {
      name: string;
      script: string;
      args: string[];
      /** Options of `deno run` before the script. */
      denoArgs?: string[];
      env?: Record<string, string>;
      logPath: string;
      cwd: string;
    },
  ): Promise<BenchProcess> {
    const env: Record<string, string> = { NO_COLOR: "1" };
    for (const key of ["PATH", "HOME", "DENO_DIR", "TMPDIR"]) {
      const value = Deno.env.get(key);
      if (value !== undefined) env[key] = value;
    }
    const log = await Deno.open(options.logPath, { create: true, append: true });
    const argv = [
      Deno.execPath(),
      "run",
      "--allow-all",
      ...(options.denoArgs ?? []),
      options.script,
      ...options.args,
    ];
    const wrapper = setpriv();
    const cmd = wrapper ? [wrapper, "--pdeathsig", "SIGKILL", "--", ...argv] : argv;
    const child = new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      env: { ...env, ...options.env },
      clearEnv: true,
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    live.add(child);
    return new BenchProcess(options.name, options.logPath, child, log);
  }

  get hasExited(): boolean {
    return this.#done;
  }

  /** Waits until stdout matches `pattern`; rejects when the process exits or `timeoutMs` passes first. */
  async waitForStdout(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.#stdout);
      if (match) return match;
      if (this.#done) {
        throw new Error(`${this.name} exited before printing ${pattern}:\n${await this.logTail()}`);
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.#stdoutWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resource usage now. */
  usage(): Promise<ProcUsage> {
    return procUsage(this.pid);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.#done) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // gone
      }
      const timer = setTimeout(() => {
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }

  async logTail(lines = 40): Promise<string> {
    const text = await Deno.readTextFile(this.logPath).catch(() => "");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  }
}
