import { deepEqual, equal, match } from "node:assert/strict";
import { readmeTableCells, renderSettingsTable, tableCells, updateReadme } from "./metal/settings_docs.ts";
import { METAL_SETTINGS } from "./metal/settings.ts";

const README = await Deno.readTextFile(new URL("./README.md", import.meta.url));

Deno.test("README's configuration table matches metal/settings.ts (run 'make docs' to update it)", () => {
  deepEqual(readmeTableCells(README), tableCells(renderSettingsTable()));
});

Deno.test("the configuration table lists every setting's variable, key and default", () => {
  const cells = tableCells(renderSettingsTable());
  equal(cells.length, METAL_SETTINGS.length + 2);
  for (const [i, setting] of METAL_SETTINGS.entries()) {
    const [env = "", json = "", defaultValue = ""] = cells[i + 2] ?? [];
    equal(env.includes(`\`${setting.env}\``), true, setting.env);
    if (setting.fileEnv) equal(env.includes(`\`${setting.fileEnv}\``), true, setting.fileEnv);
    equal(json, setting.json === undefined ? "—" : `\`${setting.json}\``);
    if (setting.default !== "" && setting.type !== "presence") equal(defaultValue, `\`${setting.default}\``);
  }
});

Deno.test("updateReadme() replaces only the text between the markers", () => {
  const readme = updateReadme(README);
  deepEqual(readmeTableCells(readme), tableCells(renderSettingsTable()));
  equal(readme.split("<!-- settings-table:end -->")[1], README.split("<!-- settings-table:end -->")[1]);
});

Deno.test("README's quick start has exactly two commands: one runs the main job, one runs all tests", () => {
  const quickStart = README.split("## Quick start")[1]?.split("\n## ")[0] ?? "";
  const block = quickStart.match(/```sh\n([\s\S]*?)```/)?.[1] ?? "";
  const commands = block.split("\n").map((line) => line.replace(/#.*$/, "").trim()).filter((line) =>
    line !== ""
  );
  equal(commands.length, 2, block);
  match(commands[1] as string, /^make test$/);
});
