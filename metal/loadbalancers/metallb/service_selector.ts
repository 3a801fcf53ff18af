/**
 * How a MetalLB peer records which Services use it: one node selector per Service whose match-labels are
 * exactly `{nomatch.metal.equinix.com/service-namespace: <ns>, nomatch.metal.equinix.com/service-name: <name>}`
 * (labels no node carries, so they never narrow the peer). Shared by ConfigMap and CR mode; works on any
 * selector shape with `matchLabels`/`matchExpressions`.
 *
 * @module
 */

/** Node label MetalLB peers are pinned to nodes with. */
export const HOSTNAME_LABEL = "kubernetes.io/hostname";
/** Match-label key holding a Service's name in a service selector. */
export const SERVICE_NAME_LABEL = "nomatch.metal.equinix.com/service-name";
/** Match-label key holding a Service's namespace in a service selector. */
export const SERVICE_NAMESPACE_LABEL = "nomatch.metal.equinix.com/service-namespace";

/** A Service by namespace and name. */
export interface ServiceRef {
  namespace: string;
  name: string;
}

/** The part of a node selector these helpers read. */
export interface SelectorLike {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: readonly unknown[] | null;
}

/** `namespace/name`. */
export function serviceKey(ref: ServiceRef): string {
  return `${ref.namespace}/${ref.name}`;
}

/** Orders Services by namespace, then name. */
export function compareServiceRefs(a: ServiceRef, b: ServiceRef): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return 0;
}

/**
 * Whether `sel` is a service selector: only the two service keys (or one of them) in its match-labels, with
 * a non-empty value, and no expressions. A selector holding only one key is a broken service selector: it is
 * dropped whenever the list is rewritten.
 */
export function isServiceSelector(sel: SelectorLike): boolean {
  if ((sel.matchExpressions?.length ?? 0) > 0) return false;
  const entries = Object.entries(sel.matchLabels ?? {});
  if (entries.length === 0) return false;
  return entries.every(([k, v]) => (k === SERVICE_NAME_LABEL || k === SERVICE_NAMESPACE_LABEL) && v !== "");
}

/** The Service a complete service selector names, else `undefined`. */
export function serviceOfSelector(sel: SelectorLike): ServiceRef | undefined {
  if (!isServiceSelector(sel)) return undefined;
  const name = sel.matchLabels?.[SERVICE_NAME_LABEL];
  const namespace = sel.matchLabels?.[SERVICE_NAMESPACE_LABEL];
  return name && namespace ? { namespace, name } : undefined;
}

/** Services named by the service selectors of a peer, in list order. */
export function servicesOf(selectors: readonly SelectorLike[] | null | undefined): ServiceRef[] {
  return (selectors ?? []).flatMap((s) => serviceOfSelector(s) ?? []);
}

/** The node a peer is pinned to: the value of a selector that is exactly `{kubernetes.io/hostname: X}`. */
export function nodeOfSelectors(selectors: readonly SelectorLike[] | null | undefined): string | undefined {
  for (const sel of selectors ?? []) {
    if ((sel.matchExpressions?.length ?? 0) > 0) continue;
    const entries = Object.entries(sel.matchLabels ?? {});
    if (entries.length === 1 && entries[0]?.[0] === HOSTNAME_LABEL) return entries[0][1];
  }
  return undefined;
}

/**
 * Rewrites `selectors` as: every non-service selector (original order), then one service selector per Service
 * in `services`, sorted by namespace then name, without duplicates.
 */
export function rewriteServiceSelectors<S extends SelectorLike>(
  selectors: readonly S[] | null | undefined,
  services: readonly ServiceRef[],
  make: (labels: Record<string, string>) => S,
): S[] {
  const kept = (selectors ?? []).filter((s) => !isServiceSelector(s));
  const unique = new Map(services.map((s) => [serviceKey(s), s]));
  const sorted = [...unique.values()].sort(compareServiceRefs);
  return [
    ...kept,
    ...sorted.map((s) => make({ [SERVICE_NAMESPACE_LABEL]: s.namespace, [SERVICE_NAME_LABEL]: s.name })),
  ];
}

/** Selectors with `svc` added, or `undefined` when it was already there (nothing to change). */
export function addServiceSelector<S extends SelectorLike>(
  selectors: readonly S[] | null | undefined,
  svc: ServiceRef,
  make: (labels: Record<string, string>) => S,
): S[] | undefined {
  const services = servicesOf(selectors);
  if (services.some((s) => s.namespace === svc.namespace && s.name === svc.name)) return undefined;
  return rewriteServiceSelectors(selectors, [...services, svc], make);
}

/**
 * Selectors with `svc` removed: `removed` says whether it was there, `remaining` how many Services are left.
 * When it was not there, `selectors` is returned unchanged.
 */
export function removeServiceSelector<S extends SelectorLike>(
  selectors: readonly S[] | null | undefined,
  svc: ServiceRef,
  make: (labels: Record<string, string>) => S,
): { selectors: S[]; removed: boolean; remaining: number } {
  const services = servicesOf(selectors);
  const others = services.filter((s) => s.namespace !== svc.namespace || s.name !== svc.name);
  if (others.length === services.length) {
    return { selectors: [...(selectors ?? [])], removed: false, remaining: services.length };
  }
  return {
    selectors: rewriteServiceSelectors(selectors, others, make),
    removed: true,
    remaining: others.length,
  };
}
