/**
 * JSON merge patches (RFC 7386) computed from an old and a new document, as controller-runtime's
 * `client.MergeFrom` does: objects are diffed key by key, removed keys become `null`, anything else that
 * differs (scalars, arrays) is replaced whole.
 *
 * @module
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Structural equality of JSON values (`undefined` object members count as absent). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      if (!jsonEqual(a[k], b[k])) return false;
    }
    return true;
  }
  return false;
}

/**
 * The merge patch that turns `from` into `to`, or `undefined` when they are equal. `undefined` members of
 * `to` count as absent (they become `null` in the patch when `from` has them).
 *
 * @example
 * ```ts
 * createMergePatch({ a: 1, b: [1], c: { d: 1 } }, { a: 1, b: [2], c: {} }); // { b: [2], c: { d: null } }
 * ```
 */
export function createMergePatch(from: unknown, to: unknown): Json | undefined {
  if (isPlainObject(from) && isPlainObject(to)) {
    const patch: Record<string, Json> = {};
    for (const k of Object.keys(from)) {
      if (from[k] !== undefined && to[k] === undefined) patch[k] = null;
    }
    for (const [k, v] of Object.entries(to)) {
      if (v === undefined) continue;
      const sub = createMergePatch(from[k], v);
      if (sub !== undefined) patch[k] = sub;
    }
    return Object.keys(patch).length === 0 ? undefined : patch;
  }
  if (jsonEqual(from, to)) return undefined;
  return to === undefined ? null : stripUndefined(to);
}

function stripUndefined(v: unknown): Json {
  if (Array.isArray(v)) return v.map(stripUndefined);
  if (isPlainObject(v)) {
    return Object.fromEntries(
      Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, stripUndefined(x)]),
    );
  }
  return v as Json;
}
