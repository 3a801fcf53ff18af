/**
 * Equinix Metal provider configuration: every `METAL_*` environment variable and `cloud-sa.json` key of the
 * upstream CCM, with its precedence (non-empty env > non-empty/non-zero file value > default), defaults and
 * validation, plus the simulator-friendly URLs and `*_FILE` secrets. {@linkcode METAL_SETTINGS} is the single
 * source of truth; the README table is generated from it.
 *
 * @module
 */
import { ConfigError } from "../provider/mod.ts";
import { GO_BOOL_SPELLINGS, parseGoBool } from "../util/go_bool.ts";
import { parseLabelSelector } from "../util/label_selector.ts";
import { MASK } from "../util/log.ts";
import {
  formatLoadBalancerSetting,
  type LoadBalancerConfig,
  parseLoadBalancerSetting,
} from "./load_balancer_config.ts";
import { METAL_SETTINGS, type MetalConfigValues, type MetalSetting } from "./settings.ts";
import { errorMessage } from "../util/errors.ts";

export { METAL_SETTINGS, type MetalConfigValues, type MetalSetting } from "./settings.ts";

/** The loaded configuration. `JSON.stringify` and loggers see only the {@linkcode redacted} view. */
export interface MetalConfig extends MetalConfigValues {
  /** Where each setting that is not at its default came from, e.g. `env METAL_API_KEY`. */
  readonly sources: Readonly<Partial<Record<keyof MetalConfigValues, string>>>;
  /** Keys of the cloud config file that match no setting (ignored, as upstream does). */
  readonly unknownKeys: readonly string[];
  /** Every setting with secrets replaced by `<masked>` (or `""` when unset), for logging. */
  redacted(): Record<string, unknown>;
  /** Same as {@linkcode redacted}, so serializing the config can never leak a secret. */
  toJSON(): Record<string, unknown>;
}

/** Input of {@linkcode loadMetalConfig}. */
export interface LoadMetalConfigOptions {
  /** Process environment. */
  env: Readonly<Record<string, string | undefined>>;
  /** Contents of the `--cloud-config` file; `undefined` when no file is configured. */
  configFile?: string;
  /** Path of that file, for messages. */
  configPath?: string;
  /** Reads `*_FILE` secrets. @default Deno.readTextFileSync */
  readTextFile?: (path: string) => string;
}

type Source =
  | { kind: "env"; name: string }
  | { kind: "file-env"; name: string; path: string }
  | { kind: "json"; key: string };

interface Found {
  value: string | number | boolean;
  source: Source;
}

/**
 * Loads and validates the configuration.
 *
 * @example
 * ```ts
 * const config = loadMetalConfig({ env: Deno.env.toObject(), configFile, configPath });
 * logger.info("Loaded configuration", { config: config.redacted() });
 * ```
 *
 * @throws {ConfigError} Listing every problem in upstream's validation order; each names the variable or key,
 *   the bad value (secrets never shown) and the fix.
 */
export function loadMetalConfig(options: LoadMetalConfigOptions): MetalConfig {
  return new ConfigReader(options).read();
}

/** One load: collects every problem instead of stopping at the first. */
class ConfigReader {
  #env: Readonly<Record<string, string | undefined>>;
  #readTextFile: (path: string) => string;
  #fileName: string;
  #fileGiven: boolean;
  #json = new Map<MetalSetting, [key: string, value: unknown]>();
  #unknownKeys: string[] = [];
  #problems: string[] = [];
  /** Settings that already have a problem, so they are not reported twice. */
  #failed = new Set<MetalSetting>();

  constructor(options: LoadMetalConfigOptions) {
    this.#env = options.env;
    this.#readTextFile = options.readTextFile ?? Deno.readTextFileSync;
    this.#fileName = options.configPath === undefined
      ? "the cloud config file"
      : `cloud config file '${options.configPath}'`;
    this.#fileGiven = options.configFile !== undefined;
    if (options.configFile !== undefined) {
      // A file that is not JSON stops everything, as in upstream.
      this.#readFileValues(parseJsonObject(options.configFile, this.#fileName));
    }
  }

