/**
 * `ccm`: the Equinix Metal cloud controller manager and its simulated Metal API, in one binary.
 *
 * @module
 */
import { Command } from "commander";
import "./metal/mod.ts";
import { VERSION } from "./provider/version.ts";

function buildCli(): Command {
  const program = new Command("ccm")
    .description("Kubernetes cloud controller manager for Equinix Metal, with a simulated Metal API")
    .showHelpAfterError();
  program.command("version").description("Print the version").action(() => {
    Deno.stdout.writeSync(new TextEncoder().encode(`${VERSION}\n`));
  });
  return program;
}

if (import.meta.main) {
  await buildCli().parseAsync(Deno.args, { from: "user" });
}
