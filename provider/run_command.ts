/**
 * The `ccm run` subcommand: parses the upstream flag set and runs the cloud controller manager.
 *
 * @module
 */
import { Command } from "commander";
import { runController } from "./app.ts";
import { addRunFlags, FlagError, runOptionsFromCommand } from "./flags.ts";
import type { RunOptions } from "./options.ts";

/** Options of {@linkcode runCommand}. */
export interface RunCommandOptions {
  /** Runs the daemon; replaced in tests. @default {@linkcode runController} */
  run?: (options: RunOptions, signal: AbortSignal) => Promise<void>;
}

/** Builds the `run` subcommand. */
export function runCommand(commandOptions: RunCommandOptions = {}): Command {
  const run = commandOptions.run ?? ((options, signal) => runController(options, { signal }));
  const command = addRunFlags(new Command("run"))
    .description("Run the cloud controller manager, the in-cluster daemon (default command)")
    .usage("[flags]")
    .action(async () => {
      let options: RunOptions;
      try {
        options = runOptionsFromCommand(command);
      } catch (err) {
        if (err instanceof FlagError) {
          command.error(`error: ${err.message}`, { exitCode: 2, code: "ccm.flags" });
        }
        throw err;
      }
      await withShutdownSignal((signal) => run(options, signal));
    });
  return command;
}

/** Runs `fn` with a signal aborted on SIGINT or SIGTERM (SIGINT only on Windows), then removes the handlers. */
async function withShutdownSignal(fn: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort(new Error("Received a shutdown signal"));
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    await fn(controller.signal);
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
}
