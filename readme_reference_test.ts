/**
 * The README's "Metrics and Events reference" lists exactly the metrics and Event reasons the code defines, so
 * the documentation cannot drift: a metric or reason added, renamed or removed in the code fails this test
 * until the README's tables follow. Names are read from the product's sources (provider/ and metal/, tests and
 * test helpers excluded), the same way a reviewer would find them.
 */
import { deepEqual, fail, ok } from "node:assert/strict";

const ROOT = new URL("./", import.meta.url);
const README = await Deno.readTextFile(new URL("README.md", ROOT));

interface Source {
  path: string;
  text: string;
}

/** Product sources: every `.ts` under `provider/` and `metal/` except tests and test helpers. */
async function productSources(): Promise<Source[]> {
  const sources: Source[] = [];
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) {
        if (entry.name !== "testing") await walk(`${path}/`);
      } else if (
        entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts") &&
        !["testing.ts", "test_util.ts"].includes(entry.name)
      ) {
        sources.push({ path, text: await Deno.readTextFile(new URL(path, ROOT)) });
      }
    }
  }
  await walk("provider/");
  await walk("metal/");
  return sources;
}

const SOURCES = await productSources();

/** First-column code spans of the Markdown table that follows `marker` in the README. */
function referenceColumn(marker: string): string[] {
  const start = README.indexOf(marker);
  ok(start >= 0, `README.md lacks the marker '${marker}' before its table`);
  const lines = README.slice(start).split("\n").slice(1);
  const table = lines.slice(lines.findIndex((l) => l.startsWith("|")));
  const rows = table.slice(0, table.findIndex((l) => !l.startsWith("|"))).slice(2);
  return rows.flatMap((row) => [...(row.split("|")[1] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
}

function sorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

function compare(what: string, inCode: string[], inReadme: string[]): void {
  const missing = inCode.filter((n) => !inReadme.includes(n));
  const stale = inReadme.filter((n) => !inCode.includes(n));
  deepEqual(
    { missing, stale },
    { missing: [], stale: [] },
    `README.md's ${what} table is out of date: add ${JSON.stringify(missing)}, remove ${
      JSON.stringify(stale)
    }`,
  );
}

// Metrics

/** A Prometheus metric name as a string literal; every metric of ours has an underscore (labels need not). */
const METRIC = String.raw`"([a-zA-Z:][a-zA-Z0-9:]*_[a-zA-Z0-9_:]*)"`;
/** How the code names metrics: `name: "..."`, `const name = "..."`, a `counter(registry, "...")` helper. */
const METRIC_NAME_PATTERNS = [
  new RegExp(String.raw`\bname:\s*${METRIC}`, "g"),
  new RegExp(String.raw`\bconst name = ${METRIC}`, "g"),
  new RegExp(String.raw`\bcounter\(\s*[\w.#]+,\s*${METRIC}`, "g"),
];
/** Exported name tables such as `METAL_API_METRIC_NAMES = Object.freeze({ ... })`. */
const METRIC_NAME_TABLE = /_METRIC_NAMES = Object\.freeze\(\{([\s\S]*?)\}\)/g;

function metricsInCode(): string[] {
  const names: string[] = [];
  for (const { path, text } of SOURCES) {
    if (!text.includes('from "prom-client"')) continue;
    const found: string[] = [];
    for (const pattern of METRIC_NAME_PATTERNS) for (const m of text.matchAll(pattern)) found.push(m[1]!);
    for (const table of text.matchAll(METRIC_NAME_TABLE)) {
      for (const m of table[1]!.matchAll(new RegExp(String.raw`:\s*${METRIC}`, "g"))) found.push(m[1]!);
    }
    const constructed = text.match(/\bnew (Counter|Gauge|Histogram|Summary)\b/g)?.length ?? 0;
    if (constructed > 0 && found.length === 0) {
      fail(
        `${path} creates metrics whose names this test cannot find; give them as \`name: "..."\` literals ` +
          "or in an exported *_METRIC_NAMES table",
      );
    }
    names.push(...found);
  }
  return sorted(names);
}

Deno.test("README's metrics reference lists every metric the code registers, and no other", () => {
  const inCode = metricsInCode();
  ok(inCode.length > 30 && inCode.includes("workqueue_depth"), `too few metrics found: ${inCode}`);
  compare("metrics", inCode, sorted(referenceColumn("<!-- metrics-reference")));
});

// Event reasons

/** The arguments of the call whose `(` is at `open`, as source text, split at top-level commas. */
function callArguments(text: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === "`") {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === "\\") i++;
    } else if ("([{".includes(c)) {
      depth++;
    } else if (")]}".includes(c)) {
      if (depth === 0) {
        args.push(text.slice(start, i).trim());
        return args.filter((a) => a !== "");
      }
      depth--;
    } else if (c === "," && depth === 0) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  return args;
}

/** `*_EVENT_REASONS = Object.freeze({ ... })` tables and `REASON_* = "..."` constants. */
function reasonConstants(): string[] {
  const reasons: string[] = [];
  for (const { text } of SOURCES) {
    for (const table of text.matchAll(/_EVENT_REASONS = Object\.freeze\(\{([\s\S]*?)\}\)/g)) {
      for (const m of table[1]!.matchAll(/:\s*"(\w+)"/g)) reasons.push(m[1]!);
    }
    for (const m of text.matchAll(/\bconst REASON_\w+ = "(\w+)"/g)) reasons.push(m[1]!);
  }
  return reasons;
}

function source(path: string): string {
  const found = SOURCES.find((s) => s.path === path);
  if (found === undefined) fail(`${path} is gone; update readme_reference_test.ts`);
  return found.text;
}

/**
 * Reasons passed on through a value rather than named at the call: the Service changes the service controller
 * reports (those with a message; upstream records no Event for the others) and the device address errors.
 */
const INDIRECT_REASONS: Record<string, () => string[]> = {
  "change.reason": () =>
    [...source("provider/controllers/service_logic.ts").matchAll(/reason:\s*"(\w+)",\s*message:/g)].map((m) =>
      m[1]!
    ),
  "err.reason": () => {
    const union = /readonly reason:\s*([^;]+);/.exec(source("metal/device_addresses.ts"))?.[1] ?? "";
    return [...union.matchAll(/"(\w+)"/g)].map((m) => m[1]!);
  },
  // A local variable or parameter filled from a *_EVENT_REASONS table (control-plane EIP, BGP node failures).
  "reason": () => [],
};

function eventReasonsInCode(): string[] {
  const reasons = reasonConstants();
  for (const { path, text } of SOURCES) {
    for (const call of text.matchAll(/[rR]ecorder\??\.(event|warn)\(/g)) {
      const lineStart = text.lastIndexOf("\n", call.index) + 1;
      if (/^\s*(\*|\/\/)/.test(text.slice(lineStart, call.index))) continue; // documentation
      const args = callArguments(text, call.index! + call[0].length - 1);
      const reason = args[call[1] === "event" ? 2 : 1] ?? "";
      const line = text.slice(0, call.index).split("\n").length;
      if (/^"\w+"$/.test(reason)) {
        reasons.push(reason.slice(1, -1));
      } else if (reason in INDIRECT_REASONS) {
        reasons.push(...INDIRECT_REASONS[reason]!());
      } else if (!/^([A-Z_]+_EVENT_REASONS\.\w+|REASON_[A-Z_]+)$/.test(reason)) {
        fail(
          `${path}:${line}: this test cannot read the Event reason \`${reason}\`; use a string literal or a ` +
            "*_EVENT_REASONS table entry (or teach INDIRECT_REASONS where it comes from)",
        );
      }
    }
  }
  return sorted(reasons);
}

Deno.test("README's Events reference lists every Event reason the code records, and no other", () => {
  const inCode = eventReasonsInCode();
  ok(inCode.length > 30 && inCode.includes("Synced"), `too few Event reasons found: ${inCode}`);
  compare("Events", inCode, sorted(referenceColumn("<!-- events-reference")));
});
