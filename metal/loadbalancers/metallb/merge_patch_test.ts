import assert from "node:assert/strict";
import { createMergePatch, jsonEqual } from "./merge_patch.ts";

Deno.test("createMergePatch", () => {
  const cases: Array<[string, unknown, unknown, unknown]> = [
    ["equal objects", { a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 2] } }, undefined],
    ["changed scalar", { a: 1 }, { a: 2 }, { a: 2 }],
    ["removed key", { a: 1, b: 2 }, { a: 1 }, { b: null }],
    ["undefined member counts as removed", { a: 1, b: 2 }, { a: 1, b: undefined }, { b: null }],
    ["added nested object", { a: 1 }, { a: 1, b: { c: 1, d: undefined } }, { b: { c: 1 } }],
    ["nested change", { m: { x: 1, y: 2 } }, { m: { x: 1, y: 3 } }, { m: { y: 3 } }],
    ["array replaced whole", { l: [1, 2] }, { l: [1] }, { l: [1] }],
    ["object replaced by scalar", { m: { x: 1 } }, { m: "s" }, { m: "s" }],
  ];
  for (const [name, from, to, want] of cases) assert.deepEqual(createMergePatch(from, to), want, name);
});

Deno.test("jsonEqual treats undefined members as absent", () => {
  assert.equal(jsonEqual({ a: 1, b: undefined }, { a: 1 }), true);
  assert.equal(jsonEqual([1, { a: 2 }], [1, { a: 2 }]), true);
  assert.equal(jsonEqual([1], [1, 2]), false);
  assert.equal(jsonEqual({ a: null }, {}), false);
});
