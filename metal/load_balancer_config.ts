/**
 * The load balancer setting (`METAL_LOAD_BALANCER` / `loadbalancer`): `<type>://<host>/<path>?<query>`, parsed
 * into a typed choice. Upstream ignores the host, which is why the documented forms use three slashes.
 * {@linkcode loadBalancerModeOf} says once what the choice means for the rest of the provider (implementation,
 * elastic IPs and BGP, exposure, peers); nothing else interprets the setting.
 *
 * @module
 */
import { parseGoBool } from "../util/go_bool.ts";
import type { ExposureMode } from "./loadbalancers/service_ip.ts";
import { LBAAS_LOCATIONS } from "./emlb/locations.ts";

/** MetalLB's default namespace and ConfigMap name (upstream defaults). */
export const METALLB_DEFAULT_NAMESPACE = "metallb-system";
/** Default name of MetalLB's ConfigMap (MetalLB ≤ 0.12). */
export const METALLB_DEFAULT_CONFIGMAP = "config";

/** Which implementation handles Services of type LoadBalancer, and its parameters. */
export type LoadBalancerConfig =
  /** Empty setting: no load balancer support; the service controller does not run. */
  | { readonly kind: "disabled" }
  /** `kube-vip://`: EIPs, BGP and node annotations for kube-vip; no in-cluster objects. */
  | { readonly kind: "kube-vip" }
  /** `empty://`: like kube-vip (EIPs, BGP, annotations) with no implementation of its own. */
  | { readonly kind: "empty" }
  /** `metallb:///<namespace>/<configmap>`: MetalLB ≤ 0.12 configured through a ConfigMap. */
  | { readonly kind: "metallb-configmap"; readonly namespace: string; readonly configMapName: string }
  /** `metallb:///<namespace>?crdConfiguration=true`: MetalLB ≥ 0.13 configured through custom resources. */
  | { readonly kind: "metallb-crd"; readonly namespace: string }
  /** `emlb:///<metro>`: Equinix Metal Load Balancer as a Service in that metro. */
  | { readonly kind: "emlb"; readonly metro: string };

/** A setting that turns load balancers on: it names the implementation and carries its parameters. */
export type EnabledLoadBalancerConfig = Exclude<LoadBalancerConfig, { readonly kind: "disabled" }>;

/** The implementations that announce elastic IPs with BGP (all but EMLB). */
export type ElasticIpLoadBalancerConfig = Exclude<EnabledLoadBalancerConfig, { readonly kind: "emlb" }>;

/** The EMLB setting. */
export type EmlbLoadBalancerConfig = Extract<EnabledLoadBalancerConfig, { readonly kind: "emlb" }>;

/** What an enabled load balancer setting means for the provider; see {@linkcode loadBalancerModeOf}. */
export type LoadBalancerMode =
  /**
   * Elastic IPs announced with BGP (kube-vip, empty, MetalLB): the CCM reserves an elastic IP per Service,
   * ensures BGP on the project, and the BGP node controller keeps the nodes' sessions and annotations.
   */
  | {
    readonly kind: "elastic-ip";
    /** The implementation and its parameters. */
    readonly implementation: ElasticIpLoadBalancerConfig;
    /** How the Service's address is made visible to the announcer (see `loadbalancers/service_ip.ts`). */
    readonly exposure: ExposureMode;
    /**
     * Whether a Service sync sets up BGP on the selected nodes and hands their peers to the implementation
     * (MetalLB). kube-vip and empty read the Node annotations the BGP node controller keeps instead, so their
     * Services get an address while new nodes are still being set up.
     */
    readonly peers: boolean;
  }
  /** Equinix Metal Load Balancers: the implementation owns the address; no elastic IPs, no BGP. */
  | {
    readonly kind: "emlb";
    readonly implementation: EmlbLoadBalancerConfig;
  };

/**
 * What a load balancer setting means for the provider, or `undefined` when load balancers are disabled.
 *
 * @example
 * ```ts
 * loadBalancerModeOf(parseLoadBalancerSetting("kube-vip://"));
 * // { kind: "elastic-ip", implementation: { kind: "kube-vip" }, exposure: "kube-vip", peers: false }
 * ```
 *
 * @param config The parsed setting.
 * @returns The mode, or `undefined` for `""`.
 */
export function loadBalancerModeOf(config: LoadBalancerConfig): LoadBalancerMode | undefined {
  switch (config.kind) {
    case "disabled":
      return undefined;
    case "kube-vip":
      return { kind: "elastic-ip", implementation: config, exposure: "kube-vip", peers: false };
    case "empty":
      return { kind: "elastic-ip", implementation: config, exposure: "none", peers: false };
    case "metallb-configmap":
    case "metallb-crd":
      return { kind: "elastic-ip", implementation: config, exposure: config.kind, peers: true };
    case "emlb":
      return { kind: "emlb", implementation: config };
  }
}

/** The accepted forms, for error messages and documentation. */
export const LOAD_BALANCER_FORMS = [
  "kube-vip://",
  "empty://",
  "metallb:///<namespace>/<configmap>",
  "metallb:///<namespace>?crdConfiguration=true",
  "emlb:///<metro>",
] as const;

const DNS_LABEL_REGEXP = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN_REGEXP = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const METRO_REGEXP = /^[a-z0-9]+$/i;

/**
 * Parses a load balancer setting. The caller prefixes errors with where the value came from.
 *
 * @example
 * ```ts
 * parseLoadBalancerSetting("metallb:///metallb-system?crdConfiguration=true");
 * // { kind: "metallb-crd", namespace: "metallb-system" }
 * ```
 *
 * @param text The setting; `""` disables load balancers.
 * @returns The typed setting.
 * @throws {SyntaxError} Explaining what is wrong and showing the valid forms.
 */
