/**
 * The MetalLB ≤ 0.12 configuration held in the `config` key of its ConfigMap: a typed model, a parser that
 * matches keys case-insensitively (and also accepts upstream CCM's Go field names), and a serializer that
 * writes MetalLB's own key names, sorted alphabetically, every known key present (`null` for absent lists
 * and maps), as upstream does. Keys we do not model are kept and written back unchanged, so saving never
 * loses a setting someone else wrote.
 *
 * @module
 */
import { parse, stringify } from "yaml";
import { errorMessage } from "../../../util/errors.ts";

/** One `match-expressions` entry of a node selector. */
export interface SelectorRequirement {
  key: string;
  operator: string;
  /** `null` when absent (distinct from an empty list in comparisons). */
  values: string[] | null;
}

/** One entry of a peer's `node-selectors`. */
export interface NodeSelector {
  matchLabels: Record<string, string> | null;
  matchExpressions: SelectorRequirement[] | null;
}

/** One entry of `peers`. */
export interface Peer {
  myASN: number;
  peerASN: number;
  peerAddress: string;
  /** 0 means MetalLB's default (179). */
  peerPort: number;
  sourceAddress: string;
  holdTime: string;
  routerID: string;
  nodeSelectors: NodeSelector[] | null;
  /** BGP MD5 password: a secret, never logged. */
  password: string;
  /** Omitted from the YAML when empty. */
  name: string;
  /** Keys we do not model, written back as read. */
  extra?: Record<string, unknown>;
}

/** One entry of a pool's `bgp-advertisements`. */
export interface BgpAdvertisement {
  /** `null` when absent: MetalLB then uses 32. */
  aggregationLength: number | null;
  /** `null` when absent: MetalLB then uses 0. */
  localPref: number | null;
  communities: string[] | null;
  extra?: Record<string, unknown>;
}

/** One entry of `address-pools`. */
export interface AddressPool {
  protocol: string;
  name: string;
  addresses: string[] | null;
  avoidBuggyIPs: boolean;
  /** `null` when absent: MetalLB then auto-assigns (true). */
  autoAssign: boolean | null;
  bgpAdvertisements: BgpAdvertisement[] | null;
  extra?: Record<string, unknown>;
}

/** The whole `config` document. */
export interface ConfigFile {
  peers: Peer[] | null;
  bgpCommunities: Record<string, string> | null;
  addressPools: AddressPool[] | null;
  extra?: Record<string, unknown>;
}

/** The `config` document is not valid; the message names the field path. */
export class ConfigFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigFileError";
  }
}

/** An empty configuration (what a ConfigMap without a `config` key means). */
export function emptyConfigFile(): ConfigFile {
  return { peers: null, bgpCommunities: null, addressPools: null };
}

/**
 * Parses the `config` YAML. Empty text is an empty configuration. YAML 1.1 rules apply (as in MetalLB's Go
 * parser: `yes`/`on` are booleans). Throws {@linkcode ConfigFileError} naming the field on a type mismatch.
 */
export function parseConfigFile(text: string): ConfigFile {
  let raw: unknown;
  try {
    raw = parse(text, { version: "1.1" });
  } catch (err) {
    throw new ConfigFileError(`config is not valid YAML: ${errorMessage(err)}`, { cause: err });
  }
  if (raw === null || raw === undefined) return emptyConfigFile();
  const { get, extra } = fields(raw, "config", TOP_KEYS);
  return withExtra<ConfigFile>({
    peers: list(get("peers"), "peers", readPeer),
    bgpCommunities: stringMap(get("bgp-communities"), "bgp-communities"),
    addressPools: list(get("address-pools"), "address-pools", readPool),
  }, extra);
}

/** Serializes to YAML with MetalLB's key names in alphabetical order, as upstream writes it. */
export function serializeConfigFile(cfg: ConfigFile): string {
  const doc = sortedObject({
    ...cfg.extra,
    "address-pools": cfg.addressPools?.map(writePool) ?? null,
    "bgp-communities": cfg.bgpCommunities,
    peers: cfg.peers?.map(writePeer) ?? null,
  });
  return stringify(doc, { version: "1.1", indentSeq: false, lineWidth: 0 });
}

/** Canonical key → accepted spellings (compared lowercased); the first is the canonical MetalLB key. */
type KeySpec = Record<string, readonly string[]>;

