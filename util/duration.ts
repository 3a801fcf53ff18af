/**
 * Go `time.Duration` text: parsing (`15s`, `1m30s`, `300ms`, `1.5h`, `0`) and formatting (`5m0s`), so flags
 * keep the syntax Kubernetes manifests already use.
 *
 * @module
 */

const NANOS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  "µs": 1e3, // U+00B5 micro sign
  "μs": 1e3, // U+03BC Greek small letter mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Largest magnitude Go accepts: int64 nanoseconds (about 292 years). */
const MAX_NANOS = 9_223_372_036_854_775_807;

const COMPONENT_REGEXP = /^(\d*)(?:\.(\d*))?([^\d.]+)/;

/**
 * Parses a Go duration string and returns it in milliseconds (fractional for sub-millisecond parts).
 *
 * Accepts the same grammar as Go's `time.ParseDuration`: an optional sign, then one or more decimal numbers
 * each followed by a unit (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), or the bare `0`.
 *
 * @example Parse a flag value
 * ```ts
 * parseDuration("1m30s"); // 90000
 * parseDuration("300ms"); // 300
 * ```
 *
 * @param text The duration text, for example `15s`.
 * @returns The duration in milliseconds.
 * @throws {SyntaxError} When `text` is not a Go duration; the message quotes it and shows valid examples.
 * @throws {RangeError} When the duration does not fit Go's int64 nanoseconds.
 */
export function parseDuration(text: string): number {
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw invalid(text, "it is empty");

  let nanos = 0;
  while (rest !== "") {
    const match = COMPONENT_REGEXP.exec(rest);
    if (match === null) throw invalid(text, "expected a number followed by a unit");
    const [whole, intPart = "", fracPart, unit = ""] = match;
    if (intPart === "" && (fracPart === undefined || fracPart === "")) {
      throw invalid(text, "expected a number before the unit");
    }
    const unitNanos = NANOS_PER_UNIT[unit];
    if (unitNanos === undefined) {
      throw invalid(text, `unknown unit '${unit}'; use ns, us, ms, s, m or h`);
    }
    nanos += Number(`${intPart || "0"}.${fracPart ?? ""}0`) * unitNanos;
    rest = rest.slice(whole.length);
  }
  if (nanos > MAX_NANOS) {
    throw new RangeError(`Cannot use duration '${text}': it is longer than Go's maximum of about 292 years`);
  }
  // Rounding to whole nanoseconds avoids 0.30000000000000004-style artefacts from decimal fractions.
  return sign * Math.round(nanos) / 1e6 || 0;
}

function invalid(text: string, why: string): SyntaxError {
  return new SyntaxError(
    `Cannot parse duration '${text}': ${why}; use Go duration syntax such as '15s', '1m30s', '300ms' or '1.5h'`,
  );
}

/**
 * Formats milliseconds the way Go's `Duration.String` does (`5m0s`, `12h0m0s`, `1.5s`, `300ms`, `0s`).
 *
 * @example Show a default in help text
 * ```ts
 * formatDuration(300_000); // "5m0s"
 * ```
 *
 * @param ms The duration in milliseconds.
 * @returns The Go representation.
 */
export function formatDuration(ms: number): string {
  let nanos = Math.round(Math.abs(ms) * 1e6);
  const sign = ms < 0 && nanos !== 0 ? "-" : "";
  if (nanos === 0) return "0s";
  if (nanos < 1e9) {
    // Below one second Go picks the largest unit that keeps a whole part: ns, µs or ms.
    const [unit, size] = nanos < 1e3 ? ["ns", 1] : nanos < 1e6 ? ["µs", 1e3] : ["ms", 1e6];
    return `${sign}${trimFraction(nanos / size)}${unit}`;
  }
  const hours = Math.floor(nanos / 3600e9);
  nanos -= hours * 3600e9;
  const minutes = Math.floor(nanos / 60e9);
  nanos -= minutes * 60e9;
  const seconds = trimFraction(nanos / 1e9);
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

function trimFraction(value: number): string {
  return String(Number(value.toFixed(9)));
}
