/**
 * {@linkcode ElasticIpLoadBalancer}: the provider's `LoadBalancer` in the modes that announce elastic IPs
 * with BGP (kube-vip, empty, MetalLB ConfigMap or CRs) — the shared Service logic of upstream's
 * metal/loadbalancers.go (ensure, update, delete) in front of the implementation. Ensuring a Service:
 * 1. finds its reservation by tags, or reserves one (unless `spec.loadBalancerIP` is the user's own address);
 * 2. in the modes that configure peers (MetalLB), sets up BGP on every node the BGP node selector picks,
 *    skipping (with a Warning Event on the Node) nodes that fail — in ensure and update alike (upstream
 *    aborted updates, docs/upstream.md#update-skips-bad-nodes); kube-vip and empty leave that to the BGP node
 *    controller;
 * 3. configures the implementation, then makes the address visible to the announcer (`service_ip.ts`), a write
 *    the service controller lets land while it writes the status (`ensureLoadBalancerConcurrently`);
 * 4. reports the address as the Service's ingress (also for bring-your-own addresses,
 *    docs/upstream.md#byo-ip-services). Deleting one cleans the implementation up first and releases the
 *    reservation only after that succeeded (docs/upstream.md#release-after-cleanup), so a failed clean-up is
 *    retried with the reservation still there to find. A Service with several tagged reservations (a reserve
 *    that timed out but completed late, or an older CCM) keeps the one it uses and the others are released on
 *    its next ensure or update (which comes within seconds while a reserve of unknown outcome may still land:
 *    `ElasticIps.recheckAfterMs`).
 *
 * The control-plane Service `kube-system/cloud-provider-equinix-metal-kubernetes-external` (managed by the
 * control-plane EIP manager) uses the reservation tagged `METAL_EIP_TAG`; it is never reserved nor released
 * here, and no implementation object is made for it (upstream's metal/loadbalancers.go, upstream's
 * metal/eip_controlplane_reconciliation.go). With only `METAL_LOAD_BALANCER_ID` set it is left alone (see
 * `service_lb.ts`).
 *
 * @module
 */
import type { V1LoadBalancerStatus, V1Node, V1Service } from "@kubernetes/client-node";
import { type CoreV1Api, isNotFound, patchOptions } from "../../provider/kube/mod.ts";
import type { EnsuredLoadBalancer, EventRecorder, LoadBalancerLookup } from "../../provider/mod.ts";
import { errorMessage } from "../../util/errors.ts";
import { forEachConcurrently } from "../../util/worker_pool.ts";
import type { IpReservation } from "../api/types.ts";
import type { BgpNodeManager } from "../bgp/node_bgp.ts";
import type { BgpNodePeer } from "../bgp/peer.ts";
import { isExternalControlPlaneService } from "../control_plane/names.ts";
import { EIP_EVENT_REASONS, type ElasticIps } from "./eip.ts";
import type { LoadBalancerImplementation } from "./implementation.ts";
import {
  exposePatch,
  type ExposureMode,
  ipCidrOf,
  resolveServiceIp,
  type ServiceIp,
  type ServicePatch,
  unexposePatch,
} from "./service_ip.ts";
import {
  MetalLoadBalancer,
  type MetalLoadBalancerOptions,
  serviceKey,
  type ServiceSync,
  type ServiceTarget,
} from "./service_lb.ts";

/** Default number of nodes set up for BGP at once during one Service sync. */
const DEFAULT_NODE_CONCURRENCY = 4;

/** Writes a JSON merge patch to a Service (metadata and spec). */
export interface ServicePatcher {
  patch(namespace: string, name: string, body: ServicePatch, signal?: AbortSignal): Promise<void>;
}

/** A {@linkcode ServicePatcher} over the typed core client. */
export function coreV1ServicePatcher(core: CoreV1Api): ServicePatcher {
  return {
    async patch(namespace, name, body, signal) {
      await core.patchNamespacedService(
        { namespace, name, body },
        patchOptions("merge", { signal }),
      );
    },
  };
}