const TOP_KEYS: KeySpec = {
  peers: ["peers"],
  "bgp-communities": ["bgp-communities", "bgpcommunities"],
  "address-pools": ["address-pools", "pools"],
};
const PEER_KEYS: KeySpec = {
  "my-asn": ["my-asn", "myasn"],
  "peer-asn": ["peer-asn", "asn"],
  "peer-address": ["peer-address", "addr"],
  "peer-port": ["peer-port", "port"],
  "source-address": ["source-address", "srcaddr"],
  "hold-time": ["hold-time", "holdtime"],
  "router-id": ["router-id", "routerid"],
  "node-selectors": ["node-selectors", "nodeselectors"],
  password: ["password"],
  name: ["name"],
};
const SELECTOR_KEYS: KeySpec = {
  "match-labels": ["match-labels", "matchlabels"],
  "match-expressions": ["match-expressions", "matchexpressions"],
};
const REQUIREMENT_KEYS: KeySpec = { key: ["key"], operator: ["operator"], values: ["values"] };
const POOL_KEYS: KeySpec = {
  protocol: ["protocol"],
  name: ["name"],
  addresses: ["addresses"],
  "avoid-buggy-ips": ["avoid-buggy-ips", "avoidbuggyips"],
  "auto-assign": ["auto-assign", "autoassign"],
  "bgp-advertisements": ["bgp-advertisements", "bgpadvertisements"],
};
const ADVERTISEMENT_KEYS: KeySpec = {
  "aggregation-length": ["aggregation-length", "aggregationlength"],
  localpref: ["localpref"],
  communities: ["communities"],
};

function fields(
  raw: unknown,
  path: string,
  spec: KeySpec,
): { get(key: string): unknown; extra: Record<string, unknown> } {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigFileError(`${path} must be a mapping, got ${describe(raw)}`);
  }
  const byAlias = new Map<string, string>();
  for (const [canonical, aliases] of Object.entries(spec)) {
    for (const alias of aliases) byAlias.set(alias, canonical);
  }
  const values = new Map<string, unknown>();
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const canonical = byAlias.get(key.toLowerCase());
    if (canonical === undefined) extra[key] = value;
    else values.set(canonical, value);
  }
  return { get: (key) => values.get(key), extra };
}

function withExtra<T extends { extra?: Record<string, unknown> }>(obj: T, extra: Record<string, unknown>): T {
  if (Object.keys(extra).length > 0) obj.extra = extra;
  return obj;
}

function readPeer(raw: unknown, path: string): Peer {
  const { get, extra } = fields(raw, path, PEER_KEYS);
  return withExtra<Peer>({
    myASN: num(get("my-asn"), `${path}.my-asn`),
    peerASN: num(get("peer-asn"), `${path}.peer-asn`),
    peerAddress: str(get("peer-address"), `${path}.peer-address`),
    peerPort: num(get("peer-port"), `${path}.peer-port`),
    sourceAddress: str(get("source-address"), `${path}.source-address`),
    holdTime: str(get("hold-time"), `${path}.hold-time`),
    routerID: str(get("router-id"), `${path}.router-id`),
    nodeSelectors: list(get("node-selectors"), `${path}.node-selectors`, readSelector),
    password: str(get("password"), `${path}.password`),
    name: str(get("name"), `${path}.name`),
  }, extra);
}

function readSelector(raw: unknown, path: string): NodeSelector {
  const { get } = fields(raw, path, SELECTOR_KEYS);
  return {
    matchLabels: stringMap(get("match-labels"), `${path}.match-labels`),
    matchExpressions: list(get("match-expressions"), `${path}.match-expressions`, readRequirement),
  };
}

function readRequirement(raw: unknown, path: string): SelectorRequirement {
  const { get } = fields(raw, path, REQUIREMENT_KEYS);
  return {
    key: str(get("key"), `${path}.key`),
    operator: str(get("operator"), `${path}.operator`),
    values: list(get("values"), `${path}.values`, str),
  };
}

