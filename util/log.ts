/**
 * Logging setup: LogTape records written as klog-shaped JSON lines (default) or readable text, filtered by
 * klog-style verbosity (`-v`), with secrets removed twice: by field name (@logtape/redaction) and by value
 * (every registered secret is masked wherever it appears in a line).
 *
 * Code logs with `getLogger(["ccm", "<area>"])` from `@logtape/logtape`; only the entry points call
 * {@linkcode configureLogging}.
 *
 * @module
 */
import { configure, type LogLevel, type LogRecord, reset, type Sink } from "@logtape/logtape";
import { redactByField } from "@logtape/redaction";

/** Output format selected by `--logging-format`. */
export type LogFormat = "json" | "text";

/** Replacement for secret values. */
export const MASK = "<masked>";

/**
 * Property names whose values are always masked, at any depth. Exact names (case-insensitive), not broad
 * patterns such as /key/ or /address/, which would hide cache keys and IP addresses.
 */
export const REDACTED_FIELDS: readonly RegExp[] = [
  /^token$/i,
  /^api[-_]?key$/i,
  /^password$/i,
  /^bgp[-_]?pass(word)?$/i,
  /^secret$/i,
  /^authorization$/i,
  /^x-auth-token$/i,
];

/** Verbosity of records without an explicit numeric `v` property, by level (klog convention). */
const DEFAULT_VERBOSITY: Partial<Record<LogLevel, number>> = { trace: 5, debug: 4, info: 0 };

/** Options of {@linkcode configureLogging}. */
export interface LoggingOptions {
  /** Line format. @default {"json"} */
  format?: LogFormat;
  /** Highest verbosity shown (`-v`); warnings and errors are always shown. @default {0} */
  verbosity?: number;
  /** Receives each finished line including its newline. @default writes to stderr */
  write?: (line: string) => void;
}

/** Masks registered secret values in text; see {@linkcode registerSecret}. */
export class SecretMasker {
  #forms = new Set<string>();
  #regexp: RegExp | undefined;

  /** Adds a secret; empty and undefined values are ignored. Its JSON- and URL-escaped forms are masked too. */
  add(secret: string | undefined): void {
    if (secret === undefined || secret === "") return;
    const once = JSON.stringify(secret).slice(1, -1);
    for (const form of [secret, once, JSON.stringify(once).slice(1, -1), encodeURIComponent(secret)]) {
      this.#forms.add(form);
    }
    // Longest first, so a secret that contains another one is masked whole.
    const alternatives = [...this.#forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.#regexp = new RegExp(alternatives.join("|"), "g");
  }

  /** Returns `text` with every occurrence of a registered secret replaced by {@linkcode MASK}. */
  mask(text: string): string {
    return this.#regexp === undefined ? text : text.replace(this.#regexp, MASK);
  }

  /** Forgets all secrets. */
  clear(): void {
    this.#forms.clear();
    this.#regexp = undefined;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/** The process-wide masker used by every log line and by {@linkcode maskSecrets}. */
const secrets = new SecretMasker();

/**
 * Registers a secret value (API key, BGP password) so that no log line can contain it, whatever property or
 * message carries it. Call it as soon as the value is known, before logging anything about it.
 */
export function registerSecret(value: string | undefined): void {
  secrets.add(value);
}

/** Masks every registered secret in `text`; use it for output that bypasses the logger. */
export function maskSecrets(text: string): string {
  return secrets.mask(text);
}

/** Forgets every registered secret; for tests only. */
export function forgetSecretsForTesting(): void {
  secrets.clear();
}

/**
 * The klog verbosity of a record, or `undefined` for warnings and errors (always shown). A numeric `v`
 * property wins; otherwise info is 0, debug 4 and trace 5.
 */
export function recordVerbosity(record: LogRecord): number | undefined {
  const fallback = DEFAULT_VERBOSITY[record.level];
  if (fallback === undefined) return undefined;
  const v = record.properties.v;
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}

/** Renders a record's message parts; interpolated values are shown as text, errors by message. */
function renderMessage(record: LogRecord): string {
  return record.message.map((part, i) => (i % 2 === 0 ? String(part) : valueText(part))).join("");
}

function valueText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return errorText(value);
  return toJson(value) ?? String(value);
}

/** An error's message, followed by its causes when the message does not already include them. */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return typeof err === "string" ? err : toJson(err) ?? String(err);
  const message = err.message || err.name;
  if (err.cause === undefined) return message;
  const cause = errorText(err.cause);
  return message.includes(cause) ? message : `${message}: ${cause}`;
}

function toJson(value: unknown): string | undefined {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Error) return errorText(v);
    if (v instanceof Map) return Object.fromEntries(v);
    if (v instanceof Set) return [...v];
    if (typeof v === "object" && v !== null) {
      if (seen.has(v)) return "[Circular]";
      seen.add(v);
    }
    return v;
  });
}

