/**
 * Equality and ordering of MetalLB ConfigMap objects, as upstream defines them (upstream's unit tests): node
 * selectors and selector requirements compare order-insensitively, `null` lists sort before empty ones, and
 * pools or advertisements compare by MetalLB's effective values (an absent `auto-assign` is `true`, an absent
 * `aggregation-length` is 32, an absent `localpref` is 0) instead of crashing on absent fields as upstream
 * does.
 *
 * @module
 */
import type {
  AddressPool,
  BgpAdvertisement,
  NodeSelector,
  Peer,
  SelectorRequirement,
} from "./config_file.ts";
import { isServiceSelector } from "./service_selector.ts";

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedCopy(values: readonly string[]): string[] {
  return [...values].sort(cmp);
}

/** Compares string lists as multisets: sorted, element by element. Lists must have equal length. */
function compareSorted(a: readonly string[], b: readonly string[]): number {
  const sa = sortedCopy(a);
  const sb = sortedCopy(b);
  for (let i = 0; i < sa.length; i++) {
    const c = cmp(sa[i] ?? "", sb[i] ?? "");
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * Orders requirements by key, operator, then values: `null` < empty < non-empty, shorter first, then sorted
 * values lexicographically. Permutations of the same values compare equal (0).
 */
export function compareSelectorRequirements(a: SelectorRequirement, b: SelectorRequirement): number {
  if (a.key !== b.key) return cmp(a.key, b.key);
  if (a.operator !== b.operator) return cmp(a.operator, b.operator);
  if (a.values === null || b.values === null) {
    if (a.values === b.values) return 0;
    return a.values === null ? -1 : 1;
  }
  if (a.values.length !== b.values.length) return a.values.length < b.values.length ? -1 : 1;
  return compareSorted(a.values, b.values);
}

/** Sort order of requirement lists: key, operator, number of values, sorted values (absent = no values). */
export function selectorRequirementLess(a: SelectorRequirement, b: SelectorRequirement): boolean {
  if (a.key !== b.key) return a.key < b.key;
  if (a.operator !== b.operator) return a.operator < b.operator;
  const av = a.values ?? [];
  const bv = b.values ?? [];
  if (av.length !== bv.length) return av.length < bv.length;
  return compareSorted(av, bv) < 0;
}

/** Whether two lists hold the same items in any order, by `equal`. */
function sameMultiset<T>(a: readonly T[], b: readonly T[], equal: (x: T, y: T) => boolean): boolean {
  if (a.length !== b.length) return false;
  const unused = [...b];
  for (const x of a) {
    const i = unused.findIndex((y) => equal(x, y));
    if (i < 0) return false;
    unused.splice(i, 1);
  }
  return true;
}

/** Whether two requirement lists are equal ignoring order (`null` and empty are both "no requirements"). */
export function selectorRequirementsEqual(
  a: readonly SelectorRequirement[] | null,
  b: readonly SelectorRequirement[] | null,
): boolean {
  return sameMultiset(a ?? [], b ?? [], (x, y) => compareSelectorRequirements(x, y) === 0);
}

/**
 * Sort order of node selectors: `null` labels first, fewer labels first, then sorted label keys and values;
 * then `null` expressions first, fewer expressions first, then sorted expressions compared in turn.
 */
export function nodeSelectorLess(a: NodeSelector, b: NodeSelector): boolean {
  if (a.matchLabels === null && b.matchLabels !== null) return true;
  if (a.matchLabels !== null && b.matchLabels === null) return false;
  const al = a.matchLabels ?? {};
  const bl = b.matchLabels ?? {};
  const ak = Object.keys(al).sort(cmp);
  const bk = Object.keys(bl).sort(cmp);
  if (ak.length !== bk.length) return ak.length < bk.length;
  for (let i = 0; i < ak.length; i++) {
    const ka = ak[i] as string;
    const kb = bk[i] as string;
    if (ka !== kb) return ka < kb;
    if (al[ka] !== bl[kb]) return (al[ka] ?? "") < (bl[kb] ?? "");
  }
  if (a.matchExpressions === null && b.matchExpressions !== null) return true;
  if (a.matchExpressions !== null && b.matchExpressions === null) return false;
  const ae = sortRequirements(a.matchExpressions ?? []);
  const be = sortRequirements(b.matchExpressions ?? []);
  if (ae.length !== be.length) return ae.length < be.length;
  for (let i = 0; i < ae.length; i++) {
    const c = compareSelectorRequirements(ae[i] as SelectorRequirement, be[i] as SelectorRequirement);
    if (c !== 0) return c < 0;
  }
  return false;
}

function sortRequirements(reqs: readonly SelectorRequirement[]): SelectorRequirement[] {
  return [...reqs].sort((
    x,
    y,
  ) => (selectorRequirementLess(x, y) ? -1 : selectorRequirementLess(y, x) ? 1 : 0));
}

/** Whether two node selectors are equal: same labels (count and values) and same expressions in any order. */
export function nodeSelectorEqual(a: NodeSelector, b: NodeSelector | null | undefined): boolean {
  if (!b) return false;
  const al = a.matchLabels ?? {};
  const bl = b.matchLabels ?? {};
  if (Object.keys(al).length !== Object.keys(bl).length) return false;
  if ((a.matchExpressions?.length ?? 0) !== (b.matchExpressions?.length ?? 0)) return false;
  for (const [k, v] of Object.entries(al)) {
    if (bl[k] !== v) return false;
  }
  return selectorRequirementsEqual(a.matchExpressions, b.matchExpressions);
}

/** Whether two selector lists hold the same selectors in any order. */
export function nodeSelectorsEqual(
  a: readonly NodeSelector[] | null,
  b: readonly NodeSelector[] | null,
): boolean {
  return sameMultiset(a ?? [], b ?? [], (x, y) => nodeSelectorEqual(x, y));
}

/** Like {@linkcode nodeSelectorsEqual}, but service selectors (see `service_selector.ts`) are ignored. */
export function nodeSelectorsEqualIgnoreService(
  a: readonly NodeSelector[] | null,
  b: readonly NodeSelector[] | null,
): boolean {
  const strip = (list: readonly NodeSelector[] | null) => (list ?? []).filter((s) => !isServiceSelector(s));
  return nodeSelectorsEqual(strip(a), strip(b));
}

function peerFieldsEqual(a: Peer, b: Peer): boolean {
  return a.myASN === b.myASN && a.peerASN === b.peerASN && a.peerAddress === b.peerAddress &&
    a.peerPort === b.peerPort && a.holdTime === b.holdTime && a.password === b.password &&
    a.routerID === b.routerID && a.sourceAddress === b.sourceAddress;
}

/**
 * Whether two peers are the same session: ASNs, address, port, hold time, password, router id, source address
 * (upstream forgot this one) and node selectors in any order.
 */
export function peerEqual(a: Peer, b: Peer | null | undefined): boolean {
  if (!b) return false;
  return peerFieldsEqual(a, b) && nodeSelectorsEqual(a.nodeSelectors, b.nodeSelectors);
}

/** Like {@linkcode peerEqual}, but the Services recorded in node selectors are ignored. */
export function peerEqualIgnoreService(a: Peer, b: Peer | null | undefined): boolean {
  if (!b) return false;
  return peerFieldsEqual(a, b) && nodeSelectorsEqualIgnoreService(a.nodeSelectors, b.nodeSelectors);
}

/** Whether two advertisements are equal by effective values; communities compare in any order. */
export function bgpAdvertisementEqual(a: BgpAdvertisement, b: BgpAdvertisement | null | undefined): boolean {
  if (!b) return false;
  if ((a.aggregationLength ?? 32) !== (b.aggregationLength ?? 32)) return false;
  if ((a.localPref ?? 0) !== (b.localPref ?? 0)) return false;
  const ac = a.communities ?? [];
  const bc = b.communities ?? [];
  return ac.length === bc.length && compareSorted(ac, bc) === 0;
}

/**
 * Whether two pools are equal except for their names: protocol, avoid-buggy-ips, effective auto-assign,
 * addresses (any order) and advertisements (any order).
 */
export function addressPoolEqualIgnoreName(a: AddressPool, b: AddressPool | null | undefined): boolean {
  if (!b) return false;
  if (a.protocol !== b.protocol || a.avoidBuggyIPs !== b.avoidBuggyIPs) return false;
  if ((a.autoAssign ?? true) !== (b.autoAssign ?? true)) return false;
  const aa = a.addresses ?? [];
  const ba = b.addresses ?? [];
  if (aa.length !== ba.length || compareSorted(aa, ba) !== 0) return false;
  return sameMultiset(
    a.bgpAdvertisements ?? [],
    b.bgpAdvertisements ?? [],
    (x, y) => bgpAdvertisementEqual(x, y),
  );
}

/** Whether two pools are equal, names included. */
export function addressPoolEqual(a: AddressPool, b: AddressPool | null | undefined): boolean {
  return addressPoolEqualIgnoreName(a, b) && a.name === b?.name;
}
