/**
 * The table of Equinix Metal settings: environment variable, `cloud-sa.json` key, default and meaning of each.
 * `config.ts` loads them; the README's configuration table is generated from this data and checked by a test.
 *
 * @module
 */
import type { LabelSelector } from "../util/label_selector.ts";
import type { LoadBalancerConfig } from "./load_balancer_config.ts";
import { METALLB_BGP_TYPES, type MetalLbBgpType } from "./loadbalancers/metallb/cr_peer_layout.ts";

/** Every setting, parsed. Field names match {@linkcode MetalSetting.field}. */
export interface MetalConfigValues {
  readonly apiKey: string;
  readonly projectId: string;
  readonly baseUrl: string;
  readonly loadBalancer: LoadBalancerConfig;
  readonly metro: string;
  readonly facility: string;
  readonly localAsn: number;
  readonly bgpPass: string;
  readonly annotationLocalAsn: string;
  readonly annotationPeerAsn: string;
  readonly annotationPeerIp: string;
  readonly annotationSrcIp: string;
  readonly annotationBgpPass: string;
  readonly annotationNetworkIpv4Private: string;
  readonly annotationEipMetro: string;
  readonly annotationEipFacility: string;
  readonly eipTag: string;
  readonly loadBalancerId: string;
  readonly apiServerPort: number;
  readonly bgpNodeSelector: LabelSelector;
  readonly eipHealthCheckUseHostIp: boolean;
  readonly controlPlaneCheckPeriod: number;
  readonly controlPlaneFailureThreshold: number;
  readonly bgpPasswordInAnnotations: boolean;
  readonly metallbPasswordSecret: string;
  readonly metallbBgpType: MetalLbBgpType;
  readonly eipOrphanSweep: boolean;
  readonly deviceCacheTtl: number;
  readonly apiRateLimit: number;
  readonly apiRateBurst: number;
  readonly apiTimeout: number;
  readonly lbaasUrl: string;
  readonly tokenExchangeUrl: string;
  readonly debug: boolean;
}

/**
 * How a setting is read and checked: `secret` (string, never shown; may come from a file), `string`, `url`
 * (absolute http(s), trailing `/` dropped), `loadbalancer` (see `load_balancer_config.ts`), `selector`
 * (label selector), `int`, `bool` (Go syntax in env, JSON boolean in the file), `presence` (set at all),
 * `choice` (one of {@linkcode MetalSetting.choices}).
 */
export type SettingType =
  | "secret"
  | "string"
  | "url"
  | "loadbalancer"
  | "selector"
  | "int"
  | "bool"
  | "presence"
  | "choice";

/** One setting. */
export interface MetalSetting {
  /** Field of the loaded configuration. */
  readonly field: keyof MetalConfigValues;
  /** Environment variable; a non-empty value beats the file. */
  readonly env: string;
  /** Environment variable naming a file that holds the secret (secrets only). */
  readonly fileEnv?: string;
  /** Key in `cloud-sa.json`, matched case-insensitively; absent when the setting is env-only. */
  readonly json?: string;
  readonly type: SettingType;
  /** Value used when neither the environment nor the file sets it. */
  readonly default: string | number | boolean;
  /** Startup fails when the value is empty. */
  readonly required?: boolean;
  /** Inclusive bounds of `int` settings. */
  readonly range?: readonly [number, number];
  /** Unit of an `int` setting, for messages ("seconds"). */
  readonly unit?: string;
  /** The accepted values of a `choice` setting. */
  readonly choices?: readonly string[];
  /** Human name used in messages ("API key"). */
  readonly label: string;
  /** A valid example, quoted, for messages. */
  readonly example: string;
  /** One sentence for the README. */
  readonly description: string;
}

const ANNOTATION_PREFIX = "metal.equinix.com/";

function annotation(
  field: keyof MetalConfigValues,
  name: string,
  json: string,
  value: string,
  description: string,
): MetalSetting {
  return {
    field,
    env: `METAL_ANNOTATION_${name}`,
    json,
    type: "string",
    default: `${ANNOTATION_PREFIX}${value}`,
    label: `${name.toLowerCase().replaceAll("_", " ")} annotation`,
    example: `'${ANNOTATION_PREFIX}${value}'`,
    description,
  };
}

