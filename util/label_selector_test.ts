import { deepEqual, equal, throws } from "node:assert/strict";
import { labelKeyProblem, labelValueProblem, parseLabelSelector } from "./label_selector.ts";
import { errorMessage } from "./errors.ts";

Deno.test("parseLabelSelector() parses every operator", () => {
  const selector = parseLabelSelector("a=b,c!=d,e in (x,y),!f,g,h==i,j notin (k),l>3,m<10");
  deepEqual(selector.requirements, [
    { key: "a", operator: "=", values: ["b"] },
    { key: "c", operator: "!=", values: ["d"] },
    { key: "e", operator: "in", values: ["x", "y"] },
    { key: "f", operator: "!", values: [] },
    { key: "g", operator: "exists", values: [] },
    { key: "h", operator: "==", values: ["i"] },
    { key: "j", operator: "notin", values: ["k"] },
    { key: "l", operator: ">", values: ["3"] },
    { key: "m", operator: "<", values: ["10"] },
  ]);
});

Deno.test("parseLabelSelector() of the empty string selects everything", () => {
  for (const text of ["", "   "]) {
    const selector = parseLabelSelector(text);
    equal(selector.isEmpty(), true);
    equal(selector.matches({}), true);
    equal(selector.matches(undefined), true);
    equal(selector.toString(), "");
  }
});

Deno.test("parseLabelSelector() allows whitespace, prefixed keys and empty values", () => {
  const selector = parseLabelSelector(" node-role.kubernetes.io/bgp = , zone in ( a , ) ");
  deepEqual(selector.requirements, [
    { key: "node-role.kubernetes.io/bgp", operator: "=", values: [""] },
    { key: "zone", operator: "in", values: ["", "a"] },
  ]);
});

Deno.test("LabelSelector.toString() is canonical and parses back to the same selector", () => {
  const selector = parseLabelSelector("z in (b,a), a=1,!m, k");
  equal(selector.toString(), "a=1,k,!m,z in (a,b)");
  deepEqual(parseLabelSelector(selector.toString()).requirements, selector.requirements);
});

const MATCHES: [string, Record<string, string>, boolean][] = [
  ["a=b", { a: "b" }, true],
  ["a=b", { a: "c" }, false],
  ["a=b", {}, false],
  ["a==b", { a: "b" }, true],
  ["a!=b", { a: "c" }, true],
  ["a!=b", {}, true],
  ["a!=b", { a: "b" }, false],
  ["a in (x,y)", { a: "y" }, true],
  ["a in (x,y)", { a: "z" }, false],
  ["a in (x,y)", {}, false],
  ["a notin (x,y)", { a: "z" }, true],
  ["a notin (x,y)", {}, true],
  ["a notin (x,y)", { a: "x" }, false],
  ["a", { a: "" }, true],
  ["a", { b: "" }, false],
  ["!a", { b: "" }, true],
  ["!a", { a: "x" }, false],
  ["a>3", { a: "4" }, true],
  ["a>3", { a: "3" }, false],
  ["a>3", { a: "x" }, false],
  ["a>3", {}, false],
  ["a<3", { a: "-1" }, true],
  ["a<3", { a: "3" }, false],
  ["a=", { a: "" }, true],
  ["a=", {}, false],
  ["a=b,c=d", { a: "b", c: "d" }, true],
  ["a=b,c=d", { a: "b", c: "e" }, false],
  ["toString", {}, false],
];

for (const [text, labels, want] of MATCHES) {
  Deno.test(`LabelSelector.matches() of '${text}' on ${JSON.stringify(labels)} is ${want}`, () => {
    equal(parseLabelSelector(text).matches(labels), want);
  });
}

const INVALID: [string, RegExp][] = [
  [",", /expected a label key, found ',' at position 1/],
  ["a=b,", /expected a label key, found the end/],
  ["a=b,,c", /expected a label key, found ',' at position 5/],
  ["a b", /expected an operator .* after 'a'/],
  ["a in x", /expected '\(' after 'a in'/],
  ["a in ()", /'in' needs at least one value/],
  ["a notin (x", /expected ',' or '\)' in the value list, found the end/],
  ["a>x", /expected a whole number after 'a>'/],
  ["a<", /expected a whole number after 'a<'/],
  ["!a=b", /expected ',' or the end of the selector after '!a'/],
  ["-a=b", /label key '-a'/],
  ["a=-b", /label value '-b'/],
  ["Bad_Prefix/a=b", /label key prefix 'Bad_Prefix'/],
  [`a=${"x".repeat(64)}`, /label value/],
  ["a=b=c", /expected ',' or the end of the selector, found '=' at position 4/],
  ["(a)", /expected a label key, found '\(' at position 1/],
];

for (const [text, message] of INVALID) {
  Deno.test(`parseLabelSelector() rejects '${text}' with a clear message`, () => {
    throws(() => parseLabelSelector(text), (err: unknown) => {
      equal(err instanceof SyntaxError, true);
      const msg = errorMessage(err);
      equal(msg.startsWith(`Cannot parse label selector '${text}': `), true, msg);
      equal(message.test(msg), true, msg);
      return true;
    });
  });
}

Deno.test("labelKeyProblem() and labelValueProblem() accept valid names", () => {
  equal(labelKeyProblem("metal.equinix.com/bgp"), undefined);
  equal(labelKeyProblem("a"), undefined);
  equal(labelKeyProblem("x".repeat(63)), undefined);
  equal(typeof labelKeyProblem("x".repeat(64)), "string");
  equal(typeof labelKeyProblem("/a"), "string");
  equal(labelValueProblem(""), undefined);
  equal(labelValueProblem("a.b-c_d"), undefined);
  equal(typeof labelValueProblem("a b"), "string");
});