  read(): MetalConfig {
    this.#checkFileTypes();
    const values: Record<string, unknown> = {};
    const sources: Record<string, string> = {};
    for (const setting of METAL_SETTINGS) {
      const found = this.#lookup(setting);
      if (found !== undefined) sources[setting.field] = describeSource(found.source);
      const raw = found?.value ?? setting.default;
      try {
        values[setting.field] = convert(setting, raw);
      } catch (err) {
        const location = found === undefined ? `default of ${setting.env}` : this.#where(found.source);
        const shown = setting.type === "secret" ? "(value hidden)" : `'${escapeControl(String(raw))}'`;
        this.#problem(setting, `Invalid ${location} ${shown}: ${errorMessage(err)}`);
      }
      if (setting.required && values[setting.field] === "" && !this.#failed.has(setting)) {
        const alt = setting.fileEnv === undefined ? "" : ` (or ${setting.fileEnv} with a file path)`;
        const file = this.#fileGiven ? this.#fileName : "the --cloud-config file";
        this.#problem(
          setting,
          `Missing ${setting.label}: set ${setting.env}${alt}, or "${setting.json}" in ${file}`,
        );
      }
    }
    if (this.#problems.length > 0) throw new ConfigError(this.#problems.join("; "));
    return freezeConfig(values as unknown as MetalConfigValues, sources, this.#unknownKeys);
  }

  #problem(setting: MetalSetting, message: string): undefined {
    this.#problems.push(message);
    this.#failed.add(setting);
    return undefined;
  }

  /** Go's encoding/json: keys match case-insensitively, later keys win, `null` leaves the setting alone. */
  #readFileValues(object: Record<string, unknown>): void {
    const byKey = new Map<string, MetalSetting>();
    for (const setting of METAL_SETTINGS) if (setting.json) byKey.set(setting.json.toLowerCase(), setting);
    for (const [key, value] of Object.entries(object)) {
      const setting = byKey.get(key.toLowerCase());
      if (setting === undefined) this.#unknownKeys.push(key);
      else if (value !== null) this.#json.set(setting, [key, value]);
    }
  }

  /** Type mismatches in the file are errors even when the environment overrides the key, as in Go. */
  #checkFileTypes(): void {
    for (const setting of METAL_SETTINGS) {
      const entry = this.#json.get(setting);
      if (entry === undefined) continue;
      const [key, value] = entry;
      const want = setting.type === "int" ? "number" : setting.type === "bool" ? "boolean" : "string";
      const ok = want === "number"
        ? Number.isSafeInteger(value)
        : want === "boolean"
        ? typeof value === "boolean"
        : typeof value === "string";
      if (ok) continue;
      const got = setting.type === "secret"
        ? jsonType(value)
        : `${JSON.stringify(value)} (${jsonType(value)})`;
      const expected = want === "number"
        ? "a whole number without quotes"
        : want === "boolean"
        ? "true or false without quotes"
        : "a string in double quotes";
      this.#problem(setting, `Invalid "${key}" in ${this.#fileName}: expected ${expected}, got ${got}`);
      this.#json.delete(setting);
    }
  }

  /** Non-empty env beats `*_FILE` beats a non-empty, non-zero, non-false file value; `undefined` = default. */
  #lookup(setting: MetalSetting): Found | undefined {
    const text = this.#env[setting.env];
    if (setting.type === "presence") {
      return text === undefined ? undefined : { value: true, source: { kind: "env", name: setting.env } };
    }
    if (setting.type === "secret") {
      const secret = text?.trim() ?? "";
      const path = setting.fileEnv === undefined ? undefined : this.#env[setting.fileEnv];
      if (secret !== "" && path) {
        return this.#problem(
          setting,
          `Conflicting ${setting.env} and ${setting.fileEnv}: set only one of them`,
        );
      }
      if (secret !== "") return { value: secret, source: { kind: "env", name: setting.env } };
      if (path) return this.#readSecretFile(setting, path);
    } else if (text) {
      return { value: text, source: { kind: "env", name: setting.env } };
    }
    const entry = this.#json.get(setting);
    if (entry === undefined) return undefined;
    const [key, raw] = entry;
    const value = setting.type === "secret" ? (raw as string).trim() : raw as string | number | boolean;
    // Go's zero values mean "unset"; a `false` only turns off settings that default to true.
    if (value === "" || value === 0 || (value === false && setting.default !== true)) return undefined;
    return { value, source: { kind: "json", key } };
  }

  #readSecretFile(setting: MetalSetting, path: string): Found | undefined {
    const name = setting.fileEnv as string;
    let text: string;
    try {
      text = this.#readTextFile(path);
    } catch (err) {
      const why = errorMessage(err);
      return this.#problem(
        setting,
        `Cannot read ${name} '${path}': ${why}; point it at a readable file that holds the ${setting.label}`,
      );
    }
    if (text.trim() === "") {
      return this.#problem(
        setting,
        `Invalid ${name} '${path}': the file is empty; put the ${setting.label} in it`,
      );
    }
    return { value: text.trim(), source: { kind: "file-env", name, path } };
  }

  #where(source: Source): string {
    if (source.kind === "env") return source.name;
    if (source.kind === "file-env") return `${source.name} '${source.path}'`;
    return `"${source.key}" in ${this.#fileName}`;
  }
}

