/**
 * Runs `ccm run` as a real process with the `fake` provider (test/fixtures/ccm_with_fake_provider.ts), its
 * provider calls logged to a file, for tests of leader election and shutdown. The process itself is the
 * harness's {@linkcode ManagedProcess} (log written as it comes, killed when the test runner exits).
 *
 * @module
 */
import type { FakeCall, FakeProviderState } from "../provider/testing/fake_provider.ts";
import type { TestCluster } from "./harness/mod.ts";
import { ManagedProcess } from "./harness/process.ts";

const ENTRY = new URL("./fixtures/ccm_with_fake_provider.ts", import.meta.url).pathname;

/** Writes the fake provider's state file shared by the processes of one test. */
export async function writeFakeState(path: string, state: FakeProviderState): Promise<void> {
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(state));
  await Deno.rename(tmp, path); // atomic: a process never reads half a file
}

/** One `ccm run` process. */
export class CcmProcess {
  readonly tag: string;
  readonly callLog: string;
  #process: ManagedProcess;

  private constructor(tag: string, callLog: string, process: ManagedProcess) {
    this.tag = tag;
    this.callLog = callLog;
    this.#process = process;
  }

  /**
   * Starts `ccm run --cloud-provider=fake` against `cluster`; `stateFile` is shared between processes, the call
   * log is per process (`<dir>/calls-<tag>.jsonl`), the output goes to `<dir>/ccm-<tag>.log`.
   */
  static async start(
    options: { cluster: TestCluster; dir: string; tag: string; stateFile: string; args?: string[] },
  ): Promise<CcmProcess> {
    const { dir, tag } = options;
    const configPath = `${dir}/cloud-config-${tag}.json`;
    const callLog = `${dir}/calls-${tag}.jsonl`;
    await Deno.writeTextFile(configPath, JSON.stringify({ stateFile: options.stateFile, callLog, tag }));
    const process = await ManagedProcess.start({
      name: `ccm ${tag}`,
      bin: Deno.execPath(),
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
      logPath: `${dir}/ccm-${tag}.log`,
    });
    return new CcmProcess(tag, callLog, process);
  }

  /** stdout and stderr, written as they come. */
  get logPath(): string {
    return this.#process.logPath;
  }

  /** Resolves with the exit status once the process has exited and its log is complete. */
  get exited(): Promise<Deno.CommandStatus> {
    return this.#process.exited;
  }

  get hasExited(): boolean {
    return this.#process.hasExited;
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
    this.#process.signal(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit status. */
  async stop(graceMs = 10_000): Promise<Deno.CommandStatus> {
    await this.#process.stop(graceMs);
    return await this.#process.exited;
  }

  /** Last lines of the log, for failure messages. */
  logTail(lines = 40): Promise<string> {
    return this.#process.logTail(lines);
  }
}