/** Options of {@linkcode ElasticIpLoadBalancer}. */
export interface ElasticIpLoadBalancerOptions extends MetalLoadBalancerOptions<LoadBalancerImplementation> {
  eips: ElasticIps;
  /** BGP on nodes; the peers handed to the implementation when `peers` is set. */
  bgp: BgpNodeManager;
  /** How the address is made visible to the announcer. */
  exposure: ExposureMode;
  /** Whether Service syncs set up BGP on the selected nodes and hand their peers to the implementation. */
  peers: boolean;
  services: ServicePatcher;
  recorder?: EventRecorder;
  /** Nodes set up for BGP at once; default 4. */
  nodeConcurrency?: number;
}

/** See the module documentation. */
export class ElasticIpLoadBalancer extends MetalLoadBalancer {
  #o: ElasticIpLoadBalancerOptions;

  constructor(options: ElasticIpLoadBalancerOptions) {
    super(options);
    this.#o = options;
  }

  recheckAfterMs(service: V1Service): number | undefined {
    return this.#o.eips.recheckAfterMs(service);
  }

  protected override async lookup(service: V1Service, signal?: AbortSignal): Promise<LoadBalancerLookup> {
    if (this.#isExternal(service)) {
      const reservation = await this.#o.eips.findByTag(this.#o.eipTag, signal);
      return reservation ? { exists: true, status: ingress(reservation.address) } : { exists: false };
    }
    const ip = resolveServiceIp(service, await this.#o.eips.findAll(service, signal));
    if (ip.kind === "owned") return { exists: true, status: ingress(ip.address) };
    if (ip.kind === "byo" && service.spec?.type === "LoadBalancer") {
      return { exists: true, status: ingress(ip.address) };
    }
    return { exists: false };
  }

  protected override async ensure(sync: ServiceSync, signal?: AbortSignal): Promise<EnsuredLoadBalancer> {
    const { service } = sync;
    if (this.#isExternal(service)) {
      return { status: await this.#ensureExternal(service, signal), written: Promise.resolve() };
    }
    const eips = this.#o.eips;
    const owned = await eips.findAll(service, signal);
    let ip = resolveServiceIp(service, owned);
    // Nothing is reserved or configured for an address that cannot work; the error names the field.
    if (ip.kind === "invalid") throw new Error(ip.message);
    await this.#releaseDuplicates(service, owned, ip, signal);
    if (ip.kind === "none") {
      const { reservation } = await eips.ensure(service, signal);
      ip = resolveServiceIp(service, [reservation]);
    } else if (ip.kind === "byo") {
      this.logger.info("Using the Service's own load balancer IP", {
        v: 2,
        service: serviceKey(service),
        address: ip.address,
      });
    }
    const peers = await this.#peersFor(sync.nodes, signal);
    const status = await this.implementation.addService({ ...sync, ipCidr: ipCidrOf(ip), peers }, signal);
    // Last, and not awaited here: the status is known, so the controller writes it while this lands.
    const written = this.#writeService(
      service,
      exposePatch(this.#o.exposure, service, ip, this.implementation.poolAnnotation?.()),
      signal,
    );
    return { status: status ?? ingress((ip as Extract<ServiceIp, { address: string }>).address), written };
  }

  protected override async update(sync: ServiceSync, signal?: AbortSignal): Promise<void> {
    const { service } = sync;
    if (this.#isExternal(service)) return;
    const owned = await this.#o.eips.findAll(service, signal);
    const ip = resolveServiceIp(service, owned);
    if (ip.kind === "invalid") throw new Error(ip.message);
    await this.#releaseDuplicates(service, owned, ip, signal);
    const peers = await this.#peersFor(sync.nodes, signal);
    await this.implementation.updateService({ ...sync, ipCidr: ipCidrOf(ip), peers }, signal);
  }

  protected override async remove(target: ServiceTarget, signal?: AbortSignal): Promise<void> {
    const { service } = target;
    // The control-plane EIP belongs to the control-plane EIP manager: never released here.
    if (this.#isExternal(service)) return;
    const eips = this.#o.eips;
    const owned = await eips.findAll(service, signal);
    const ip = resolveServiceIp(service, owned);
    await this.implementation.removeService({ ...target, ipCidr: ipCidrOf(ip) }, signal);
    await this.#writeService(service, unexposePatch(this.#o.exposure, service, ip), signal);
    // Only now that nothing refers to them: release every reservation tagged for the Service.
    for (const reservation of owned) {
      await eips.release(reservation, { service, reason: "service", signal });
    }
  }

  /** Releases the Service's tagged reservations other than the one it uses. */
  async #releaseDuplicates(
    service: V1Service,
    owned: readonly IpReservation[],
    ip: ServiceIp,
    signal?: AbortSignal,
  ): Promise<void> {
    if (ip.kind !== "owned" || owned.length < 2) return;
    const extras = owned.filter((r) => r.id !== ip.reservation.id);
    this.logger.warn("Found several elastic IPs tagged for one Service; releasing all but the one in use", {
      service: serviceKey(service),
      inUse: ip.address,
      released: extras.map((r) => r.address),
    });
    for (const reservation of extras) {
      await this.#o.eips.release(reservation, { service, reason: "duplicate", signal });
    }
  }

  #isExternal(service: V1Service): boolean {
    return this.#o.eipTag !== "" && isExternalControlPlaneService(service);
  }

  async #ensureExternal(service: V1Service, signal?: AbortSignal): Promise<V1LoadBalancerStatus> {
    const reservation = await this.#o.eips.findByTag(this.#o.eipTag, signal);
    if (reservation === undefined) {
      const message = `No elastic IP found with tag '${this.#o.eipTag}' for the control-plane Service; ` +
        "create a reservation with that tag, or fix METAL_EIP_TAG";
      this.#o.recorder?.warn(service, EIP_EVENT_REASONS.notFound, message);
      throw new Error(message);
    }
    return ingress(reservation.address);
  }

  /**
   * BGP peers of the nodes when the mode configures peers, else none; nodes that fail are skipped (the manager
   * already recorded why on the Node).
   */
  async #peersFor(nodes: readonly V1Node[], signal?: AbortSignal): Promise<BgpNodePeer[]> {
    if (!this.#o.peers) return [];
    const bgp = this.#o.bgp;
    const peers: (BgpNodePeer | undefined)[] = new Array(nodes.length);
    await forEachConcurrently(nodes, async (node, i) => {
      signal?.throwIfAborted();
      try {
        peers[i] = await bgp.ensureNode(node, { signal });
      } catch (err) {
        if (signal?.aborted) throw err;
        this.logger.debug("Skipped node without BGP", { node: node.metadata?.name, err });
      }
    }, { concurrency: this.#o.nodeConcurrency ?? DEFAULT_NODE_CONCURRENCY });
    return peers.filter((p): p is BgpNodePeer => p !== undefined);
  }

  async #writeService(
    service: V1Service,
    patch: ServicePatch | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    if (patch === undefined) return;
    const { namespace = "", name = "" } = service.metadata ?? {};
    try {
      await this.#o.services.patch(namespace, name, patch, signal);
    } catch (err) {
      if (isNotFound(err)) return;
      throw new Error(`Failed to update Service "${namespace}/${name}": ${errorMessage(err)}`, {
        cause: err,
      });
    }
    this.logger.info("Updated Service load balancer IP fields", { v: 2, service: `${namespace}/${name}` });
  }
}

function ingress(address: string): V1LoadBalancerStatus {
  return { ingress: [{ ip: address }] };
}