export function parseLoadBalancerSetting(text: string): LoadBalancerConfig {
  if (text === "") return { kind: "disabled" };
  // The URL parser drops tabs and newlines anywhere and trims spaces and control characters at the ends, so
  // 'metallb:///lb\n/cm' would silently mean 'metallb:///lb/cm': refuse them instead.
  const bad = /[\p{Cc}\p{White_Space}]/u.exec(text);
  if (bad !== null) {
    throw new SyntaxError(
      `it contains ${describeChar(bad[0])} at position ${bad.index + 1}; remove whitespace and control ` +
        "characters (a trailing newline from a file or Secret is a common cause)",
    );
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SyntaxError(`it is not of the form '<type>://...'; ${validForms()}`);
  }
  const type = url.protocol.slice(0, -1);
  switch (type) {
    case "kube-vip":
    case "empty":
      return { kind: type };
    case "metallb":
      refuseHost(url, "metallb:///metallb-system/config");
      return parseMetalLb(url);
    case "emlb": {
      refuseHost(url, "emlb:///da");
      const metro = url.pathname.replace(/^\//, "");
      if (!METRO_REGEXP.test(metro)) {
        throw new SyntaxError(
          metro === ""
            ? "'emlb' needs a metro code, as in 'emlb:///da'"
            : `'${metro}' is not a metro code; use letters and digits only, as in 'emlb:///da'`,
        );
      }
      if (LBAAS_LOCATIONS[metro.toLowerCase()] === undefined) {
        const valid = Object.keys(LBAAS_LOCATIONS).map((m) => `'${m}'`).join(", ");
        throw new SyntaxError(
          `Equinix Metal Load Balancers are not available in metro '${metro}'; use one of ${valid}, ` +
            "as in 'emlb:///da'",
        );
      }
      return { kind: "emlb", metro };
    }
    default:
      throw new SyntaxError(`unknown load balancer type '${type}'; ${validForms()}`);
  }
}

function parseMetalLb(url: URL): LoadBalancerConfig {
  const path = url.pathname.replace(/^\/+|\/+$/g, "");
  const slash = path.indexOf("/");
  const namespace = (slash >= 0 ? path.slice(0, slash) : path) || METALLB_DEFAULT_NAMESPACE;
  const rest = slash >= 0 ? path.slice(slash + 1) : "";
  if (!DNS_LABEL_REGEXP.test(namespace)) {
    throw new SyntaxError(
      `namespace '${namespace}' is not a valid Kubernetes namespace name (lowercase letters, digits and '-')`,
    );
  }
  for (const name of url.searchParams.keys()) {
    if (name !== "crdConfiguration") {
      throw new SyntaxError(
        `unknown parameter '${name}'; the only parameter is 'crdConfiguration', as in ` +
          `'metallb:///${namespace}?crdConfiguration=true'`,
      );
    }
  }
  const crd = url.searchParams.get("crdConfiguration");
  if (crd !== null) {
    const enabled = parseGoBool(crd);
    if (enabled === undefined) {
      throw new SyntaxError(`'crdConfiguration' must be 'true' or 'false', not '${crd}'`);
    }
    if (enabled) {
      // Upstream silently ignores a ConfigMap name here; say that CR mode has none.
      if (rest !== "") {
        throw new SyntaxError(
          `custom resource mode (crdConfiguration=true) takes only a namespace, but '${rest}' follows it; ` +
            `use 'metallb:///${namespace}?crdConfiguration=true', or drop 'crdConfiguration' to use ` +
            `ConfigMap '${rest}'`,
        );
      }
      return { kind: "metallb-crd", namespace };
    }
  }
  const configMapName = rest || METALLB_DEFAULT_CONFIGMAP;
  if (configMapName.length > 253 || !DNS_SUBDOMAIN_REGEXP.test(configMapName)) {
    throw new SyntaxError(
      `ConfigMap name '${configMapName}' is not a valid Kubernetes object name ` +
        "(lowercase letters, digits, '-' and '.'); use 'metallb:///<namespace>/<configmap>'",
    );
  }
  return { kind: "metallb-configmap", namespace, configMapName };
}

/** Upstream silently drops the host, so `metallb://ns/cm` would mean namespace `cm`: refuse it instead. */
function refuseHost(url: URL, example: string): void {
  if (url.host !== "") {
    throw new SyntaxError(
      `'${url.host}' is in the host position, which is ignored; use three slashes, as in '${example}'`,
    );
  }
}

/** A character as a reader can see it in a message: "a newline", "U+00A0". */
function describeChar(char: string): string {
  const names: Record<string, string> = {
    "\n": "a newline",
    "\r": "a carriage return",
    "\t": "a tab",
    " ": "a space",
  };
  const code = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
  return names[char] ?? `the character ${code}`;
}

function validForms(): string {
  return `use one of ${LOAD_BALANCER_FORMS.map((form) => `'${form}'`).join(", ")}, or '' to disable`;
}

/** The canonical setting text for a parsed value (what logs show). */
export function formatLoadBalancerSetting(config: LoadBalancerConfig): string {
  switch (config.kind) {
    case "disabled":
      return "";
    case "kube-vip":
    case "empty":
      return `${config.kind}://`;
    case "metallb-configmap":
      return `metallb:///${config.namespace}/${config.configMapName}`;
    case "metallb-crd":
      return `metallb:///${config.namespace}?crdConfiguration=true`;
    case "emlb":
      return `emlb:///${config.metro}`;
  }
}
