import assert from "node:assert/strict";
import {
  addressPoolEqual,
  bgpAdvertisementEqual,
  compareSelectorRequirements,
  nodeSelectorEqual,
  nodeSelectorLess,
  nodeSelectorsEqual,
  peerEqual,
  peerEqualIgnoreService,
  selectorRequirementLess,
  selectorRequirementsEqual,
} from "./config_compare.ts";
import type { AddressPool, NodeSelector, Peer, SelectorRequirement } from "./config_file.ts";
import { adv, clone, randomPeer, randomPool, randomSelector, req, serviceSelector } from "./test_util.ts";

Deno.test("TestSelectorRequirementsCompare: order by key, operator, values; permutations equal", () => {
  const ad = (values: string[] | null) => req("a", "d", values);
  const ap = (values: string[] | null) => req("a", "p", values);
  const cases: Array<[string, SelectorRequirement, SelectorRequirement, number]> = [
    ["{a,d} vs zero-value requirement", ad(null), req("", "", null), 1],
    ["{a,d} vs {d,d}", ad(null), req("d", "d", null), -1],
    ["{a,d} vs {a,p}", ad(null), ap(null), -1],
    ["values [] vs nil", ap([]), ap(null), 1],
    ["values [] vs []", ap([]), ap([]), 0],
    ["values [a] vs []", ap(["a"]), ap([]), 1],
    ["values [a] vs nil", ap(["a"]), ap(null), 1],
    ["values [b] vs [a]", ap(["b"]), ap(["a"]), 1],
    ["values [a,b] vs [a]", ap(["a", "b"]), ap(["a"]), 1],
    ["values [a,p] vs [a,b]", ap(["a", "p"]), ap(["a", "b"]), 1],
    ["values [a,p] vs [p,a]", ap(["a", "p"]), ap(["p", "a"]), 0],
  ];
  for (const [name, a, b, want] of cases) {
    assert.equal(compareSelectorRequirements(a, b), want, name);
    assert.equal(compareSelectorRequirements(b, a), -want || 0, `${name} (reversed)`);
  }
});

Deno.test("compareSelectorRequirements does not reorder the caller's values", () => {
  const a = req("k", "In", ["z", "a"]);
  compareSelectorRequirements(a, req("k", "In", ["a", "z"]));
  assert.deepEqual(a.values, ["z", "a"]);
});

Deno.test("TestSelectorRequirementsSliceLess: key, operator, value count, sorted values", () => {
  const r = (key: string, op: string, values: string) => req(key, op, values.split(""));
  const cases: Array<[string, SelectorRequirement, SelectorRequirement, boolean]> = [
    ["mykey-equal-abc < mykey-equal-def", r("mykey", "equal", "abc"), r("mykey", "equal", "def"), true],
    ["mykey-equal-def not < mykey-equal-abc", r("mykey", "equal", "def"), r("mykey", "equal", "abc"), false],
    ["mykey-equal-abc < yourkey-equal-abc", r("mykey", "equal", "abc"), r("yourkey", "equal", "abc"), true],
    ["mykey-in-abc < yourkey-equal-abc", r("mykey", "in", "abc"), r("yourkey", "equal", "abc"), true],
    ["mykey-equal-ab < mykey-equal-abc", r("mykey", "equal", "ab"), r("mykey", "equal", "abc"), true],
    ["mykey-equal-abc < mykey-in-abc", r("mykey", "equal", "abc"), r("mykey", "in", "abc"), true],
    ["mykey-in-ab not < mykey-equal-def", r("mykey", "in", "ab"), r("mykey", "equal", "def"), false],
    ["equal items not <", r("mykey", "equal", "abc"), r("mykey", "equal", "cba"), false],
  ];
  for (const [name, a, b, want] of cases) assert.equal(selectorRequirementLess(a, b), want, name);
});

Deno.test("TestSelectorRequirementsSliceLen/Equal: length matters, order does not", () => {
  const list = [req("a", "In", ["1", "2"]), req("b", "NotIn", ["3"]), req("c", "Exists", null)];
  assert.equal(list.length, 3);
  assert.equal(selectorRequirementsEqual(list, clone(list)), true, "duplicate");
  assert.equal(selectorRequirementsEqual(list, [...clone(list)].reverse()), true, "permuted");
  assert.equal(selectorRequirementsEqual(list, list.slice(0, 2)), false, "different length");
  const changed = clone(list);
  changed[1] = req("b", "NotIn", ["4"]);
  assert.equal(selectorRequirementsEqual(list, changed), false, "one different");
});

