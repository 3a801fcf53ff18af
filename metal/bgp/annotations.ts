/**
 * Node annotations for BGP speakers (kube-vip, MetalLB peer autodiscovery), with upstream's keys and formats
 * (upstream's metal/bgp.go): `metal.equinix.com/bgp-peers-{{n}}-node-asn|peer-asn|peer-ip|src-ip|bgp-pass`
 * per peer `n` (peer IPs sorted as strings) and `metal.equinix.com/network-4-private`. Pure functions: the
 * wanted annotations, and the JSON merge patch that gets a Node there — including removing stale higher
 * indexes, which upstream never did.
 *
 * @module
 */

/** The configurable annotation keys (`METAL_ANNOTATION_*`); per-peer keys contain `{{n}}`. */
export interface AnnotationTemplates {
  localAsn: string;
  peerAsn: string;
  peerIp: string;
  srcIp: string;
  bgpPass: string;
  networkIpv4Private: string;
}

/** What the annotations are made of: the device's IPv4 BGP neighbour and private network. */
export interface NodeBgpData {
  /** `customer_as`. */
  localAsn: number;
  /** `peer_as`. */
  peerAsn: number;
  /** `customer_ip`. */
  sourceIp: string;
  /** `peer_ips`; sorted here. */
  peerIps: readonly string[];
  /** `md5_password`; a secret. */
  password: string;
}

/** Placeholder replaced by the peer index (only its first occurrence, as upstream). */
const INDEX_PLACEHOLDER = "{{n}}";

/** The per-peer template keys of {@linkcode AnnotationTemplates}. */
const PER_PEER = ["localAsn", "peerAsn", "peerIp", "srcIp", "bgpPass"] as const;

/** A per-peer annotation key for peer `index`. */
export function peerAnnotationKey(template: string, index: number): string {
  return template.replace(INDEX_PLACEHOLDER, String(index));
}

/** `"<network>/<cidr>"`, the value of the private network annotation. */
export function privateNetworkValue(network: string, cidr: number): string {
  return `${network}/${cidr}`;
}

/** Options of {@linkcode desiredBgpAnnotations}. */
export interface DesiredAnnotationsOptions {
  templates: AnnotationTemplates;
  /** Neighbour data; `undefined` when not available yet (peer annotations are then left as they are). */
  bgp?: NodeBgpData;
  /** `<network>/<cidr>`; `undefined` when not known (the annotation is then left as it is). */
  privateNetwork?: string;
  /** Write `bgp-pass` annotations (upstream always did); when false they are removed. */
  includePassword: boolean;
}

/**
 * The annotations a Node should carry: key → value to set, or `null` for keys to remove. Keys absent from the
 * result are left alone.
 */
export function desiredBgpAnnotations(
  current: Readonly<Record<string, string>> | undefined,
  options: DesiredAnnotationsOptions,
): Record<string, string | null> {
  const { templates, bgp } = options;
  const wanted: Record<string, string | null> = {};
  if (options.privateNetwork !== undefined) wanted[templates.networkIpv4Private] = options.privateNetwork;
  if (bgp !== undefined) {
    const ips = [...bgp.peerIps].sort();
    const password = encodeBase64(bgp.password);
    ips.forEach((ip, i) => {
      wanted[peerAnnotationKey(templates.localAsn, i)] = String(bgp.localAsn);
      wanted[peerAnnotationKey(templates.peerAsn, i)] = String(bgp.peerAsn);
      wanted[peerAnnotationKey(templates.peerIp, i)] = ip;
      wanted[peerAnnotationKey(templates.srcIp, i)] = bgp.sourceIp;
      if (options.includePassword) wanted[peerAnnotationKey(templates.bgpPass, i)] = password;
    });
    // Higher indexes left from an earlier, longer peer list go away.
    for (const key of Object.keys(current ?? {})) {
      if (key in wanted) continue;
      if (PER_PEER.some((field) => matchesTemplate(key, templates[field]))) wanted[key] = null;
    }
  }
  if (!options.includePassword) {
    for (const key of Object.keys(current ?? {})) {
      if (matchesTemplate(key, templates.bgpPass)) wanted[key] = null;
    }
  }
  return wanted;
}

/** Annotations to remove from a Node that no longer gets BGP: every per-peer key (not the network one). */
export function removedBgpAnnotations(
  current: Readonly<Record<string, string>> | undefined,
  templates: AnnotationTemplates,
): Record<string, null> {
  const removed: Record<string, null> = {};
  for (const key of Object.keys(current ?? {})) {
    if (PER_PEER.some((field) => matchesTemplate(key, templates[field]))) removed[key] = null;
  }
  return removed;
}

/**
 * The JSON merge patch (`{"metadata":{"annotations":{...}}}`) that applies `wanted` to a Node, or `undefined`
 * when the Node already matches.
 */
export function annotationPatch(
  current: Readonly<Record<string, string>> | undefined,
  wanted: Readonly<Record<string, string | null>>,
): { metadata: { annotations: Record<string, string | null> } } | undefined {
  const changes: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(wanted)) {
    const has = current !== undefined && Object.hasOwn(current, key);
    if (value === null ? has : !has || current[key] !== value) changes[key] = value;
  }
  return Object.keys(changes).length === 0 ? undefined : { metadata: { annotations: changes } };
}

/** Whether `key` is `template` with its first `{{n}}` replaced by a decimal index. */
function matchesTemplate(key: string, template: string): boolean {
  const at = template.indexOf(INDEX_PLACEHOLDER);
  if (at < 0) return key === template;
  const head = template.slice(0, at);
  const tail = template.slice(at + INDEX_PLACEHOLDER.length);
  if (!key.startsWith(head) || !key.endsWith(tail) || key.length <= head.length + tail.length) return false;
  return /^\d+$/.test(key.slice(head.length, key.length - tail.length));
}

function encodeBase64(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}
