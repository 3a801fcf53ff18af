/**
 * Parsing of `ccm run` flags with Kubernetes (pflag) semantics — `--flag=value`, `--leader-elect[=bool]`, Go
 * durations, comma lists — into a frozen {@linkcode RunOptions}. Flags and help come from `flag_table.ts`.
 *
 * @module
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { formatDuration, parseDuration } from "../util/duration.ts";
import { parseGoBool } from "../util/go_bool.ts";
import { type FlagKind, type FlagSpec, type FlagValue, RUN_FLAGS } from "./flag_table.ts";
import {
  CONTROLLER_ALIASES,
  CONTROLLER_NAMES,
  type ControllerName,
  type IgnoredFlag,
  type RunOptions,
} from "./options.ts";
import { errorMessage } from "../util/errors.ts";

/** Flags are invalid: unknown flag, unparsable value, or values that contradict each other. */
export class FlagError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FlagError";
  }
}

const INT_REGEXP = /^[+-]?\d+$/;
const FLOAT_REGEXP = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses one flag value as the flag's kind: Go bools (`1,t,T,true,TRUE,True` and the false forms), decimal
 * integers, floats, Go durations (to milliseconds) and comma-separated lists.
 *
 * @throws {InvalidArgumentError} Saying what was expected, with an example.
 */
export function parseFlagValue<K extends FlagKind>(
  kind: K,
  text: string,
  choices?: readonly string[],
): FlagValue[K] {
  const value = parseKind(kind, text);
  if (choices !== undefined && !choices.includes(value as string)) {
    throw new InvalidArgumentError(`Use one of ${choices.map((c) => `'${c}'`).join(", ")}.`);
  }
  return value as FlagValue[K];
}

function parseKind(kind: FlagKind, text: string): FlagValue[FlagKind] {
  switch (kind) {
    case "string":
      return text;
    case "bool": {
      const value = parseGoBool(text);
      if (value === undefined) {
        throw new InvalidArgumentError("Expected 'true' or 'false' (write --flag=false).");
      }
      return value;
    }
    case "int": {
      if (!INT_REGEXP.test(text) || !Number.isSafeInteger(Number(text))) {
        throw new InvalidArgumentError("Expected a whole number such as '2'.");
      }
      return Number(text);
    }
    case "float":
      if (!FLOAT_REGEXP.test(text)) {
        throw new InvalidArgumentError("Expected a number such as '20' or '2.5'.");
      }
      return Number(text);
    case "duration":
      try {
        return parseDuration(text);
      } catch (err) {
        throw new InvalidArgumentError(`${errorMessage(err)}.`);
      }
    case "list":
      return text.split(",").map((item) => item.trim()).filter((item) => item !== "");
  }
}

function helpTerm(spec: FlagSpec): string {
  const long = spec.kind === "bool" ? `--${spec.name}[=true|false]` : `--${spec.name} ${spec.kind}`;
  return spec.short === undefined ? long : `-${spec.short}, ${long}`;
}

function helpDescription(spec: FlagSpec): string {
  if (spec.default === "") return spec.description;
  const shown = spec.kind === "duration" ? formatDuration(parseDuration(spec.default)) : spec.default;
  return `${spec.description} (default ${shown})`;
}

