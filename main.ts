/**
 * `ccm`: the Equinix Metal cloud controller manager and its simulated Metal API, in one binary.
 *
 * `run` is the default command, so the upstream image's arguments (`--cloud-provider=equinixmetal ...`, no
 * subcommand) keep working.
 *
 * Exit codes: 0 success, 1 runtime failure (for example invalid configuration), 2 usage error (unknown flag,
 * bad value).
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import { getConfig, getLogger } from "@logtape/logtape";
import "./metal/mod.ts";
import { fakeApiCommand } from "./fake_api/command.ts";
import { errorText, maskSecrets } from "./util/log.ts";
import { runCommand } from "./provider/app.ts";
import { VERSION } from "./provider/version.ts";

/** Builds the `ccm` program with its subcommands. */
export function buildCli(): Command {
  const program = new Command("ccm")
    .description("Kubernetes cloud controller manager for Equinix Metal, with a simulated Metal API")
    .usage("<command> [flags]")
    .version(VERSION, "--version", "Print the version");
  program.addCommand(runCommand(), { isDefault: true });
  program.addCommand(fakeApiCommand());
  program.command("version").description("Print the version").action(() => {
    Deno.stdout.writeSync(new TextEncoder().encode(`${VERSION}\n`));
  });
  configureErrors(program, "ccm");
  return program;
}

/** Usage errors print what was wrong, the usage line and where to get help; exits go through `main`. */
function configureErrors(command: Command, path: string): void {
  command
    .exitOverride()
    .showHelpAfterError(`Usage: ${path} ${command.usage()}\nRun '${path} --help' for more information.`);
  for (const sub of command.commands) configureErrors(sub, `${path} ${sub.name()}`);
}

/**
 * Runs the CLI and returns the exit code: 0 after success or help, 2 for usage errors, 1 for failures (logged
 * as one fatal line, secrets masked).
 */
export async function main(args: readonly string[]): Promise<number> {
  try {
    await buildCli().parseAsync([...args], { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (getConfig() !== null) {
      getLogger(["ccm"]).fatal("Stopped with an error", { err });
    } else {
      Deno.stderr.writeSync(new TextEncoder().encode(`error: ${maskSecrets(errorText(err))}\n`));
    }
    return 1;
  }
}

if (import.meta.main) {
  const code = await main(Deno.args);
  if (code !== 0) Deno.exit(code);
}
