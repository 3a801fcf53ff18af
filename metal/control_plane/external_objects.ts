/**
 * The external Service and EndpointSlice `kube-system/cloud-provider-equinix-metal-kubernetes-external`, as
 * server-side apply bodies built from `default/kubernetes`: a LoadBalancer Service on the EIP that MetalLB
 * and kube-vip leave alone (its own `loadBalancerClass`), and a copy of the API server endpoints. Only the
 * slices of Service `default/kubernetes` are mirrored (upstream mirrored every slice in `default`,
 * docs/upstream.md#endpointslice-mirror).
 *
 * @module
 */
import type { V1EndpointSlice, V1Service, V1ServicePort } from "@kubernetes/client-node";
import {
  ENDPOINT_SLICE_MANAGED_BY_LABEL,
  ENDPOINT_SLICE_MANAGER,
  EXTERNAL_SERVICE_ANNOTATIONS,
  EXTERNAL_SERVICE_LOAD_BALANCER_CLASS,
  EXTERNAL_SERVICE_NAME,
  EXTERNAL_SERVICE_NAMESPACE,
  SERVICE_NAME_LABEL,
} from "./names.ts";

/** Service apply body: type LoadBalancer on `eip`, ports copied from `kubernetes` (Service `default/kubernetes`). */
export function externalService(kubernetes: V1Service, eip: string): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: EXTERNAL_SERVICE_NAME,
      namespace: EXTERNAL_SERVICE_NAMESPACE,
      annotations: { ...EXTERNAL_SERVICE_ANNOTATIONS },
    },
    spec: {
      type: "LoadBalancer",
      loadBalancerClass: EXTERNAL_SERVICE_LOAD_BALANCER_CLASS,
      loadBalancerIP: eip,
      ports: (kubernetes.spec?.ports ?? []).map(copyServicePort),
    },
  };
}

function copyServicePort(p: V1ServicePort): V1ServicePort {
  const out: V1ServicePort = { port: p.port, protocol: p.protocol ?? "TCP" };
  if (p.name) out.name = p.name;
  if (p.targetPort !== undefined && p.targetPort !== "") out.targetPort = p.targetPort;
  if (p.nodePort) out.nodePort = p.nodePort;
  if (p.appProtocol) out.appProtocol = p.appProtocol;
  return out;
}

/** Status apply body: the EIP as the Service's only ingress. */
export function externalServiceStatus(eip: string): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: EXTERNAL_SERVICE_NAME, namespace: EXTERNAL_SERVICE_NAMESPACE },
    status: { loadBalancer: { ingress: [{ ip: eip }] } },
  };
}

/**
 * EndpointSlice apply body mirroring `sources` (the slices of `default/kubernetes`): the address type of the
 * first slice by name, the endpoints of every slice of that type (endpoints without addresses skipped,
 * duplicates dropped), and the ports of the first. `undefined` when there is nothing to mirror.
 */
export function externalEndpointSlice(sources: readonly V1EndpointSlice[]): V1EndpointSlice | undefined {
  const sorted = [...sources].sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
  const first = sorted[0];
  if (!first) return undefined;
  const sameType = sorted.filter((s) => s.addressType === first.addressType);
  const seen = new Set<string>();
  const endpoints = sameType.flatMap((s) => s.endpoints ?? []).filter((e) => {
    if (!e.addresses?.length) return false;
    const key = e.addresses.join(",");
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }).map((e) => {
    const out: NonNullable<V1EndpointSlice["endpoints"]>[number] = { addresses: [...e.addresses] };
    if (e.conditions?.ready !== undefined) {
      out.conditions = { ready: e.conditions.ready };
      if (e.conditions.serving !== undefined) out.conditions.serving = e.conditions.serving;
      if (e.conditions.terminating !== undefined) out.conditions.terminating = e.conditions.terminating;
    }
    return out;
  });
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: EXTERNAL_SERVICE_NAME,
      namespace: EXTERNAL_SERVICE_NAMESPACE,
      labels: {
        [SERVICE_NAME_LABEL]: EXTERNAL_SERVICE_NAME,
        [ENDPOINT_SLICE_MANAGED_BY_LABEL]: ENDPOINT_SLICE_MANAGER,
      },
    },
    addressType: first.addressType,
    endpoints,
    ports: (first.ports ?? []).map((p) => {
      const out: NonNullable<V1EndpointSlice["ports"]>[number] = {};
      if (p.name !== undefined) out.name = p.name;
      if (p.port !== undefined) out.port = p.port;
      if (p.protocol !== undefined) out.protocol = p.protocol;
      if (p.appProtocol) out.appProtocol = p.appProtocol;
      return out;
    }),
  };
}

/**
 * Whether `live` already has every field `desired` sets (same values; arrays compared item by item with the
 * same length), ignoring `apiVersion`, `kind` and the object's name. Fields others own are allowed, so an
 * apply is only sent when it would change something.
 */
export function alreadyApplied(desired: object, live: object | undefined): boolean {
  if (!live) return false;
  const { apiVersion: _a, kind: _k, metadata, ...rest } = desired as Record<string, unknown>;
  const { name: _n, namespace: _ns, ...meta } = (metadata ?? {}) as Record<string, unknown>;
  return covers({ ...rest, metadata: meta }, live);
}

function covers(desired: unknown, live: unknown): boolean {
  if (Array.isArray(desired)) {
    return Array.isArray(live) && live.length === desired.length &&
      desired.every((d, i) => covers(d, live[i]));
  }
  if (desired !== null && typeof desired === "object") {
    if (live === null || typeof live !== "object" || Array.isArray(live)) return false;
    return Object.entries(desired).every(([k, v]) =>
      v === undefined || covers(v, (live as Record<string, unknown>)[k])
    );
  }
  return desired === live;
}