function readPool(raw: unknown, path: string): AddressPool {
  const { get, extra } = fields(raw, path, POOL_KEYS);
  const autoAssign = get("auto-assign");
  return withExtra<AddressPool>({
    protocol: str(get("protocol"), `${path}.protocol`),
    name: str(get("name"), `${path}.name`),
    addresses: list(get("addresses"), `${path}.addresses`, str),
    avoidBuggyIPs: bool(get("avoid-buggy-ips"), `${path}.avoid-buggy-ips`),
    autoAssign: autoAssign === null || autoAssign === undefined
      ? null
      : bool(autoAssign, `${path}.auto-assign`),
    bgpAdvertisements: list(get("bgp-advertisements"), `${path}.bgp-advertisements`, readAdvertisement),
  }, extra);
}

function readAdvertisement(raw: unknown, path: string): BgpAdvertisement {
  const { get, extra } = fields(raw, path, ADVERTISEMENT_KEYS);
  const aggregationLength = get("aggregation-length");
  const localPref = get("localpref");
  return withExtra<BgpAdvertisement>({
    aggregationLength: aggregationLength === null || aggregationLength === undefined
      ? null
      : num(aggregationLength, `${path}.aggregation-length`),
    localPref: localPref === null || localPref === undefined ? null : num(localPref, `${path}.localpref`),
    communities: list(get("communities"), `${path}.communities`, str),
  }, extra);
}

function list<T>(raw: unknown, path: string, item: (raw: unknown, path: string) => T): T[] | null {
  if (raw === null || raw === undefined) return null;
  if (!Array.isArray(raw)) throw new ConfigFileError(`${path} must be a list, got ${describe(raw)}`);
  return raw.map((v, i) => item(v, `${path}[${i}]`));
}

function stringMap(raw: unknown, path: string): Record<string, string> | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigFileError(`${path} must be a mapping, got ${describe(raw)}`);
  }
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, str(v, `${path}.${k}`)]));
}

function str(raw: unknown, path: string): string {
  if (raw === null || raw === undefined) return "";
  if (typeof raw === "string") return raw;
  // MetalLB's YAML decoder turns plain scalars into strings for string fields; so do we.
  if (typeof raw === "number" || typeof raw === "boolean") return String(raw);
  throw new ConfigFileError(`${path} must be a string, got ${describe(raw)}`);
}

function num(raw: unknown, path: string): number {
  if (raw === null || raw === undefined) return 0;
  if (typeof raw === "number" && Number.isInteger(raw)) return raw;
  throw new ConfigFileError(`${path} must be an integer, got ${describe(raw)}`);
}

function bool(raw: unknown, path: string): boolean {
  if (raw === null || raw === undefined) return false;
  if (typeof raw === "boolean") return raw;
  throw new ConfigFileError(`${path} must be true or false, got ${describe(raw)}`);
}

function describe(raw: unknown): string {
  if (Array.isArray(raw)) return "a list";
  if (raw === null) return "null";
  if (typeof raw === "object") return "a mapping";
  return JSON.stringify(raw);
}

function sortedObject(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function writePeer(p: Peer): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ...p.extra,
    "hold-time": p.holdTime,
    "my-asn": p.myASN,
    "node-selectors": p.nodeSelectors?.map(writeSelector) ?? null,
    password: p.password,
    "peer-address": p.peerAddress,
    "peer-asn": p.peerASN,
    "peer-port": p.peerPort,
    "router-id": p.routerID,
    "source-address": p.sourceAddress,
  };
  if (p.name !== "") out.name = p.name;
  return sortedObject(out);
}

function writeSelector(s: NodeSelector): Record<string, unknown> {
  return {
    "match-expressions":
      s.matchExpressions?.map((r) => ({ key: r.key, operator: r.operator, values: r.values })) ??
        null,
    "match-labels": s.matchLabels === null ? null : sortedObject(s.matchLabels),
  };
}

function writePool(p: AddressPool): Record<string, unknown> {
  return sortedObject({
    ...p.extra,
    addresses: p.addresses,
    "auto-assign": p.autoAssign,
    "avoid-buggy-ips": p.avoidBuggyIPs,
    "bgp-advertisements": p.bgpAdvertisements?.map(writeAdvertisement) ?? null,
    name: p.name,
    protocol: p.protocol,
  });
}

function writeAdvertisement(a: BgpAdvertisement): Record<string, unknown> {
  return sortedObject({
    ...a.extra,
    "aggregation-length": a.aggregationLength,
    communities: a.communities,
    localpref: a.localPref,
  });
}
