/**
 * Kubernetes label selectors in their string form (`a=b,c!=d,e in (x,y),!f,g,h>3`): a parser that follows
 * apimachinery's `labels.Parse` grammar and validation, and a matcher.
 *
 * @module
 */

/** Operators of a requirement; `exists`/`!` are the bare `key` and `!key` forms. */
export type LabelOperator = "exists" | "!" | "=" | "==" | "!=" | "in" | "notin" | ">" | "<";

/** One comma-separated term of a selector. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Empty for `exists` and `!`; one value for `=`, `==`, `!=`, `>`, `<`; one or more, sorted, for `in`/`notin`. */
  readonly values: readonly string[];
}

/** A parsed selector: all requirements must match (logical AND). */
export class LabelSelector {
  /** Requirements sorted by key, as apimachinery does. */
  readonly requirements: readonly LabelRequirement[];

  constructor(requirements: readonly LabelRequirement[]) {
    this.requirements = Object.freeze(
      [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    );
  }

  /** Whether the selector has no requirements (it matches everything). */
  isEmpty(): boolean {
    return this.requirements.length === 0;
  }

  /**
   * Whether `labels` satisfy every requirement.
   *
   * @example Select BGP nodes
   * ```ts
   * parseLabelSelector("bgp=true").matches({ bgp: "true" }); // true
   * ```
   */
  matches(labels: Readonly<Record<string, string>> | undefined): boolean {
    return this.requirements.every((r) => requirementMatches(r, labels ?? {}));
  }

  /** Canonical text form, accepted by {@linkcode parseLabelSelector} and the Kubernetes API. */
  toString(): string {
    return this.requirements.map(formatRequirement).join(",");
  }
}

function requirementMatches(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.operator) {
    case "exists":
      return has;
    case "!":
      return !has;
    case "=":
    case "==":
    case "in":
      return has && r.values.includes(value as string);
    case "!=":
    case "notin":
      return !has || !r.values.includes(value as string);
    case ">":
    case "<": {
      if (!has || !INTEGER_REGEXP.test(value as string)) return false;
      const actual = BigInt(value as string);
      const bound = BigInt(r.values[0] as string);
      return r.operator === ">" ? actual > bound : actual < bound;
    }
  }
}

function formatRequirement(r: LabelRequirement): string {
  switch (r.operator) {
    case "exists":
      return r.key;
    case "!":
      return `!${r.key}`;
    case "in":
    case "notin":
      return `${r.key} ${r.operator} (${r.values.join(",")})`;
    default:
      return `${r.key}${r.operator}${r.values[0]}`;
  }
}

const INTEGER_REGEXP = /^[+-]?\d+$/;
const NAME_REGEXP = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN_REGEXP = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type Token =
  | { kind: "id"; text: string; pos: number }
  | { kind: "op"; text: "!" | "=" | "==" | "!=" | ">" | "<" | "(" | ")" | ","; pos: number }
  | { kind: "end"; text: ""; pos: number };

const SPECIAL = new Set(["!", "=", ">", "<", "(", ")", ","]);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "=" && text[i + 1] === "=") {
      tokens.push({ kind: "op", text: "==", pos: i });
      i += 2;
    } else if (ch === "!" && text[i + 1] === "=") {
      tokens.push({ kind: "op", text: "!=", pos: i });
      i += 2;
    } else if (SPECIAL.has(ch)) {
      tokens.push({ kind: "op", text: ch as "!", pos: i });
      i++;
    } else {
      const start = i;
      while (i < text.length && !SPECIAL.has(text[i] as string) && !/\s/.test(text[i] as string)) i++;
      tokens.push({ kind: "id", text: text.slice(start, i), pos: start });
    }
  }
  tokens.push({ kind: "end", text: "", pos: text.length });
  return tokens;
}

class Parser {
  #tokens: Token[];
  #index = 0;
  #text: string;

