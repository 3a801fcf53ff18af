/**
 * The contract between the provider's load balancers (`metal/loadbalancers/elastic_ip_load_balancer.ts` with
 * EIP reservation, BGP sessions and node annotations; `metal/loadbalancers/emlb_load_balancer.ts`) and the
 * implementation chosen by `METAL_LOAD_BALANCER` (kube-vip, empty, MetalLB ConfigMap, MetalLB CRs, EMLB).
 * Upstream calls these `loadbalancers.LB`.
 *
 * @module
 */
import type { V1LoadBalancerStatus, V1Node, V1Service } from "@kubernetes/client-node";
import type { LoadBalancerLookup } from "../../provider/mod.ts";
import type { BgpNodePeer } from "../bgp/peer.ts";

/** Input to {@linkcode LoadBalancerImplementation.addService}. */
export interface AddServiceRequest {
  service: V1Service;
  /** `<ip>/<cidr>` of the Service's elastic IP; empty for implementations that do not use EIPs (EMLB). */
  ipCidr: string;
  /** BGP peers of the eligible nodes that have BGP enabled (empty when the implementation does not use BGP). */
  peers: BgpNodePeer[];
  /** Eligible nodes as passed by the service controller. */
  nodes: V1Node[];
  /** Upstream load balancer name (`usage=...:service=...:cluster=...`). */
  loadBalancerName: string;
}

/** Input to {@linkcode LoadBalancerImplementation.updateService}. */
export interface UpdateServiceRequest {
  service: V1Service;
  /** `<ip>/<cidr>` when known, else empty. */
  ipCidr: string;
  peers: BgpNodePeer[];
  nodes: V1Node[];
  loadBalancerName: string;
}

/** Input to {@linkcode LoadBalancerImplementation.removeService}. */
export interface RemoveServiceRequest {
  service: V1Service;
  /** `<ip>/<cidr>` of the released EIP when known, else empty. */
  ipCidr: string;
  /**
   * Upstream load balancer name, when known. EMLB uses it to find a load balancer whose id never reached the
   * Service's annotation (a crash right after creating it).
   */
  loadBalancerName?: string;
}

/** What every `METAL_LOAD_BALANCER` implementation provides. Methods are idempotent. */
export interface LoadBalancerImplementation {
  /** Implementation name for logs and metrics: `kube-vip`, `empty`, `metallb-configmap`, `metallb-crd`, `emlb`. */
  readonly name: string;
  /**
   * Makes the Service's load balancer exist. Returns a status when the implementation itself knows the ingress
   * (EMLB, see {@linkcode IngressOwningImplementation}); `undefined` to let the elastic IP load balancer report
   * the EIP.
   */
  addService(req: AddServiceRequest, signal?: AbortSignal): Promise<V1LoadBalancerStatus | undefined>;
  /** Refreshes node-dependent state (peers, origins) after the node set changed. */
  updateService(req: UpdateServiceRequest, signal?: AbortSignal): Promise<void>;
  /** Removes everything the implementation made for the Service. Called before its EIP is released. */
  removeService(req: RemoveServiceRequest, signal?: AbortSignal): Promise<void>;
  /**
   * Level-triggered clean-up: removes objects this implementation owns for Services or Nodes that no longer
   * exist (for example after a restart missed a deletion). Called periodically with the live sets.
   */
  garbageCollect?(live: { services: V1Service[]; nodes: V1Node[] }, signal?: AbortSignal): Promise<void>;
  /**
   * MetalLB: the Service annotation that names the Service's pool for the installed MetalLB, asked after
   * `addService` (default `metallb.universe.tf/address-pool`).
   */
  poolAnnotation?(): string;
}

/**
 * An implementation that owns the Service's address itself (EMLB): no elastic IP is reserved for it, it
 * reports the ingress and looks its load balancers up.
 */
export interface IngressOwningImplementation extends LoadBalancerImplementation {
  /** Makes the Service's load balancer exist and returns its ingress. */
  addService(req: AddServiceRequest, signal?: AbortSignal): Promise<V1LoadBalancerStatus>;
  /** Whether the Service's load balancer exists, and its ingress. */
  getLoadBalancer(service: V1Service, signal?: AbortSignal): Promise<LoadBalancerLookup>;
}
