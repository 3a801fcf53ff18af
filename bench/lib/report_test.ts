import assert from "node:assert/strict";
import { changedFiles } from "./report.ts";

Deno.test("changedFiles() keeps each path whole, also on the first line of unstaged changes", () => {
  assert.deepEqual(changedFiles(" M provider/app.ts\nA  provider/native_memory.ts\n?? bench/x.ts\n"), [
    "provider/app.ts",
    "provider/native_memory.ts",
    "bench/x.ts",
  ]);
});