/** Shows control characters as escapes (`\n`, `\u0000`), so a bad value cannot split a message or log line. */
function escapeControl(text: string): string {
  return text.replace(/\p{Cc}/gu, (char) => JSON.stringify(char).slice(1, -1));
}

function describeSource(source: Source): string {
  return source.kind === "json" ? `cloud config "${source.key}"` : `env ${source.name}`;
}

/** The JSON type of a value with its article, for messages: "a string", "an object", ... */
function jsonType(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (typeof value === "number" && !Number.isSafeInteger(value)) return "a fractional or too large number";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** Converts a raw value to the setting's type; throws an `Error` whose message says why and how to fix it. */
function convert(setting: MetalSetting, raw: string | number | boolean): unknown {
  switch (setting.type) {
    case "secret":
    case "string":
      return raw;
    case "presence":
      return raw === true;
    case "int": {
      if (typeof raw !== "number" && !/^[+-]?\d+$/.test(raw as string)) {
        const unit = setting.unit === undefined ? "" : ` of ${setting.unit}`;
        throw new Error(`must be a whole number${unit} such as ${setting.example}`);
      }
      const value = Number(raw);
      const [min, max] = setting.range ?? [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
      if (!(value >= min && value <= max)) throw new Error(`must be between ${min} and ${max}`);
      return value;
    }
    case "bool": {
      const value = typeof raw === "boolean" ? raw : parseGoBool(String(raw));
      if (value === undefined) throw new Error(`must be a boolean: ${GO_BOOL_SPELLINGS}`);
      return value;
    }
    case "url":
      return parseHttpUrl(String(raw), setting.example);
    case "loadbalancer":
      return Object.freeze(parseLoadBalancerSetting(String(raw)));
    case "choice": {
      const choices = setting.choices ?? [];
      const value = String(raw).trim().toLowerCase();
      if (!choices.includes(value)) {
        throw new Error(`must be one of ${choices.map((c) => `'${c}'`).join(", ")}`);
      }
      return value;
    }
    case "selector":
      try {
        return parseLabelSelector(String(raw));
      } catch (err) {
        const detail = errorMessage(err).replace(/^Cannot parse label selector '.*?': /, "");
        throw new Error(`${detail}; use Kubernetes label selector syntax such as ${setting.example}`);
      }
  }
}

function parseHttpUrl(text: string, example: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // reported below
  }
  if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new Error(`must be an absolute http(s) URL such as ${example}`);
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * Parses the file as a JSON object. JSON.parse messages can quote the file's text, which may hold the API
 * key, so only the position and reason are kept.
 */
function parseJsonObject(text: string, fileName: string): Record<string, unknown> {
  const example = `such as {"apiKey": "...", "projectID": "..."}`;
  if (text.trim() === "") {
    throw new ConfigError(`Cannot parse ${fileName}: it is empty; it must hold a JSON object ${example}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // V8 quotes the text around the error and the offending character; either may be part of the API key.
    const reason = errorMessage(err)
      .replace(/, "[\s\S]*" is not valid JSON$/, "")
      .replace(/^Unexpected token '[\p{L}\p{N}_-]'.*$/su, "Unexpected unquoted text")
      .replace(/^(Unexpected token '.').*$/su, "$1");
    throw new ConfigError(
      `Cannot parse ${fileName} as JSON: ${reason}; fix the syntax (no trailing commas, keys and strings in ` +
        `double quotes), ${example}`,
    );
  }
  if (parsed === null) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(
      `Cannot use ${fileName}: it holds ${jsonType(parsed)} instead of a JSON object ${example}`,
    );
  }
  return parsed as Record<string, unknown>;
}

function freezeConfig(
  values: MetalConfigValues,
  sources: Record<string, string>,
  unknownKeys: string[],
): MetalConfig {
  const redacted = (): Record<string, unknown> => {
    const view: Record<string, unknown> = {};
    for (const setting of METAL_SETTINGS) {
      const value = values[setting.field];
      view[setting.field] = setting.type === "secret"
        ? (value === "" ? "" : MASK)
        : setting.type === "loadbalancer"
        ? formatLoadBalancerSetting(value as LoadBalancerConfig)
        : setting.type === "selector"
        ? String(value)
        : value;
    }
    view.sources = { ...sources };
    return view;
  };
  return Object.freeze({
    ...values,
    sources: Object.freeze({ ...sources }),
    unknownKeys: Object.freeze([...unknownKeys]),
    redacted,
    toJSON: redacted,
  });
}
