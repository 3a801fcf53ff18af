/**
 * The release binary runs with the V8 flags of `.ci/v8-flags` (`--optimize-for-size`: bench/RESULTS.md, memory):
 * both places that compile it pass them, `deno task ccm` runs with them, and so do the benchmarks.
 */
import { equal, match } from "node:assert/strict";
import { shippedV8Flags } from "../bench/lib/system.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test(".ci/v8-flags is one comma-separated list of V8 flags, and the benchmarks use it", async () => {
  const text = (await Deno.readTextFile(`${ROOT}.ci/v8-flags`)).trim();
  match(text, /^--[a-z0-9-]+(=[^,\s]+)?(,--[a-z0-9-]+(=[^,\s]+)?)*$/);
  equal(await shippedV8Flags(), text);
});

Deno.test("the release build and the image compile ccm with the flags of .ci/v8-flags", async () => {
  const build = await Deno.readTextFile(`${ROOT}.ci/build.sh`);
  match(build, /v8_flags="\$\(tr -d '\[:space:\]' <"\$root\/\.ci\/v8-flags"\)"/);
  match(build, /"\$deno" compile [^\n]*--v8-flags="\$v8_flags"/);
  const dockerfile = await Deno.readTextFile(`${ROOT}Dockerfile`);
  match(dockerfile, /deno compile [^\n]*--v8-flags="\$\(tr -d '\[:space:\]' < \.ci\/v8-flags\)"/);
});

Deno.test("`deno task ccm` (the development path) runs with the flags of .ci/v8-flags too", async () => {
  const flags = (await Deno.readTextFile(`${ROOT}.ci/v8-flags`)).trim();
  const tasks =
    (JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as { tasks: Record<string, string> }).tasks;
  equal(tasks.ccm, `deno run --allow-all --v8-flags=${flags} main.ts`);
});
