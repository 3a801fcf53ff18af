/**
 * `ccm` itself as a child process of the integration tests: `deno run main.ts <args>` with exactly the
 * environment given, and `ccm fake-api` on a free port with a seed, returning the URLs it printed.
 *
 * @module
 */
import { ManagedProcess, minimalEnv } from "./process.ts";
import { waitFor } from "./wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Options of {@linkcode startMainProcess}. */
export interface MainProcessOptions {
  /** Short name for error messages. */
  name: string;
  /** Arguments of main.ts. */
  args: string[];
  /** The environment on top of {@linkcode minimalEnv} (nothing else is inherited). */
  env?: Record<string, string>;
  /** stdout and stderr are appended here. */
  logPath: string;
  /** `deno run` permission flags; default `--allow-all`. */
  permissions?: string[];
}

/** Starts `deno run --allow-all main.ts <args>` in the repository with exactly `env` (plus {@linkcode minimalEnv}). */
export async function startMainProcess(options: MainProcessOptions): Promise<ManagedProcess> {
  return await ManagedProcess.start({
    name: options.name,
    bin: Deno.execPath(),
    args: ["run", ...options.permissions ?? ["--allow-all"], "main.ts", ...options.args],
    env: { ...minimalEnv(), ...options.env },
    clearEnv: true,
    cwd: ROOT,
    logPath: options.logPath,
  });
}

/** A running `ccm fake-api` process and the URLs it printed. */
export interface FakeApiProcess {
  process: ManagedProcess;
  /** Simulator root, `http://127.0.0.1:<port>`. */
  url: string;
  /** `METAL_BASE_URL`. */
  baseUrl: string;
  /** Every `export METAL_*=` line it printed. */
  exports: Record<string, string>;
}

/** Starts `ccm fake-api` on a free port with `seed` (written to `<dir>/seed.json`), logging to `<dir>/fake-api.log`. */
export async function startFakeApi(
  options: { dir: string; seed: unknown; args?: string[] },
): Promise<FakeApiProcess> {
  const { dir } = options;
  await Deno.writeTextFile(`${dir}/seed.json`, JSON.stringify(options.seed));
  const process = await startMainProcess({
    name: "fake-api",
    args: [
      "fake-api",
      "--listen",
      "127.0.0.1:0",
      "--seed",
      `${dir}/seed.json`,
      "--logging-format",
      "text",
      ...options.args ?? [],
    ],
    logPath: `${dir}/fake-api.log`,
  });
  try {
    const exports = await waitFor(async () => {
      if (process.hasExited) throw new Error(`fake-api exited:\n${await process.logTail()}`);
      const text = await Deno.readTextFile(process.logPath).catch(() => "");
      const env: Record<string, string> = {};
      for (const m of text.matchAll(/^export (METAL_[A-Z_]+)=(\S+)$/gm)) env[m[1]!] = m[2]!;
      return env.METAL_BASE_URL ? env : undefined;
    }, { timeoutMs: 60_000, message: "fake-api to print its URLs" });
    const baseUrl = exports.METAL_BASE_URL!;
    return { process, url: new URL(baseUrl).origin, baseUrl, exports };
  } catch (err) {
    await process.kill("SIGKILL");
    throw err;
  }
}
