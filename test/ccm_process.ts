/**
 * Runs `ccm run` as a real process with the `fake` provider (test/fixtures/ccm_with_fake_provider.ts), its
 * provider calls logged to a file, for tests of leader election and shutdown.
 *
 * @module
 */
import type { FakeCall, FakeProviderState } from "../provider/testing/fake_provider.ts";
import type { TestCluster } from "./harness/mod.ts";

const ENTRY = new URL("./fixtures/ccm_with_fake_provider.ts", import.meta.url).pathname;
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

/** Writes the fake provider's state file shared by the processes of one test. */
export async function writeFakeState(path: string, state: FakeProviderState): Promise<void> {
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(state));
  await Deno.rename(tmp, path); // atomic: a process never reads half a file
}

/** One `ccm run` process. */
export class CcmProcess {
  readonly tag: string;
  readonly logPath: string;
  readonly callLog: string;
  /** Resolves with the exit status. */
  readonly exited: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #done = false;

  private constructor(tag: string, dir: string, child: Deno.ChildProcess, log: Deno.FsFile) {
    this.tag = tag;
    this.logPath = `${dir}/ccm-${tag}.log`;
    this.callLog = `${dir}/calls-${tag}.jsonl`;
    this.#child = child;
    const writer = log.writable.getWriter();
    let writes = Promise.resolve();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) writes = writes.then(() => writer.write(chunk));
    };
    const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]).then(() => writes).finally(() =>
      writer.close().catch(() => {})
    );
    this.exited = child.status.then(async (status) => {
      this.#done = true;
      live.delete(child);
      await pumps.catch(() => {});
      return status;
    });
  }

  /**
   * Starts `ccm run --cloud-provider=fake` against `cluster`; `stateFile` is shared between processes, the call
   * log is per process (`<dir>/calls-<tag>.jsonl`).
   */
  static async start(
    options: { cluster: TestCluster; dir: string; tag: string; stateFile: string; args?: string[] },
  ): Promise<CcmProcess> {
    const { dir, tag } = options;
    const configPath = `${dir}/cloud-config-${tag}.json`;
    await Deno.writeTextFile(
      configPath,
      JSON.stringify({ stateFile: options.stateFile, callLog: `${dir}/calls-${tag}.jsonl`, tag }),
    );
    const log = await Deno.open(`${dir}/ccm-${tag}.log`, { create: true, append: true });
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        ENTRY,
        "run",
        "--cloud-provider=fake",
        `--cloud-config=${configPath}`,
        `--kubeconfig=${options.cluster.kubeconfigPath}`,
        "--secure-port=0",
        ...(options.args ?? []),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    live.add(child);
    return new CcmProcess(tag, dir, child, log);
  }

  get hasExited(): boolean {
    return this.#done;
  }

  /** Provider calls this process made so far. */
  async calls(): Promise<FakeCall[]> {
    try {
      const text = await Deno.readTextFile(this.callLog);
      return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as FakeCall);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw err;
    }
  }

  /** Sends `signal` (no escalation). */
  kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // already gone
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit status. */
  async stop(graceMs = 10_000): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Last lines of the log, for failure messages. */
  async logTail(lines = 40): Promise<string> {
    try {
      return (await Deno.readTextFile(this.logPath)).trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }
}