/** Every setting, in upstream's validation order (API key, project, local ASN, API server port, selector, ...). */
export const METAL_SETTINGS: readonly MetalSetting[] = [
  {
    field: "apiKey",
    env: "METAL_API_KEY",
    fileEnv: "METAL_API_KEY_FILE",
    json: "apiKey",
    type: "secret",
    default: "",
    required: true,
    label: "API key",
    example: "(an Equinix Metal API token)",
    description: "Equinix Metal API token. Required.",
  },
  {
    field: "projectId",
    env: "METAL_PROJECT_ID",
    json: "projectID",
    type: "string",
    default: "",
    required: true,
    label: "project ID",
    example: "(the project UUID)",
    description: "Project that holds the cluster's devices. Required.",
  },
  {
    field: "baseUrl",
    env: "METAL_BASE_URL",
    json: "base-url",
    type: "url",
    default: "https://api.equinix.com/metal/v1",
    label: "Metal API URL",
    example: "'http://127.0.0.1:8080/metal/v1'",
    description: "Metal API base URL; point it at the simulator (`ccm fake-api`).",
  },
  {
    field: "loadBalancer",
    env: "METAL_LOAD_BALANCER",
    json: "loadbalancer",
    type: "loadbalancer",
    default: "",
    label: "load balancer setting",
    example: "'metallb:///metallb-system/config'",
    description: "Service load balancer: `kube-vip://`, `empty://`, `metallb:///<namespace>/<configmap>`, " +
      "`metallb:///<namespace>?crdConfiguration=true`, `emlb:///<metro>`; empty disables Service load balancers.",
  },
  {
    field: "metro",
    env: "METAL_METRO_NAME",
    json: "metro",
    type: "string",
    default: "",
    label: "metro",
    example: "'da'",
    description: "Metro for Elastic IPs when a Service does not name one.",
  },
  {
    field: "facility",
    env: "METAL_FACILITY_NAME",
    json: "facility",
    type: "string",
    default: "",
    label: "facility",
    example: "'da11'",
    description:
      "Facility for Elastic IPs when neither the Service nor `metro` names a location (deprecated).",
  },
  {
    field: "localAsn",
    env: "METAL_LOCAL_ASN",
    json: "localASN",
    type: "int",
    default: 65000,
    range: [1, 4294967295],
    label: "local ASN",
    example: "'65000'",
    description: "BGP ASN of the cluster's nodes.",
  },
  {
    field: "bgpPass",
    env: "METAL_BGP_PASS",
    fileEnv: "METAL_BGP_PASS_FILE",
    json: "bgpPass",
    type: "secret",
    default: "",
    label: "BGP password",
    example: "(the BGP MD5 password)",
    description: "BGP session password (MD5).",
  },
  annotation(
    "annotationLocalAsn",
    "LOCAL_ASN",
    "annotationLocalASN",
    "bgp-peers-{{n}}-node-asn",
    "Node annotation for the node's ASN of peer `n`.",
  ),
  annotation(
    "annotationPeerAsn",
    "PEER_ASN",
    "annotationPeerASN",
    "bgp-peers-{{n}}-peer-asn",
    "Node annotation for the ASN of peer `n`.",
  ),
  annotation(
    "annotationPeerIp",
    "PEER_IP",
    "annotationPeerIP",
    "bgp-peers-{{n}}-peer-ip",
    "Node annotation for the IP of peer `n`.",
  ),
  annotation(
    "annotationSrcIp",
    "SRC_IP",
    "annotationSrcIP",
    "bgp-peers-{{n}}-src-ip",
    "Node annotation for the source IP of peer `n`.",
  ),
  annotation(
    "annotationBgpPass",
    "BGP_PASS",
    "annotationBGPPass",
    "bgp-peers-{{n}}-bgp-pass",
    "Node annotation for the BGP password of peer `n`.",
  ),
  annotation(
    "annotationNetworkIpv4Private",
    "NETWORK_IPV4_PRIVATE",
    "annotationNetworkIPv4Private",
    "network-4-private",
    "Node annotation for the private IPv4 network.",
  ),
  annotation(
    "annotationEipMetro",
    "EIP_METRO",
    "annotationEIPMetro",
    "eip-metro",
    "Service annotation choosing the Elastic IP's metro.",
  ),
  annotation(
    "annotationEipFacility",
    "EIP_FACILITY",
    "annotationEIPFacility",
    "eip-facility",
    "Service annotation choosing the Elastic IP's facility.",
  ),
  {
    field: "eipTag",
    env: "METAL_EIP_TAG",
    json: "eipTag",
    type: "string",
    default: "",
    label: "control-plane Elastic IP tag",
    example: "'cluster-api-provider-packet:cluster-id:mycluster'",
    description: "Tag of the control-plane Elastic IP; empty disables control-plane EIP management.",
  },
  {
    field: "loadBalancerId",
    env: "METAL_LOAD_BALANCER_ID",
    json: "loadBalancerID",
    type: "string",
    default: "",
    label: "control-plane load balancer ID",
    example: "(the load balancer UUID)",
    description: "Equinix Metal Load Balancer in front of the control plane; empty disables its management.",
  },
  {
    field: "apiServerPort",
    env: "METAL_API_SERVER_PORT",
    json: "apiServerPort",
    type: "int",
    default: 0,
    range: [0, 65535],
    label: "API server port",
    example: "'6443'",
    description:
      "Port of the Kubernetes API behind the control-plane EIP; 0 uses the `default/kubernetes` port.",
  },
  {
    field: "bgpNodeSelector",
    env: "METAL_BGP_NODE_SELECTOR",
    json: "bgpNodeSelector",
    type: "selector",
    default: "",
    label: "BGP node selector",
    example: "'bgp=true' or 'role in (edge,lb)'",
    description: "Label selector of the nodes that get BGP enabled; empty selects all nodes.",
  },
  {
    field: "eipHealthCheckUseHostIp",
    env: "METAL_EIP_HEALTH_CHECK_USE_HOST_IP",
    json: "eipHealthCheckUseHostIP",
    type: "bool",
    default: false,
    label: "EIP health check setting",
    example: "'true'",
    description: "Health-check control-plane nodes on their host IP instead of the Elastic IP.",
  },
  {
    field: "controlPlaneCheckPeriod",
    env: "METAL_CONTROL_PLANE_CHECK_PERIOD",
    json: "controlPlaneCheckPeriod",
    type: "int",
    default: 10,
    range: [1, 3600],
    unit: "seconds",
    label: "control-plane check period",
    example: "'10'",
    description:
      "Seconds between health checks of the control-plane API servers (EIP and load balancer pool).",
  },
  {
    field: "controlPlaneFailureThreshold",
    env: "METAL_CONTROL_PLANE_FAILURE_THRESHOLD",
    json: "controlPlaneFailureThreshold",
    type: "int",
    default: 2,
    range: [1, 100],
    label: "control-plane failure threshold",
    example: "'3'",
    description:
      "Consecutive failed health checks before a control-plane node loses the Elastic IP or leaves " +
      "the load balancer pool.",
  },
  {
    field: "bgpPasswordInAnnotations",
    env: "METAL_BGP_PASSWORD_IN_ANNOTATIONS",
    json: "bgpPasswordInAnnotations",
    type: "bool",
    default: true,
    label: "BGP password annotation setting",
    example: "'false'",
    description: "Write the BGP password (base64) into the `bgp-peers-{{n}}-bgp-pass` Node annotations, as " +
      "upstream does; `false` keeps it off Nodes (and removes old ones).",
  },
  {
    field: "metallbPasswordSecret",
    env: "METAL_METALLB_PASSWORD_SECRET",
    json: "metallbPasswordSecret",
    type: "string",
    default: "",
    label: "MetalLB BGP password Secret",
    example: "'metallb-bgp-password'",
    description:
      "MetalLB CR mode: keep the BGP password in this Secret of MetalLB's namespace and reference it " +
      "from BGPPeers (`passwordSecret`, MetalLB ≥ 0.14) instead of writing it into them; empty writes it inline.",
  },
  {
    field: "metallbBgpType",
    env: "METAL_METALLB_BGP_TYPE",
    json: "metallbBgpType",
    type: "choice",
    default: "auto",
    choices: METALLB_BGP_TYPES,
    label: "MetalLB BGP type",
    example: "'frr'",
    description: "MetalLB CR mode: MetalLB's BGP type. `native`: upstream's BGPPeer per node and router; " +
      "`frr`/`frr-k8s` (the Helm chart's default): one per router address for every node; `auto`: detect (see below).",
  },
  {
    field: "eipOrphanSweep",
    env: "METAL_EIP_ORPHAN_SWEEP",
    json: "eipOrphanSweep",
    type: "bool",
    default: true,
    label: "Elastic IP orphan sweep setting",
    example: "'false'",
    description:
      "Release this cluster's Service Elastic IPs whose Service no longer exists (checked every 5 " +
      "minutes, released on the second sighting; never on an API error).",
  },
  {
    field: "deviceCacheTtl",
    env: "METAL_DEVICE_CACHE_TTL",
    json: "deviceCacheTTL",
    type: "int",
    default: 30,
    range: [1, 3600],
    unit: "seconds",
    label: "device cache TTL",
    example: "'30'",
    description:
      "Seconds one list of the project's devices serves node initialization, address refresh and node " +
      "lifecycle checks; lower reacts sooner to device changes (state, addresses, deletion) at the cost of " +
      "more list calls.",
  },
  {
    field: "apiRateLimit",
    env: "METAL_API_RATE_LIMIT",
    json: "apiRateLimit",
    type: "int",
    default: 10,
    range: [1, 1000],
    unit: "requests per second",
    label: "Metal API rate limit",
    example: "'10'",
    description: "Requests per second the CCM sends to the Metal API, sustained (one limit shared by every " +
      "controller); raise it for large clusters if the API allows.",
  },
  {
    field: "apiRateBurst",
    env: "METAL_API_RATE_BURST",
    json: "apiRateBurst",
    type: "int",
    default: 20,
    range: [1, 10000],
    unit: "requests",
    label: "Metal API rate burst",
    example: "'20'",
    description: "How many Metal API requests may go out at once after a quiet period, before " +
      "`METAL_API_RATE_LIMIT` spaces them out.",
  },
  {
    field: "apiTimeout",
    env: "METAL_API_TIMEOUT",
    json: "apiTimeout",
    type: "int",
    default: 30,
    range: [1, 600],
    unit: "seconds",
    label: "Metal API timeout",
    example: "'30'",
    description:
      "Seconds one Metal API request attempt may take, response body included, before it counts as failed " +
      "(and is retried when safe).",
  },
  {
    field: "lbaasUrl",
    env: "METAL_LBAAS_URL",
    json: "lbaasURL",
    type: "url",
    default: "https://lb.metalctrl.io",
    label: "load balancer API URL",
    example: "'http://127.0.0.1:8080'",
    description: "Equinix Metal Load Balancer (LBaaS) API URL, used with `emlb:///`.",
  },
  {
    field: "tokenExchangeUrl",
    env: "METAL_TOKEN_EXCHANGE_URL",
    json: "tokenExchangeURL",
    type: "url",
    default: "https://iam.metalctrl.io/api-keys/exchange",
    label: "token exchange URL",
    example: "'http://127.0.0.1:8080/api-keys/exchange'",
    description: "Endpoint that exchanges the API key for a load balancer API token.",
  },
  {
    field: "debug",
    env: "PACKNGO_DEBUG",
    type: "presence",
    default: false,
    label: "API debug switch",
    example: "'1'",
    description:
      "When set (to anything), Metal and LBaaS API calls are logged in detail; secrets stay masked.",
  },
];
