/**
 * The MetalLB custom resources CR mode manages (`metallb.io`), the fields we read and write, and their
 * naming and labelling as upstream does it (upstream's metal/loadbalancers/metallb/cr.go).
 *
 * @module
 */
import type { ServiceRef } from "./service_selector.ts";

/** API group of MetalLB's custom resources. */
export const METALLB_GROUP = "metallb.io";
/** Version upstream writes every object with. */
export const METALLB_V1BETA1 = "v1beta1";
/** Version whose BGPPeer has `passwordSecret` (MetalLB ≥ 0.14); used for peers in password-Secret mode. */
export const METALLB_V1BETA2 = "v1beta2";

/** Label key and value on every object we own. */
export const OWNER_LABEL_KEY = "cloud-provider";
/** See {@linkcode OWNER_LABEL_KEY}. */
export const OWNER_LABEL_VALUE = "equinix-metal";
/** Label selector listing the objects we own. */
export const OWNER_SELECTOR = `${OWNER_LABEL_KEY}=${OWNER_LABEL_VALUE}`;
/** The BGPAdvertisement we create when no labelled advertisement exists. */
export const DEFAULT_ADVERTISEMENT = "equinix-metal-bgp-adv";
/** BGP port written on peers. */
export const BGP_PORT = 179;

const SERVICE_LABEL_PREFIX = "service-";
const SERVICE_LABEL_VALUE_PREFIX = "namespace-";

/** The kinds we manage and their plural resource names. */
export const PLURALS = {
  IPAddressPool: "ipaddresspools",
  BGPPeer: "bgppeers",
  BGPAdvertisement: "bgpadvertisements",
} as const;

/** A kind we manage. */
export type MetalLBKind = keyof typeof PLURALS;

/** Object metadata fields we use (others are kept as read). */
export interface CrMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  resourceVersion?: string;
  [key: string]: unknown;
}

/** A MetalLB custom resource. */
export interface CrObject<S> {
  apiVersion?: string;
  kind?: string;
  metadata: CrMeta;
  spec?: S;
}

/** A node selector as MetalLB CRs spell it. */
export interface CrNodeSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** IPAddressPool spec fields we use. */
export interface IPAddressPoolSpec {
  addresses?: string[];
  autoAssign?: boolean;
  [key: string]: unknown;
}

/** BGPPeer spec fields we use. */
export interface BGPPeerSpec {
  myASN?: number;
  peerASN?: number;
  peerAddress?: string;
  sourceAddress?: string;
  peerPort?: number;
  holdTime?: string;
  keepaliveTime?: string;
  routerID?: string;
  nodeSelectors?: CrNodeSelector[];
  /** A secret: never logged. */
  password?: string;
  passwordSecret?: { name?: string; namespace?: string };
  [key: string]: unknown;
}

/** BGPAdvertisement spec fields we use. */
export interface BGPAdvertisementSpec {
  ipAddressPools?: string[];
  [key: string]: unknown;
}

/** How peers carry the BGP password. */
export type PeerPassword =
  /** In `spec.password`, as upstream. */
  | { mode: "inline" }
  /** In a `kubernetes.io/basic-auth` Secret referenced by `spec.passwordSecret` (needs BGPPeer v1beta2). */
  | { mode: "secret"; secretName: string; namespace: string };

/** An IPAddressPool. */
export type IPAddressPool = CrObject<IPAddressPoolSpec>;
/** A BGPPeer. */
export type BGPPeer = CrObject<BGPPeerSpec>;
/** A BGPAdvertisement. */
export type BGPAdvertisement = CrObject<BGPAdvertisementSpec>;

/** Pool name of a Service: `<ns>.<name>`, each part with every character outside `[A-Za-z0-9-]` removed. */
export function poolName(svc: ServiceRef): string {
  const clean = (s: string) => s.replace(/[^a-zA-Z0-9-]+/g, "");
  return `${clean(svc.namespace)}.${clean(svc.name)}`;
}

/** Longest label key name part and label value Kubernetes accepts. */
const LABEL_MAX = 63;

/**
 * Pool label naming a Service: key `service-<name>`, value `namespace-<namespace>` — or `undefined` when one
 * would be longer than Kubernetes allows (a Service name over 55 characters, a namespace over 53; upstream
 * failed to create the pool then). The pool's name `<namespace>.<name>` names the Service instead.
 */
export function serviceLabel(svc: ServiceRef): [key: string, value: string] | undefined {
  const key = `${SERVICE_LABEL_PREFIX}${svc.name}`;
  const value = `${SERVICE_LABEL_VALUE_PREFIX}${svc.namespace}`;
  return key.length <= LABEL_MAX && value.length <= LABEL_MAX ? [key, value] : undefined;
}

/**
 * Services named by a pool's `service-<name>: namespace-<ns>` labels; without such labels, by the pool's name
 * `<namespace>.<name>` when the labels could not hold it (see {@linkcode serviceLabel}).
 */
export function servicesOfPool(pool: IPAddressPool): ServiceRef[] {
  const labelled = Object.entries(pool.metadata.labels ?? {}).flatMap(([k, v]) =>
    k.startsWith(SERVICE_LABEL_PREFIX) && v.startsWith(SERVICE_LABEL_VALUE_PREFIX)
      ? [{
        name: k.slice(SERVICE_LABEL_PREFIX.length),
        namespace: v.slice(SERVICE_LABEL_VALUE_PREFIX.length),
      }]
      : []
  );
  if (labelled.length > 0) return labelled;
  const [namespace, name, ...rest] = pool.metadata.name.split(".");
  const ref = { namespace: namespace ?? "", name: name ?? "" };
  return rest.length === 0 && ref.namespace !== "" && ref.name !== "" && serviceLabel(ref) === undefined
    ? [ref]
    : [];
}

/** Metadata of a new object we own. */
export function ownedMeta(name: string, namespace: string, extraLabels: Record<string, string> = {}): CrMeta {
  return { name, namespace, labels: { [OWNER_LABEL_KEY]: OWNER_LABEL_VALUE, ...extraLabels } };
}
