/**
 * Reads `include`/`exclude` from a query.
 *
 * @module
 */
import { Expand } from "../render/expand.ts";

/** The expansion requested by the query's `include` and `exclude` parameters. */
export function expandOf(query: URLSearchParams): Expand {
  const include = query.getAll("include");
  const exclude = query.getAll("exclude");
  return include.length === 0 && exclude.length === 0 ? Expand.NONE : Expand.parse(include, exclude);
}