  constructor(text: string) {
    this.#text = text;
    this.#tokens = tokenize(text);
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    if (this.#peek().kind === "end") return requirements;
    for (;;) {
      requirements.push(this.#requirement());
      const next = this.#next();
      if (next.kind === "end") return requirements;
      if (next.text !== ",") throw this.#error(next, "expected ',' or the end of the selector");
    }
  }

  #requirement(): LabelRequirement {
    let token = this.#next();
    if (token.kind === "op" && token.text === "!") {
      const key = this.#key(this.#next());
      const after = this.#peek();
      if (after.kind !== "end" && after.text !== ",") {
        throw this.#error(after, `expected ',' or the end of the selector after '!${key}'`);
      }
      return { key, operator: "!", values: [] };
    }
    const key = this.#key(token);
    token = this.#peek();
    if (token.kind === "end" || token.text === ",") return { key, operator: "exists", values: [] };
    this.#index++;
    if (token.kind === "id" && (token.text === "in" || token.text === "notin")) {
      // A set: kept sorted so equal selectors compare and print the same.
      return { key, operator: token.text, values: this.#valueSet(key, token.text).sort() };
    }
    if (token.kind === "op" && ["=", "==", "!="].includes(token.text)) {
      return { key, operator: token.text as "=", values: [this.#value(this.#optionalId())] };
    }
    if (token.kind === "op" && (token.text === ">" || token.text === "<")) {
      const bound = this.#next();
      if (bound.kind !== "id" || !INTEGER_REGEXP.test(bound.text)) {
        throw this.#error(bound, `expected a whole number after '${key}${token.text}'`);
      }
      return { key, operator: token.text, values: [bound.text] };
    }
    throw this.#error(
      token,
      `expected an operator (=, ==, !=, in, notin, >, <), ',' or the end after '${key}'`,
    );
  }

  #valueSet(key: string, operator: string): string[] {
    const open = this.#next();
    if (open.text !== "(") throw this.#error(open, `expected '(' after '${key} ${operator}'`);
    const values: string[] = [];
    if (this.#peek().text === ")") {
      throw this.#error(
        this.#peek(),
        `'${operator}' needs at least one value, as in '${key} ${operator} (a,b)'`,
      );
    }
    for (;;) {
      values.push(this.#value(this.#optionalId()));
      const sep = this.#next();
      if (sep.text === ")") return values;
      if (sep.text !== ",") throw this.#error(sep, "expected ',' or ')' in the value list");
    }
  }

  /** A value may be empty (`a=`, `a in (x,)`): consume an identifier only when one is next. */
  #optionalId(): string {
    const token = this.#peek();
    if (token.kind !== "id") return "";
    this.#index++;
    return token.text;
  }

  #key(token: Token): string {
    if (token.kind !== "id") throw this.#error(token, "expected a label key");
    const problem = labelKeyProblem(token.text);
    if (problem !== undefined) throw this.#error(token, problem);
    return token.text;
  }

  #value(value: string): string {
    const problem = labelValueProblem(value);
    if (problem !== undefined) throw new SyntaxError(`${this.#prefix()}${problem}`);
    return value;
  }

  #peek(): Token {
    return this.#tokens[this.#index] as Token;
  }

  #next(): Token {
    const token = this.#peek();
    if (token.kind !== "end") this.#index++;
    return token;
  }

  #prefix(): string {
    return `Cannot parse label selector '${this.#text}': `;
  }

  #error(token: Token, expected: string): SyntaxError {
    const found = token.kind === "end" ? "the end" : `'${token.text}' at position ${token.pos + 1}`;
    return new SyntaxError(`${this.#prefix()}${expected}, found ${found}`);
  }
}

/** Why `key` is not a valid label key (`[prefix/]name`), or `undefined` when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN_REGEXP.test(prefix))) {
    return `label key prefix '${prefix}' must be a lowercase DNS subdomain of at most 253 characters`;
  }
  if (name.length > 63 || !NAME_REGEXP.test(name)) {
    return `label key '${key}' must be at most 63 characters of letters, digits, '-', '_' or '.', ` +
      "starting and ending with a letter or digit (optionally after a 'prefix/')";
  }
  return undefined;
}

/** Why `value` is not a valid label value, or `undefined` when it is (the empty value is valid). */
export function labelValueProblem(value: string): string | undefined {
  if (value === "" || (value.length <= 63 && NAME_REGEXP.test(value))) return undefined;
  return `label value '${value}' must be empty or at most 63 characters of letters, digits, '-', '_' or '.', ` +
    "starting and ending with a letter or digit";
}

/**
 * Parses a label selector string. The empty string selects everything.
 *
 * @example Parse and match
 * ```ts
 * const selector = parseLabelSelector("role in (bgp,edge),!excluded");
 * selector.matches({ role: "bgp" }); // true
 * ```
 *
 * @param text Selector text such as `a=b,c!=d,e in (x,y),!f,g`.
 * @returns The parsed selector.
 * @throws {SyntaxError} Naming the position and what was expected, or the invalid key or value.
 */
export function parseLabelSelector(text: string): LabelSelector {
  return new LabelSelector(new Parser(text).parse());
}