Deno.test("TestNodeSelectorsLess: labels then expressions", () => {
  const labels = (l: Record<string, string> | null): NodeSelector => ({
    matchLabels: l,
    matchExpressions: null,
  });
  const exprs = (e: SelectorRequirement[] | null): NodeSelector => ({
    matchLabels: null,
    matchExpressions: e,
  });
  const values = (v: string[] | null) => exprs([req("k", "In", v)]);
  const cases: Array<[string, NodeSelector, NodeSelector]> = [
    ["labels-a < labels-aq", labels({ a: "1" }), labels({ a: "1", q: "1" })],
    ["labels-a < labels-ae", labels({ a: "1" }), labels({ a: "1", e: "1" })],
    ["labels-ae < labels-aq", labels({ a: "1", e: "1" }), labels({ a: "1", q: "1" })],
    ["empty < labels-a", labels({}), labels({ a: "1" })],
    ["nil < labels-a", labels(null), labels({ a: "1" })],
    ["nil < empty labels", labels(null), labels({})],
    ["nil < empty exprs", exprs(null), exprs([])],
    ["empty < exprs-ad", exprs([]), exprs([req("a", "d", null)])],
    ["nil < exprs-ad", exprs(null), exprs([req("a", "d", null)])],
    ["exprs-ad < exprs-dd", exprs([req("a", "d", null)]), exprs([req("d", "d", null)])],
    ["exprs-ad < exprs-ap", exprs([req("a", "d", null)]), exprs([req("a", "p", null)])],
    ["values nil < empty", values(null), values([])],
    ["values empty < [a]", values([]), values(["a"])],
    ["values nil < [a]", values(null), values(["a"])],
    ["values [a] < [b]", values(["a"]), values(["b"])],
    ["values [a] < [a,b]", values(["a"]), values(["a", "b"])],
    ["values [a,b] < [a,p]", values(["a", "b"]), values(["a", "p"])],
  ];
  for (const [name, a, b] of cases) {
    assert.equal(nodeSelectorLess(a, b), true, name);
    assert.equal(nodeSelectorLess(b, a), false, `${name} (reversed)`);
  }
  assert.equal(nodeSelectorLess(values(["a", "p"]), values(["p", "a"])), false, "[a,p] vs [p,a]");
  assert.equal(nodeSelectorLess(values(["p", "a"]), values(["a", "p"])), false, "[p,a] vs [a,p]");
});

Deno.test("TestNodeSelectorsLen/Equal: different length or one different → false; permuted → true", () => {
  const list = [randomSelector("1"), randomSelector("2"), randomSelector("3")];
  assert.equal(list.length, 3);
  assert.equal(nodeSelectorsEqual(list, list.slice(1)), false, "different length");
  const changed = clone(list);
  changed[2] = randomSelector("4");
  assert.equal(nodeSelectorsEqual(list, changed), false, "one different");
  assert.equal(nodeSelectorsEqual(list, [list[2], list[0], list[1]] as NodeSelector[]), true, "permuted");
});

Deno.test("TestNodeSelectorEqual", () => {
  const base = randomSelector("x");
  const cases: Array<[string, NodeSelector | null, boolean]> = [
    ["nil", null, false],
    ["duplicate", clone(base), true],
    ["labels nil", { ...clone(base), matchLabels: null }, false],
    ["labels empty", { ...clone(base), matchLabels: {} }, false],
    ["labels different", { ...clone(base), matchLabels: { other: "v" } }, false],
    ["expressions nil", { ...clone(base), matchExpressions: null }, false],
    ["expressions empty", { ...clone(base), matchExpressions: [] }, false],
    [
      "expressions different",
      { ...clone(base), matchExpressions: randomSelector("y").matchExpressions },
      false,
    ],
    ["expressions permuted", {
      ...clone(base),
      matchExpressions: [...clone(base.matchExpressions ?? [])].reverse(),
    }, true],
  ];
  for (const [name, other, want] of cases) assert.equal(nodeSelectorEqual(base, other), want, name);
});

