/**
 * A child process for tests and benchmarks: output goes to a log file (and the start of stdout is kept for
 * {@linkcode ManagedProcess.waitForStdout}), `kill()`/`stop()` escalate to SIGKILL after a grace period, and any
 * process still running when the test runner exits is killed.
 *
 * @module
 */
import { errorMessage } from "../../util/errors.ts";

const running = new Set<Deno.ChildProcess>();
let unloadHooked = false;

function killAllOnUnload(): void {
  if (unloadHooked) return;
  unloadHooked = true;
  globalThis.addEventListener("unload", () => {
    for (const child of running) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

/** Options of {@linkcode ManagedProcess.start}. */
export interface StartProcessOptions {
  /** Short name for error messages (`etcd`, `kube-apiserver`). */
  name: string;
  bin: string;
  args: string[];
  /** stdout and stderr are appended here. */
  logPath: string;
  cwd?: string;
  /** Added to this process's environment, or the whole environment with `clearEnv`. */
  env?: Record<string, string>;
  /** Start from an empty environment (see {@linkcode minimalEnv}). */
  clearEnv?: boolean;
}

/** The environment of a child started with `clearEnv`: `NO_COLOR=1` plus PATH, HOME, DENO_DIR, TMPDIR if set. */
export function minimalEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const key of ["PATH", "HOME", "DENO_DIR", "TMPDIR"]) {
    const value = Deno.env.get(key);
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot be told to pick one). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** How much of stdout {@linkcode ManagedProcess.waitForStdout} sees. */
const STDOUT_KEPT = 65536;

let setprivPath: string | null | undefined;

/** `setpriv` (util-linux) makes the kernel kill the child when the test process dies, even by SIGKILL. */
function setpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  for (const candidate of ["/usr/bin/setpriv", "/bin/setpriv"]) {
    try {
      if (Deno.statSync(candidate).isFile) setprivPath = candidate;
    } catch {
      // not here
    }
  }
  return setprivPath;
}

/** A running child process with its log file. */
export class ManagedProcess {
  readonly name: string;
  readonly logPath: string;
  readonly pid: number;
  /** Resolves with the exit status when the process ends (for whatever reason). */
  readonly exited: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #pumps: Promise<void>;
  #exitedNow = false;
  #stdout = "";
  #stdoutWaiters: Array<() => void> = [];

  private constructor(options: StartProcessOptions, child: Deno.ChildProcess, log: Deno.FsFile) {
    this.name = options.name;
    this.logPath = options.logPath;
    this.pid = child.pid;
    this.#child = child;
    // Written synchronously: in Deno 2.9 writes through `FsFile.writable` only reach the file on close, and
    // `logTail()` reads the log while the process runs (e.g. when it does not become ready in time).
    const pump = async (stream: ReadableStream<Uint8Array>, keep: boolean) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        if (keep && this.#stdout.length < STDOUT_KEPT) {
          this.#stdout += decoder.decode(chunk, { stream: true });
          this.#wakeStdoutWaiters();
        }
        let rest = chunk;
        while (rest.length > 0) rest = rest.subarray(log.writeSync(rest));
      }
    };
    this.#pumps = Promise.all([pump(child.stdout, true), pump(child.stderr, false)]).then(() => {}).finally(
      () => {
        try {
          log.close();
        } catch {
          // already closed
        }
      },
    );
    this.exited = child.status.then(async (status) => {
      this.#exitedNow = true;
      running.delete(child);
      this.#wakeStdoutWaiters();
      await this.#pumps.catch(() => {});
      return status;
    });
  }

  /** Spawns the process. Throws a clear error when the binary cannot be run. */
  static async start(options: StartProcessOptions): Promise<ManagedProcess> {
    const log = await Deno.open(options.logPath, { create: true, append: true });
    let child: Deno.ChildProcess;
    try {
      const wrapper = setpriv();
      child = new Deno.Command(wrapper ?? options.bin, {
        args: wrapper ? ["--pdeathsig", "SIGKILL", "--", options.bin, ...options.args] : options.args,
        cwd: options.cwd,
        env: options.env,
        clearEnv: options.clearEnv,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      log.close();
      throw new Error(`Failed to start ${options.name} "${options.bin}": ${errorMessage(err)}`, {
        cause: err,
      });
    }
    killAllOnUnload();
    running.add(child);
    return new ManagedProcess(options, child, log);
  }

  /** Whether the process has ended. */
  get hasExited(): boolean {
    return this.#exitedNow;
  }

  /** Sends `signal` without waiting and without escalation (SIGSTOP, SIGCONT...); nothing once it is gone. */
  signal(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // already gone
    }
  }

  /**
   * Sends `signal` (SIGKILL: no chance to clean up), then SIGKILL after `graceMs`; resolves once the process
   * has exited and its log is flushed.
   */
  async kill(signal: Deno.Signal = "SIGTERM", graceMs = 10_000): Promise<void> {
    if (!this.#exitedNow) {
      this.signal(signal);
      const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
      try {
        await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited and its log is flushed. */
  stop(graceMs = 10_000): Promise<void> {
    return this.kill("SIGTERM", graceMs);
  }

  /** Waits until stdout matches `pattern`; rejects when the process exits or `timeoutMs` passes first. */
  async waitForStdout(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.#stdout);
      if (match) return match;
      if (this.#exitedNow) {
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

  #wakeStdoutWaiters(): void {
    for (const wake of this.#stdoutWaiters.splice(0)) wake();
  }

  /** The last `lines` lines of the log, for error messages. */
  async logTail(lines = 40): Promise<string> {
    try {
      const text = await Deno.readTextFile(this.logPath);
      return text.trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }
}