function wrap(words: string[], width: number, indent: string): string {
  const lines: string[] = [];
  let line = "";
  for (const word of words) {
    if (line !== "" && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(indent + line);
  return lines.join("\n");
}

/**
 * Declares every flag of {@linkcode RUN_FLAGS} on `command`, grouped in help; flags kept only for
 * compatibility are hidden from the option list and named in one paragraph after it.
 */
export function addRunFlags(command: Command): Command {
  const terms = new Map<string, string>();
  for (const spec of RUN_FLAGS) {
    const placeholder = spec.kind === "bool" ? "[bool]" : `<${spec.kind}>`;
    const flags = `${spec.short === undefined ? "" : `-${spec.short}, `}--${spec.name} ${placeholder}`;
    const option = new Option(flags, helpDescription(spec))
      .helpGroup(spec.group)
      .argParser((text: string, previous: unknown) => {
        // pflag accepts `-v=2`; commander hands the short form's value over with the `=`.
        const value = spec.short !== undefined && text.startsWith("=") ? text.slice(1) : text;
        const parsed = parseFlagValue(spec.kind, value, spec.choices);
        // Repeated list flags accumulate, as pflag's string slices do.
        return spec.kind === "list" && Array.isArray(previous)
          ? [...previous, ...(parsed as string[])]
          : parsed;
      });
    if (spec.kind === "bool") option.preset("true");
    if (spec.ignored !== undefined) option.hideHelp();
    command.addOption(option);
    terms.set(option.flags, helpTerm(spec));
  }
  const ignoredNames = RUN_FLAGS.filter((spec) => spec.ignored !== undefined).map((spec) => `--${spec.name}`);
  return command
    .configureHelp({
      sortOptions: false,
      optionTerm: (option: Option) => terms.get(option.flags) ?? option.flags,
      // Defaults are already in the descriptions; commander would add the bool preset too.
      optionDescription: (option: Option) => option.description,
    })
    .addHelpText(
      "after",
      `\nAccepted for compatibility with upstream manifests and ignored (one log line each when set):\n${
        wrap(ignoredNames, 110, "  ")
      }\n\nDurations use Go syntax (15s, 1m30s, 300ms); booleans take --flag or --flag=false.`,
    );
}

/**
 * Resolves `--controllers` entries (`*`, `name`, `-name`, aliases allowed) to enabled canonical names.
 *
 * @throws {FlagError} Naming an unknown controller and listing the known ones.
 */
export function resolveControllers(entries: readonly string[]): ControllerName[] {
  const enabled = new Set<ControllerName>();
  const disabled = new Set<ControllerName>();
  let all = false;
  for (const entry of entries) {
    if (entry === "*") {
      all = true;
      continue;
    }
    const negated = entry.startsWith("-");
    const name = negated ? entry.slice(1) : entry;
    const canonical = CONTROLLER_ALIASES[name] ??
      (CONTROLLER_NAMES as readonly string[]).find((known) => known === name) as ControllerName | undefined;
    if (canonical === undefined) {
      throw new FlagError(
        `Invalid value for '--controllers': '${name}' is not a known controller; ` +
          `use '*', 'name' or '-name' with one of: ${CONTROLLER_NAMES.join(", ")}`,
      );
    }
    (negated ? disabled : enabled).add(canonical);
  }
  return CONTROLLER_NAMES.filter((name) => !disabled.has(name) && (all || enabled.has(name)));
}

/** Problems in a set of options that each parsed fine on its own; empty when consistent. */
export function validateRunOptions(options: RunOptions): string[] {
  const problems: string[] = [];
  const d = formatDuration;
  const positive: [string, number][] = [
    ["--min-resync-period", options.minResyncPeriodMs],
    ["--node-monitor-period", options.nodeMonitorPeriodMs],
    ["--node-status-update-frequency", options.nodeStatusUpdateFrequencyMs],
  ];
  if (options.leaderElect) {
    positive.push(
      ["--leader-elect-lease-duration", options.leaderElectLeaseDurationMs],
      ["--leader-elect-renew-deadline", options.leaderElectRenewDeadlineMs],
      ["--leader-elect-retry-period", options.leaderElectRetryPeriodMs],
    );
    if (options.leaderElectLeaseDurationMs <= options.leaderElectRenewDeadlineMs) {
      problems.push(
        `Invalid value for '--leader-elect-renew-deadline': '${
          d(options.leaderElectRenewDeadlineMs)
        }' must be ` +
          `less than --leader-elect-lease-duration '${d(options.leaderElectLeaseDurationMs)}'`,
      );
    }
    if (options.leaderElectRenewDeadlineMs <= 1.2 * options.leaderElectRetryPeriodMs) {
      problems.push(
        `Invalid value for '--leader-elect-retry-period': '${d(options.leaderElectRetryPeriodMs)}' must be ` +
          `less than --leader-elect-renew-deadline '${d(options.leaderElectRenewDeadlineMs)}' divided by 1.2`,
      );
    }
  }
  for (const [flag, ms] of positive) {
    if (ms <= 0) problems.push(`Invalid value for '${flag}': '${d(ms)}' must be longer than 0s`);
  }
  const atLeast: [string, number, number][] = [
    ["--concurrent-node-syncs", options.concurrentNodeSyncs, 1],
    ["--concurrent-service-syncs", options.concurrentServiceSyncs, 1],
    ["--concurrent-node-status-updates", options.concurrentNodeStatusUpdates, 0],
    ["--kube-api-burst", options.kubeApiBurst, 1],
    ["--v", options.verbosity, 0],
  ];
  for (const [flag, value, min] of atLeast) {
    if (value < min) problems.push(`Invalid value for '${flag}': '${value}' must be at least ${min}`);
  }
  if (!(options.kubeApiQps > 0)) {
    problems.push(`Invalid value for '--kube-api-qps': '${options.kubeApiQps}' must be greater than 0`);
  }
  if (options.securePort < 0 || options.securePort > 65535) {
    problems.push(`Invalid value for '--secure-port': '${options.securePort}' must be between 0 and 65535`);
  }
  if (!isIpAddress(options.bindAddress)) {
    problems.push(
      `Invalid value for '--bind-address': '${options.bindAddress}' is not an IP address; use e.g. '0.0.0.0'`,
    );
  }
  if ((options.tlsCertFile === "") !== (options.tlsPrivateKeyFile === "")) {
    problems.push("Invalid flags: --tls-cert-file and --tls-private-key-file must be set together");
  }
  return problems;
}

function isIpAddress(text: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return text.split(".").every((part) => Number(part) <= 255);
  if (!text.includes(":")) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds frozen options from the values the user gave (by flag name, already parsed); everything else takes
 * its table default.
 *
 * @throws {FlagError} When values contradict each other or name unknown controllers.
 */
export function buildRunOptions(given: ReadonlyMap<string, unknown>): RunOptions {
  const values: Record<string, unknown> = {};
  const ignoredFlags: IgnoredFlag[] = [];
  for (const spec of RUN_FLAGS) {
    const value = given.has(spec.name) ? given.get(spec.name) : parseFlagValue(spec.kind, spec.default);
    if (spec.option !== undefined) values[spec.option] = value;
    else if (given.has(spec.name)) ignoredFlags.push({ flag: `--${spec.name}`, reason: spec.ignored ?? "" });
  }
  values.controllers = Object.freeze(resolveControllers(values.controllers as string[]));
  values.ignoredFlags = Object.freeze(ignoredFlags.map((flag) => Object.freeze(flag)));
  const options = Object.freeze(values) as unknown as RunOptions;
  const problems = validateRunOptions(options);
  if (problems.length > 0) throw new FlagError(problems.join("; "));
  return options;
}

/** Reads the parsed flag values off a command prepared by {@linkcode addRunFlags}. */
export function runOptionsFromCommand(command: Command): RunOptions {
  const raw = command.opts();
  const given = new Map<string, unknown>();
  for (const spec of RUN_FLAGS) {
    const value = raw[new Option(`--${spec.name}`).attributeName()];
    if (value !== undefined) given.set(spec.name, value);
  }
  return buildRunOptions(given);
}

/**
 * Parses `ccm run` arguments without side effects (no output, no exit); for tests and tools.
 *
 * @example
 * ```ts
 * parseRunFlags(["--leader-elect=false", "--node-monitor-period=1m30s"]).nodeMonitorPeriodMs; // 90000
 * ```
 *
 * @throws {FlagError} With commander's message for unknown flags and bad values, or the validation problems.
 */
export function parseRunFlags(args: readonly string[]): RunOptions {
  const command = addRunFlags(new Command("run"))
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
  try {
    command.parse([...args], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      throw new FlagError(err.message.replace(/^error: /, ""), { cause: err });
    }
    throw err;
  }
  return runOptionsFromCommand(command);
}
