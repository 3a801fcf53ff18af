/**
 * Names shared by the control-plane endpoint managers and the rest of the provider. They are part of the
 * upstream contract: clusters already hold objects with these names, so never change them.
 *
 * @module
 */
import type { V1Service } from "@kubernetes/client-node";

/** Name of the external Service and EndpointSlice that expose the API servers on the control-plane EIP. */
export const EXTERNAL_SERVICE_NAME = "cloud-provider-equinix-metal-kubernetes-external";
/** Namespace of the external Service and EndpointSlice. */
export const EXTERNAL_SERVICE_NAMESPACE = "kube-system";
/** Server-side apply field manager of the external Service and EndpointSlice (upstream's). */
export const CONTROL_PLANE_FIELD_MANAGER = "cloud-provider-equinix-metal-auto";

/** The Service whose ports and endpoints the external Service mirrors. */
export const KUBERNETES_SERVICE = Object.freeze({ namespace: "default", name: "kubernetes" });

/** Label of EndpointSlices naming their Service. */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
/** Label naming the controller that manages an EndpointSlice; the built-in controllers skip other values. */
export const ENDPOINT_SLICE_MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
/** Our value of {@linkcode ENDPOINT_SLICE_MANAGED_BY_LABEL}. */
export const ENDPOINT_SLICE_MANAGER = "cloud-provider-equinix-metal";

/** A node with any of these labels (any value) is a control-plane node. */
export const CONTROL_PLANE_ROLE_LABELS: readonly string[] = Object.freeze([
  "node-role.kubernetes.io/control-plane",
  "node-role.kubernetes.io/master",
]);

/** MetalLB pool name that does not exist, so MetalLB never hands out or announces the EIP (upstream's value). */
export const METALLB_DISABLED_POOL = "disabled-metallb-do-not-use-any-address-pool";

/**
 * Annotations that keep other load balancer controllers off the external Service: MetalLB's pool annotation
 * in its deprecated (≤ 0.14.8, upstream's) and current spelling, and kube-vip's ignore switch. The EIP is
 * routed to its holder by the Metal API, so nothing may announce it by BGP or ARP.
 */
export const EXTERNAL_SERVICE_ANNOTATIONS: Readonly<Record<string, string>> = Object.freeze({
  "metallb.universe.tf/address-pool": METALLB_DISABLED_POOL,
  "metallb.io/address-pool": METALLB_DISABLED_POOL,
  "kube-vip.io/ignore": "true",
});

/**
 * `spec.loadBalancerClass` of the external Service. MetalLB ≥ 0.13 and kube-vip only handle Services without a
 * class (or with their own), so they leave this one alone: without it MetalLB 0.15 cleared the Service's
 * ingress (its pool annotation names no pool) and ccm wrote it back, several times a second. The class is
 * immutable on a LoadBalancer Service, so an older external Service without it is deleted and created again.
 * Kubernetes' own service controller skips Services with a class too: the control-plane managers write the
 * status.
 */
export const EXTERNAL_SERVICE_LOAD_BALANCER_CLASS = "metal.equinix.com/control-plane-eip";

/**
 * Whether `service` is the external control-plane Service. The Service load balancer code uses this to treat
 * it as "the EIP-tag reservation's address, never reserve or release an IP for it".
 */
export function isExternalControlPlaneService(service: V1Service): boolean {
  return service.metadata?.name === EXTERNAL_SERVICE_NAME &&
    service.metadata?.namespace === EXTERNAL_SERVICE_NAMESPACE;
}
