/**
 * Go's `strconv.ParseBool` syntax, shared by flags (`--leader-elect=false`) and environment variables
 * (`METAL_EIP_HEALTH_CHECK_USE_HOST_IP`), so both accept exactly what upstream accepted.
 *
 * @module
 */

const GO_BOOLS: ReadonlyMap<string, boolean> = new Map([
  ...["1", "t", "T", "true", "TRUE", "True"].map((text) => [text, true] as const),
  ...["0", "f", "F", "false", "FALSE", "False"].map((text) => [text, false] as const),
]);

/** The accepted spellings, for error messages. */
export const GO_BOOL_SPELLINGS = "1, t, T, true, TRUE, True, 0, f, F, false, FALSE or False";

/**
 * Parses `1, t, T, true, TRUE, True` as `true` and `0, f, F, false, FALSE, False` as `false`.
 *
 * @returns The value, or `undefined` when `text` is none of those.
 */
export function parseGoBool(text: string): boolean | undefined {
  return GO_BOOLS.get(text);
}
