import { equal } from "node:assert/strict";
import { parseGoBool } from "./go_bool.ts";

Deno.test("parseGoBool() accepts exactly Go's spellings", () => {
  for (const text of ["1", "t", "T", "true", "TRUE", "True"]) equal(parseGoBool(text), true, text);
  for (const text of ["0", "f", "F", "false", "FALSE", "False"]) equal(parseGoBool(text), false, text);
  for (const text of ["", "yes", "no", "tRUE", " true", "2", "on"]) equal(parseGoBool(text), undefined, text);
});