const RESERVED_KEYS = new Set(["ts", "level", "logger", "msg", "v"]);

/**
 * Formats a record as one klog-shaped JSON object (no newline): `ts` (epoch milliseconds), `level` (only for
 * warnings and errors), `logger` (category joined by dots), `msg`, `v`, then the properties flattened, with
 * `err` rendered as its message. A property that collides with those keys is written as `_<key>`.
 */
export function formatJsonLine(record: LogRecord): string {
  const line: Record<string, unknown> = { ts: record.timestamp };
  const v = recordVerbosity(record);
  if (v === undefined) line.level = record.level;
  line.logger = record.category.join(".");
  line.msg = renderMessage(record);
  if (v !== undefined) line.v = v;
  const { err, ...rest } = record.properties;
  if (err !== undefined) line.err = errorText(err);
  for (const [key, value] of Object.entries(rest)) {
    if (key === "v") continue;
    line[RESERVED_KEYS.has(key) ? `_${key}` : key] = value;
  }
  return toJson(line) as string;
}

const LEVEL_LETTER: Record<LogLevel, string> = {
  trace: "I",
  debug: "I",
  info: "I",
  warning: "W",
  error: "E",
  fatal: "F",
};

/**
 * Formats a record as readable klog-style text (no newline), in UTC:
 * `I1121 21:02:00.123 ccm.app] "Started" key="value" err="..."`.
 */
export function formatTextLine(record: LogRecord): string {
  const time = new Date(record.timestamp).toISOString(); // 2025-11-21T21:02:00.123Z
  const stamp = `${LEVEL_LETTER[record.level]}${time.slice(5, 7)}${time.slice(8, 10)} ${time.slice(11, 23)}`;
  const parts = [`${stamp} ${record.category.join(".")}]`, JSON.stringify(renderMessage(record))];
  const { err, ...rest } = record.properties;
  for (const [key, value] of Object.entries(rest)) {
    if (key === "v") continue;
    parts.push(`${key}=${typeof value === "string" ? JSON.stringify(value) : valueText(value)}`);
  }
  if (err !== undefined) parts.push(`err=${JSON.stringify(errorText(err))}`);
  return parts.join(" ");
}

function writeToStderr(line: string): void {
  let bytes = new TextEncoder().encode(line);
  while (bytes.length > 0) bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
}

/**
 * Builds the sink {@linkcode configureLogging} installs: verbosity filter, field redaction, formatting and
 * value masking. Writes are synchronous, so nothing is lost when the process exits right after logging.
 */
export function createLogSink(options: LoggingOptions = {}): Sink {
  const { format = "json", verbosity = 0, write = writeToStderr } = options;
  const formatter = format === "text" ? formatTextLine : formatJsonLine;
  const sink: Sink = (record) => {
    const v = recordVerbosity(record);
    if (v !== undefined && v > verbosity) return;
    write(`${secrets.mask(formatter(record))}\n`);
  };
  // Empty values stay empty, so logs still tell "not set" from "set".
  const action = (value: unknown) => (value === "" || value === undefined || value === null ? value : MASK);
  return redactByField(sink, { fieldPatterns: [...REDACTED_FIELDS], action });
}

/**
 * Configures LogTape for the whole process (replacing any earlier configuration).
 *
 * @example Start-up of a command
 * ```ts
 * await configureLogging({ format: "json", verbosity: 2 });
 * getLogger(["ccm", "app"]).info("Started", { v: 2 });
 * ```
 */
export async function configureLogging(options: LoggingOptions = {}): Promise<void> {
  await configure({
    reset: true,
    sinks: { main: createLogSink(options) },
    loggers: [
      { category: [], sinks: ["main"], lowestLevel: "trace" },
      // LogTape's own diagnostics: only problems, and no start-up notice.
      { category: ["logtape", "meta"], sinks: ["main"], lowestLevel: "warning", parentSinks: "override" },
    ],
  });
}

/** Lines captured by {@linkcode captureLogs}; disposing it resets the logging configuration. */
export interface LogCapture extends AsyncDisposable {
  /** Every line written, in order, each ending with a newline. */
  readonly lines: string[];
  /** The lines parsed as JSON (only meaningful with the default JSON format). */
  records(): Record<string, unknown>[];
  /** All lines joined. */
  text(): string;
}

/**
 * Configures logging to collect lines in memory, for tests.
 *
 * @example
 * ```ts
 * await using logs = await captureLogs({ verbosity: 4 });
 * getLogger(["ccm"]).debug("Checked");
 * logs.records()[0]?.msg; // "Checked"
 * ```
 */
export async function captureLogs(options: Omit<LoggingOptions, "write"> = {}): Promise<LogCapture> {
  const lines: string[] = [];
  await configureLogging({ ...options, write: (line) => lines.push(line) });
  return {
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    text: () => lines.join(""),
    [Symbol.asyncDispose]: () => reset(),
  };
}
