/**
 * {@linkcode MetalLoadBalancer}: what the provider's two `LoadBalancer`s share — the elastic IP one
 * (`elastic_ip_load_balancer.ts`: kube-vip, empty, MetalLB ConfigMap or CRs) and the EMLB one
 * (`emlb_load_balancer.ts`). Which one serves is decided once from `METAL_LOAD_BALANCER` (`loadBalancerModeOf`
 * in `metal/load_balancer_config.ts`).
 *
 * Both name load balancers as upstream does, hand the implementation only the nodes the BGP node selector
 * picks, and leave one Service alone: with only `METAL_LOAD_BALANCER_ID` set, the control-plane load balancer
 * manager owns that load balancer's pool and makes no control-plane Service; one left by upstream
 * (`kube-system/cloud-provider-equinix-metal-kubernetes-external`, annotated with the load balancer's id,
 * upstream's metal/controlplane_load_balancer_manager.go) is left alone entirely — otherwise EMLB would
 * rewrite the control-plane pool with every node's NodePort, and delete the load balancer with the Service.
 *
 * @module
 */
import type { V1LoadBalancerStatus, V1Node, V1Service } from "@kubernetes/client-node";
import { getLogger, type Logger } from "@logtape/logtape";
import type { EnsuredLoadBalancer, LoadBalancer, LoadBalancerLookup } from "../../provider/mod.ts";
import type { LabelSelector } from "../../util/label_selector.ts";
import { isExternalControlPlaneService } from "../control_plane/names.ts";
import type { LoadBalancerImplementation } from "./implementation.ts";
import { loadBalancerName } from "./tags.ts";

/** Options every {@linkcode MetalLoadBalancer} takes. */
export interface MetalLoadBalancerOptions<I extends LoadBalancerImplementation> {
  implementation: I;
  /** UID of `kube-system` (the `cluster=` tag and load balancer names). */
  clusterId: string;
  /** `METAL_BGP_NODE_SELECTOR`. */
  nodeSelector: LabelSelector;
  /** `METAL_EIP_TAG`; empty when the control-plane EIP is not managed. */
  eipTag: string;
  /** `METAL_LOAD_BALANCER_ID`; empty when no control-plane load balancer is managed. */
  controlPlaneLoadBalancerId?: string;
  /**
   * Whether the janitor's orphan sweep (`METAL_EIP_ORPHAN_SWEEP`) releases what Services that are gone left
   * behind; see `LoadBalancer.releasesOrphans`. Default false.
   */
  releasesOrphans?: boolean;
  /** Default category `["ccm", "metal", "loadbalancer"]`. */
  logger?: Logger;
}

/** A Service being removed: the Service and its upstream load balancer name. */
export interface ServiceTarget {
  service: V1Service;
  /** Upstream load balancer name (`usage=...:service=...:cluster=...`). */
  loadBalancerName: string;
}

/** A Service being ensured or updated: also the nodes the BGP node selector picked. */
export interface ServiceSync extends ServiceTarget {
  nodes: V1Node[];
}

