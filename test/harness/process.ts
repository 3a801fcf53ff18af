/**
 * A child process for tests: output goes to a log file, `stop()` sends SIGTERM then SIGKILL, and any process
 * still running when the test runner exits is killed.
 *
 * @module
 */

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
}

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
  /** Resolves with the exit status when the process ends (for whatever reason). */
  readonly exited: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #pumps: Promise<void>;
  #exitedNow = false;

  private constructor(options: StartProcessOptions, child: Deno.ChildProcess, log: Deno.FsFile) {
    this.name = options.name;
    this.logPath = options.logPath;
    this.#child = child;
    // Written synchronously: in Deno 2.9 writes through `FsFile.writable` only reach the file on close, and
    // `logTail()` reads the log while the process runs (e.g. when it does not become ready in time).
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) {
        let rest = chunk;
        while (rest.length > 0) rest = rest.subarray(log.writeSync(rest));
      }
    };
    this.#pumps = Promise.all([pump(child.stdout), pump(child.stderr)]).then(() => {}).finally(() => {
      try {
        log.close();
      } catch {
        // already closed
      }
    });
    this.exited = child.status.then(async (status) => {
      this.#exitedNow = true;
      running.delete(child);
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
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      log.close();
      throw new Error(`Failed to start ${options.name} "${options.bin}": ${(err as Error).message}`, {
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

  /** Sends `signal` (no escalation); does nothing once the process is gone. */
  kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // already gone
    }
  }

  /** Sends SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited and its log is flushed. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.#exitedNow) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // exited in the meantime
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          try {
            this.#child.kill("SIGKILL");
          } catch {
            // exited in the meantime
          }
          resolve();
        }, graceMs);
      });
      await Promise.race([this.exited, killed]);
      clearTimeout(timer);
    }
    await this.exited;
  }

  /** The last `lines` lines of the log, for error messages. */
  async logTail(lines = 30): Promise<string> {
    try {
      const text = await Deno.readTextFile(this.logPath);
      return text.trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }
}
