/**
 * `include` / `exclude` query semantics: references render as `{"href": …}` unless included, inline objects
 * render in full unless excluded. Paths are dotted relative to the rendered resource (`ip_addresses.parent_block`).
 *
 * @module
 */

/** Which nested attributes to expand or collapse while rendering one resource. */
export class Expand {
  /** Nothing included or excluded: every attribute keeps its default. */
  static readonly NONE: Expand = new Expand(new Set(), new Set());

  #include: ReadonlySet<string>;
  #exclude: ReadonlySet<string>;

  private constructor(include: ReadonlySet<string>, exclude: ReadonlySet<string>) {
    this.#include = include;
    this.#exclude = exclude;
  }

  /**
   * Parses the query values. Each may be repeated or comma-separated (`include=a,b.c` or `include=a&include=b`).
   */
  static parse(include: readonly string[], exclude: readonly string[]): Expand {
    const inc = splitAll(include);
    const exc = splitAll(exclude);
    return inc.size === 0 && exc.size === 0 ? Expand.NONE : new Expand(inc, exc);
  }

  /** True when nothing is included or excluded. */
  get isDefault(): boolean {
    return this.#include.size === 0 && this.#exclude.size === 0;
  }

  /**
   * Whether attribute `name` renders in full: included (directly or through a deeper path) → true; excluded →
   * false; otherwise `inlineByDefault`.
   */
  full(name: string, inlineByDefault: boolean): boolean {
    if (this.isDefault) return inlineByDefault;
    if (this.#include.has(name)) return true;
    if (this.#exclude.has(name)) return false;
    const prefix = `${name}.`;
    for (const path of this.#include) if (path.startsWith(prefix)) return true;
    return inlineByDefault;
  }

  /** The expansion to apply inside attribute `name`. */
  child(name: string): Expand {
    if (this.isDefault) return this;
    const prefix = `${name}.`;
    const inc = new Set<string>();
    const exc = new Set<string>();
    for (const p of this.#include) if (p.startsWith(prefix)) inc.add(p.slice(prefix.length));
    for (const p of this.#exclude) if (p.startsWith(prefix)) exc.add(p.slice(prefix.length));
    return inc.size === 0 && exc.size === 0 ? Expand.NONE : new Expand(inc, exc);
  }
}

function splitAll(values: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const v of values) {
    for (const part of v.split(",")) {
      const name = part.trim();
      if (name !== "") out.add(name);
    }
  }
  return out;
}