/** See the module documentation. */
export abstract class MetalLoadBalancer<I extends LoadBalancerImplementation = LoadBalancerImplementation>
  implements LoadBalancer {
  /** The implementation in use. */
  readonly implementation: I;
  readonly releasesOrphans: boolean;
  protected readonly logger: Logger;
  readonly #clusterId: string;
  readonly #nodeSelector: LabelSelector;
  readonly #eipTag: string;
  readonly #controlPlaneLoadBalancerId: string;
  /** Whether skipping the control-plane Service was logged (once is enough: it holds for good). */
  #loggedControlPlaneSkip = false;

  constructor(options: MetalLoadBalancerOptions<I>) {
    this.implementation = options.implementation;
    this.releasesOrphans = options.releasesOrphans ?? false;
    this.logger = options.logger ?? getLogger(["ccm", "metal", "loadbalancer"]);
    this.#clusterId = options.clusterId;
    this.#nodeSelector = options.nodeSelector;
    this.#eipTag = options.eipTag;
    this.#controlPlaneLoadBalancerId = options.controlPlaneLoadBalancerId ?? "";
  }

  getLoadBalancerName(_clusterName: string, service: V1Service): string {
    const { namespace = "", name = "" } = service.metadata ?? {};
    return loadBalancerName(namespace, name, this.#clusterId);
  }

  async getLoadBalancer(
    _clusterName: string,
    service: V1Service,
    signal?: AbortSignal,
  ): Promise<LoadBalancerLookup> {
    if (this.#ownedByControlPlaneLoadBalancer(service)) return { exists: false };
    return await this.lookup(service, signal);
  }

  async ensureLoadBalancer(
    clusterName: string,
    service: V1Service,
    nodes: V1Node[],
    signal?: AbortSignal,
  ): Promise<V1LoadBalancerStatus> {
    const ensured = await this.ensureLoadBalancerConcurrently(clusterName, service, nodes, signal);
    await ensured.written;
    return ensured.status;
  }

  async ensureLoadBalancerConcurrently(
    clusterName: string,
    service: V1Service,
    nodes: V1Node[],
    signal?: AbortSignal,
  ): Promise<EnsuredLoadBalancer> {
    // The Service's status stays as it is: nothing is written.
    if (this.#ownedByControlPlaneLoadBalancer(service)) {
      return { status: service.status?.loadBalancer ?? {}, written: Promise.resolve() };
    }
    return await this.ensure(this.#sync(clusterName, service, nodes), signal);
  }

  async updateLoadBalancer(
    clusterName: string,
    service: V1Service,
    nodes: V1Node[],
    signal?: AbortSignal,
  ): Promise<void> {
    if (this.#ownedByControlPlaneLoadBalancer(service)) return;
    await this.update(this.#sync(clusterName, service, nodes), signal);
  }

  async ensureLoadBalancerDeleted(
    clusterName: string,
    service: V1Service,
    signal?: AbortSignal,
  ): Promise<void> {
    if (this.#ownedByControlPlaneLoadBalancer(service)) return;
    await this.remove({ service, loadBalancerName: this.getLoadBalancerName(clusterName, service) }, signal);
  }

  /** {@linkcode getLoadBalancer} for a Service this load balancer serves. */
  protected abstract lookup(service: V1Service, signal?: AbortSignal): Promise<LoadBalancerLookup>;
  /**
   * {@linkcode ensureLoadBalancerConcurrently} for a Service this load balancer serves: its status, and its
   * own write to the Service still in flight (never left unawaited: both public methods await it).
   */
  protected abstract ensure(sync: ServiceSync, signal?: AbortSignal): Promise<EnsuredLoadBalancer>;
  /** {@linkcode updateLoadBalancer} for a Service this load balancer serves. */
  protected abstract update(sync: ServiceSync, signal?: AbortSignal): Promise<void>;
  /** {@linkcode ensureLoadBalancerDeleted} for a Service this load balancer serves. */
  protected abstract remove(target: ServiceTarget, signal?: AbortSignal): Promise<void>;

  #sync(clusterName: string, service: V1Service, nodes: readonly V1Node[]): ServiceSync {
    return {
      service,
      loadBalancerName: this.getLoadBalancerName(clusterName, service),
      nodes: nodes.filter((n) => this.#nodeSelector.matches(n.metadata?.labels)),
    };
  }

  /**
   * Whether `service` is the control-plane Service while only `METAL_LOAD_BALANCER_ID` is set (see the module
   * documentation); logs that it is left alone the first time.
   */
  #ownedByControlPlaneLoadBalancer(service: V1Service): boolean {
    const id = this.#controlPlaneLoadBalancerId;
    if (id === "" || this.#eipTag !== "" || !isExternalControlPlaneService(service)) return false;
    if (!this.#loggedControlPlaneSkip) {
      this.#loggedControlPlaneSkip = true;
      this.logger.info(
        "Left the control-plane Service alone: the control-plane load balancer manager owns load balancer " +
          "{loadBalancerId} (METAL_LOAD_BALANCER_ID)",
        { service: serviceKey(service), loadBalancerId: id },
      );
    }
    return true;
  }
}

/** `namespace/name` of a Service, for logs. */
export function serviceKey(service: V1Service): string {
  return `${service.metadata?.namespace ?? ""}/${service.metadata?.name ?? ""}`;
}
