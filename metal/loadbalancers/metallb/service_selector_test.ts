import assert from "node:assert/strict";
import {
  addServiceSelector,
  HOSTNAME_LABEL,
  isServiceSelector,
  nodeOfSelectors,
  removeServiceSelector,
  type SelectorLike,
  SERVICE_NAME_LABEL,
  SERVICE_NAMESPACE_LABEL,
  servicesOf,
} from "./service_selector.ts";

const make = (labels: Record<string, string>): SelectorLike => ({ matchLabels: labels });
const svc = (namespace: string, name: string) =>
  make({
    [SERVICE_NAMESPACE_LABEL]: namespace,
    [SERVICE_NAME_LABEL]: name,
  });
const host = (name: string) => make({ [HOSTNAME_LABEL]: name });

Deno.test("isServiceSelector: only service keys, non-empty, no expressions", () => {
  const cases: Array<[string, SelectorLike, boolean]> = [
    ["both keys", svc("ns", "a"), true],
    ["name only (broken)", make({ [SERVICE_NAME_LABEL]: "a" }), true],
    ["hostname", host("n1"), false],
    ["service keys plus another label", make({ [SERVICE_NAME_LABEL]: "a", x: "y" }), false],
    ["with expressions", { ...svc("ns", "a"), matchExpressions: [{}] }, false],
    ["empty value", make({ [SERVICE_NAME_LABEL]: "" }), false],
    ["no labels", {}, false],
  ];
  for (const [name, sel, want] of cases) assert.equal(isServiceSelector(sel), want, name);
});

Deno.test("addServiceSelector: others first, services sorted by namespace then name; no-op when present", () => {
  const start = [svc("b", "z"), host("n1"), svc("a", "y")];
  const added = addServiceSelector(start, { namespace: "a", name: "x" }, make);
  assert.deepEqual(added, [host("n1"), svc("a", "x"), svc("a", "y"), svc("b", "z")]);
  assert.equal(addServiceSelector(added, { namespace: "b", name: "z" }, make), undefined);
});

Deno.test("addServiceSelector drops broken one-key service selectors on rewrite", () => {
  const added = addServiceSelector([host("n1"), make({ [SERVICE_NAME_LABEL]: "orphan" })], {
    namespace: "a",
    name: "x",
  }, make);
  assert.deepEqual(added, [host("n1"), svc("a", "x")]);
});

Deno.test("removeServiceSelector reports whether it was there and how many remain", () => {
  const start = [host("n1"), svc("a", "x"), svc("a", "y")];
  assert.deepEqual(removeServiceSelector(start, { namespace: "a", name: "x" }, make), {
    selectors: [host("n1"), svc("a", "y")],
    removed: true,
    remaining: 1,
  });
  assert.deepEqual(removeServiceSelector(start, { namespace: "a", name: "q" }, make), {
    selectors: start,
    removed: false,
    remaining: 2,
  });
});

Deno.test("servicesOf and nodeOfSelectors read services and the pinned node", () => {
  const selectors = [svc("a", "x"), make({ [HOSTNAME_LABEL]: "n1", other: "v" }), host("n2")];
  assert.deepEqual(servicesOf(selectors), [{ namespace: "a", name: "x" }]);
  assert.equal(nodeOfSelectors(selectors), "n2");
  assert.equal(nodeOfSelectors([svc("a", "x")]), undefined);
  assert.equal(nodeOfSelectors(null), undefined);
});
