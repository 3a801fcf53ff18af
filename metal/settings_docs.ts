/**
 * Renders the README's configuration table from {@linkcode METAL_SETTINGS}, so the documentation cannot drift
 * from the code. `make docs` rewrites the README (then `deno fmt` aligns it); `readme_test.ts` compares the
 * table's cells with the settings and fails when they differ.
 *
 * Usage: `deno run --allow-read --allow-write metal/settings_docs.ts --write` (or `--check`).
 *
 * @module
 */
import { METAL_SETTINGS, type MetalSetting } from "./settings.ts";

/** Marks the start of the generated table in README.md. */
export const TABLE_BEGIN = "<!-- settings-table:begin (generated from metal/settings.ts by `make docs`) -->";
/** Marks its end. */
export const TABLE_END = "<!-- settings-table:end -->";

function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

function defaultText(setting: MetalSetting): string {
  if (setting.type === "presence") return "unset";
  if (setting.default === "") return setting.required ? "— (required)" : "empty";
  return `\`${setting.default}\``;
}

/** The Markdown table: environment variable, `cloud-sa.json` key, default, description. */
export function renderSettingsTable(): string {
  const rows = METAL_SETTINGS.map((setting) => {
    const env = setting.fileEnv === undefined
      ? `\`${setting.env}\``
      : `\`${setting.env}\` or \`${setting.fileEnv}\``;
    const json = setting.json === undefined ? "—" : `\`${setting.json}\``;
    return `| ${cell(env)} | ${cell(json)} | ${cell(defaultText(setting))} | ${cell(setting.description)} |`;
  });
  return [
    "| Environment variable | `cloud-sa.json` key | Default | Description |",
    "| --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/**
 * Returns `readme` with the text between {@linkcode TABLE_BEGIN} and {@linkcode TABLE_END} replaced by the
 * current table.
 *
 * @throws {Error} When the markers are missing.
 */
export function updateReadme(readme: string): string {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  if (begin < 0 || end < begin) {
    throw new Error(`Cannot update the README: it needs the markers '${TABLE_BEGIN}' and '${TABLE_END}'`);
  }
  return `${readme.slice(0, begin + TABLE_BEGIN.length)}\n${renderSettingsTable()}\n${readme.slice(end)}`;
}

/** The cells of every Markdown table row (header and separator included), trimmed, from `markdown`. */
export function tableCells(markdown: string): string[][] {
  return markdown.split("\n")
    .filter((line) => line.trimStart().startsWith("|"))
    .map((line) =>
      line.trim().slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/^-+$/, "---"))
    );
}

/** The table currently between the markers of `readme`, as cells; empty when the markers are missing. */
export function readmeTableCells(readme: string): string[][] {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  return begin < 0 || end < begin ? [] : tableCells(readme.slice(begin + TABLE_BEGIN.length, end));
}

if (import.meta.main) {
  const path = new URL("../README.md", import.meta.url);
  const readme = await Deno.readTextFile(path);
  if (Deno.args.includes("--write")) {
    await Deno.writeTextFile(path, updateReadme(readme));
  } else if (JSON.stringify(readmeTableCells(readme)) !== JSON.stringify(tableCells(renderSettingsTable()))) {
    Deno.stderr.writeSync(new TextEncoder().encode("README.md is out of date; run 'make docs'\n"));
    Deno.exit(1);
  }
}