Deno.test("TestPeerEqual", () => {
  const base = randomPeer(1);
  const cases: Array<[string, Peer | null, boolean]> = [
    ["nil", null, false],
    ["duplicate", clone(base), true],
    ["MyASN", { ...clone(base), myASN: 1 }, false],
    ["ASN", { ...clone(base), peerASN: 1 }, false],
    ["Port", { ...clone(base), peerPort: 1 }, false],
    ["Addr", { ...clone(base), peerAddress: "10.9.9.9" }, false],
    ["HoldTime", { ...clone(base), holdTime: "3s" }, false],
    ["Password", { ...clone(base), password: "other" }, false],
    ["RouterID", { ...clone(base), routerID: "10.9.9.8" }, false],
    ["source-address (upstream ignored it, docs/upstream.md#metallb-configmap)", {
      ...clone(base),
      sourceAddress: "10.9.9.7",
    }, false],
    ["selectors nil", { ...clone(base), nodeSelectors: null }, false],
    ["selectors empty", { ...clone(base), nodeSelectors: [] }, false],
    ["selectors subset", { ...clone(base), nodeSelectors: clone(base.nodeSelectors ?? []).slice(1) }, false],
    [
      "selectors swapped",
      { ...clone(base), nodeSelectors: [...clone(base.nodeSelectors ?? [])].reverse() },
      true,
    ],
  ];
  for (const [name, other, want] of cases) assert.equal(peerEqual(base, other), want, name);
});

Deno.test("peerEqualIgnoreService ignores service selectors but not other selectors", () => {
  const withA = randomPeer(1, [["default", "a"]]);
  const withB = randomPeer(1, [["default", "b"], ["default", "c"]]);
  assert.equal(peerEqualIgnoreService(withA, withB), true);
  assert.equal(peerEqual(withA, withB), false);
  assert.equal(
    peerEqualIgnoreService(withA, { ...withB, nodeSelectors: [serviceSelector("default", "b")] }),
    false,
  );
  assert.equal(peerEqualIgnoreService(withA, { ...withB, sourceAddress: "10.9.9.9" }), false);
});

Deno.test("TestAddressPoolEqual", () => {
  const base = randomPool(1);
  const other = randomPool(2);
  const ads = base.bgpAdvertisements ?? [];
  const cases: Array<[string, AddressPool | null, boolean]> = [
    ["nil", null, false],
    ["duplicate", clone(base), true],
    ["protocol", { ...clone(base), protocol: "layer2" }, false],
    ["name", { ...clone(base), name: "other" }, false],
    ["avoidBuggyIPs", { ...clone(base), avoidBuggyIPs: false }, false],
    ["autoAssign", { ...clone(base), autoAssign: true }, false],
    ["addresses nil", { ...clone(base), addresses: null }, false],
    ["addresses empty", { ...clone(base), addresses: [] }, false],
    ["addresses subset", { ...clone(base), addresses: (base.addresses ?? []).slice(1) }, false],
    ["addresses different", { ...clone(base), addresses: other.addresses }, false],
    ["addresses permuted", { ...clone(base), addresses: [...(base.addresses ?? [])].reverse() }, true],
    ["advertisements nil", { ...clone(base), bgpAdvertisements: null }, false],
    ["advertisements empty", { ...clone(base), bgpAdvertisements: [] }, false],
    ["advertisements single", { ...clone(base), bgpAdvertisements: [adv(24, 100, null)] }, false],
    ["advertisements different", { ...clone(base), bgpAdvertisements: other.bgpAdvertisements }, false],
    ["advertisements subset", { ...clone(base), bgpAdvertisements: ads.slice(1) }, false],
    ["advertisements permuted", { ...clone(base), bgpAdvertisements: [...ads].reverse() }, true],
  ];
  for (const [name, o, want] of cases) assert.equal(addressPoolEqual(base, o), want, name);
});

Deno.test("absent auto-assign, aggregation-length and localpref compare by MetalLB defaults (upstream crashed, docs/upstream.md#metallb-configmap)", () => {
  const pool = randomPool(1);
  assert.equal(addressPoolEqual({ ...pool, autoAssign: null }, { ...pool, autoAssign: true }), true);
  assert.equal(addressPoolEqual({ ...pool, autoAssign: null }, { ...pool, autoAssign: false }), false);
  assert.equal(bgpAdvertisementEqual(adv(null, null, null), adv(32, 0, [])), true);
  assert.equal(bgpAdvertisementEqual(adv(null, null, null), adv(24, 0, null)), false);
  assert.equal(bgpAdvertisementEqual(adv(null, 5, ["b", "a"]), adv(32, 5, ["a", "b"])), true);
});
