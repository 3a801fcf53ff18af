/**
 * Equinix Metal Load Balancer as a Service (`emlb:///<metro>`, upstream's metal/loadbalancers/emlb/emlb.go):
 * one managed load balancer per Service, one port per Service port forwarding to a pool whose origins are
 * every node's external addresses at the port's NodePort. The Service records the load balancer in
 * annotations `equinix.com/loadbalancerID` and `equinix.com/loadbalancerMetro`; its ingress is the load
 * balancer's IPs.
 *
 * Fixed against upstream: the API token is cached until shortly before expiry; origins, ports and pools are
 * reconciled by diff (unchanged origins keep their ids); updates use the real load balancer name and the
 * eligible nodes; the id is annotated right after creation, and a load balancer (or pool) left behind by a
 * crash is found by name and adopted instead of duplicated; no call is ever made with an empty id.
 *
 * @module
 */
import type { V1LoadBalancerStatus, V1Service } from "@kubernetes/client-node";
import { getLogger } from "@logtape/logtape";
import type { EventRecorder, LoadBalancerLookup } from "../../provider/mod.ts";
import { isNotFound, type KubeClients, kubeErrorMessage, patchOptions } from "../../provider/kube/mod.ts";
import type {
  AddServiceRequest,
  IngressOwningImplementation,
  RemoveServiceRequest,
  UpdateServiceRequest,
} from "./implementation.ts";
import { createLbaasClient, type CreateLbaasClientOptions } from "../emlb/client_factory.ts";
import { isLbaasNotFound, type LbaasClient, LbaasError, type LoadBalancer } from "../emlb/lbaas_client.ts";
import { LBAAS_PROVIDER_ID, locationIdFor, UnknownMetroError } from "../emlb/locations.ts";
import {
  desiredPorts,
  originNameFor,
  planLoadBalancer,
  planOrigins,
  poolNameFor,
  portNameFor,
  type Target,
} from "../emlb/plan.ts";
import { TokenExchangeError } from "../emlb/token_source.ts";
import { errorMessage } from "../../util/errors.ts";

/** Service annotation holding the load balancer id (read and written). */
export const LOAD_BALANCER_ID_ANNOTATION = "equinix.com/loadbalancerID";
/** Service annotation holding the load balancer's metro (written). */
export const LOAD_BALANCER_METRO_ANNOTATION = "equinix.com/loadbalancerMetro";

/** Options of {@linkcode createEMLBImplementation}: the LBaaS client's, and where the Services are. */
export interface EMLBOptions extends CreateLbaasClientOptions {
  kube: KubeClients;
  /** Metro code from `emlb:///<metro>`. */
  metro: string;
  /** Receives Warning Events on the Service for problems a user can fix. */
  recorder?: EventRecorder;
}

/** Builds the EMLB implementation. */
export function createEMLBImplementation(options: EMLBOptions): IngressOwningImplementation {
  return new EMLBImplementation(options);
}

const logger = getLogger(["ccm", "emlb"]);

/** See the module documentation. */
export class EMLBImplementation implements IngressOwningImplementation {
  readonly name = "emlb";
  #kube: KubeClients;
  #metro: string;
  #client: LbaasClient;
  #recorder?: EventRecorder;

  constructor(options: EMLBOptions) {
    this.#kube = options.kube;
    this.#metro = options.metro;
    this.#recorder = options.recorder;
    this.#client = createLbaasClient(options);
    try {
      locationIdFor(options.metro);
    } catch (err) {
      logger.error("Load balancer metro is not supported; Services of type LoadBalancer will fail", { err });
    }
  }

  addService(req: AddServiceRequest, signal?: AbortSignal): Promise<V1LoadBalancerStatus> {
    return this.#withEvents(req.service, () => this.#reconcile(req, signal));
  }

  async updateService(req: UpdateServiceRequest, signal?: AbortSignal): Promise<void> {
    await this.#withEvents(req.service, () => this.#reconcile(req, signal));
  }

  removeService(req: RemoveServiceRequest, signal?: AbortSignal): Promise<void> {
    return this.#withEvents(req.service, () => this.#remove(req, signal));
  }

  async getLoadBalancer(service: V1Service, signal?: AbortSignal): Promise<LoadBalancerLookup> {
    const id = annotatedId(service);
    if (!id) return { exists: false };
    try {
      const lb = await this.#client.getLoadBalancer(id, signal);
      return { exists: true, status: statusOf(lb) };
    } catch (err) {
      if (isLbaasNotFound(err)) return { exists: false };
      throw new Error(`Unable to retrieve load balancer "${id}": ${errorMessage(err)}`, { cause: err });
    }
  }

  async #withEvents<T>(service: V1Service, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof UnknownMetroError) {
        this.#recorder?.warn(service, "EMLBUnknownMetro", err.message);
      } else if (err instanceof TokenExchangeError && (err.status === 401 || err.status === 403)) {
        this.#recorder?.warn(service, "EMLBAuthenticationFailed", err.message);
      } else if (err instanceof LbaasError && (err.kind === "rejected" || err.kind === "unauthorized")) {
        this.#recorder?.warn(service, "EMLBRequestRejected", err.message);
      }
      throw err;
    }
  }

  async #reconcile(
    req: AddServiceRequest | UpdateServiceRequest,
    signal?: AbortSignal,
  ): Promise<V1LoadBalancerStatus> {
    const name = req.loadBalancerName;
    if (name === "") throw new Error("Load balancer name is empty; cannot create or find the load balancer");
    const locationId = locationIdFor(this.#metro);
    let annotations = req.service.metadata?.annotations ?? {};
    let lb = await this.#find(req.service, name, signal);
    if (!lb) {
      const id = await this.#client.createLoadBalancer(
        { name, locationId, providerId: LBAAS_PROVIDER_ID },
        signal,
      );
      logger.info("Created load balancer", { service: keyOf(req.service), id, metro: this.#metro });
      // Record the id at once, so a crash from here on adopts this load balancer instead of making another.
      annotations = await this.#annotate(req.service, annotations, id, signal);
      lb = await this.#client.getLoadBalancer(id, signal);
    }
    const changed = await this.#applyPlan(lb, desiredPorts(req.service, req.nodes), name, signal);
    if (changed) lb = await this.#client.getLoadBalancer(lb.id, signal);
    await this.#annotate(req.service, annotations, lb.id, signal);
    return statusOf(lb);
  }

  /** The Service's load balancer: by annotated id, else by name (one whose id was never annotated). */
  async #find(
    service: V1Service,
    name: string | undefined,
    signal?: AbortSignal,
  ): Promise<LoadBalancer | undefined> {
    const id = annotatedId(service);
    if (id) {
      try {
        return await this.#client.getLoadBalancer(id, signal);
      } catch (err) {
        if (!isLbaasNotFound(err)) throw err;
        logger.warn("Annotated load balancer no longer exists", { service: keyOf(service), id });
      }
    }
    if (!name) return undefined;
    const found = (await this.#client.listLoadBalancers(signal)).find((lb) => lb.name === name);
    if (found) logger.info("Adopted load balancer found by name", { service: keyOf(service), id: found.id });
    return found;
  }

  /** Applies the diff; returns whether anything was written. */
  async #applyPlan(
    lb: LoadBalancer,
    desired: Map<number, Target[]>,
    name: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const plan = planLoadBalancer(lb, desired, name);
    let changed = false;
    for (const port of plan.deletePorts) {
      for (const poolId of port.poolIds) await this.#client.deletePool(poolId, signal);
      await this.#client.deletePort(port.portId, signal);
      changed = true;
    }
    for (const sync of plan.syncPools) {
      changed = (await this.#syncOrigins(sync.poolId, sync.poolName, sync.targets, signal)) || changed;
    }
    if (plan.createPorts.length > 0) {
      // Pools left unattached by a crash between creating a pool and its port are reused, not leaked.
      const orphans = new Map(
        (await this.#client.listPools(signal))
          .filter((p) => p.name && (p.ports ?? []).length === 0)
          .map((p) => [p.name as string, p.id]),
      );
      for (const port of plan.createPorts) {
        const poolName = poolNameFor(name, port.number);
        const poolId = orphans.get(poolName) ?? (await this.#client.createPool(poolName, signal));
        await this.#syncOrigins(poolId, poolName, port.targets, signal);
        await this.#client.createPort(
          lb.id,
          { name: portNameFor(name, port.number), number: port.number, poolIds: [poolId] },
          signal,
        );
        changed = true;
      }
    }
    return changed;
  }

  /** Creates missing origins, then deletes unwanted ones; returns whether anything changed. */
  async #syncOrigins(
    poolId: string,
    poolName: string,
    targets: Target[],
    signal?: AbortSignal,
  ): Promise<boolean> {
    const plan = planOrigins(await this.#client.listOrigins(poolId, signal), targets);
    for (const t of plan.create) {
      await this.#client.createOrigin(
        { poolId, name: originNameFor(poolName, t.index), target: t.ip, portNumber: t.port },
        signal,
      );
    }
    for (const id of plan.delete) await this.#client.deleteOrigin(id, signal);
    return plan.create.length > 0 || plan.delete.length > 0;
  }

  async #remove(req: RemoveServiceRequest, signal?: AbortSignal): Promise<void> {
    const lb = await this.#find(req.service, req.loadBalancerName, signal);
    if (lb) {
      for (const [i, port] of (lb.ports ?? []).entries()) {
        const pools = lb.pools?.[i] ?? (port.pool_ids ?? []).map((id) => ({ id }));
        for (const pool of pools) await this.#client.deletePool(pool.id, signal);
        await this.#client.deletePort(port.id, signal);
      }
      await this.#client.deleteLoadBalancer(lb.id, signal);
      logger.info("Deleted load balancer", { service: keyOf(req.service), id: lb.id });
    }
    if (req.loadBalancerName) {
      const prefix = `${req.loadBalancerName}-pool-`;
      for (const pool of await this.#client.listPools(signal)) {
        if (pool.name?.startsWith(prefix) && (pool.ports ?? []).length === 0) {
          await this.#client.deletePool(pool.id, signal);
        }
      }
    }
    await this.#clearAnnotations(req.service, signal);
  }

  /**
   * Records `id` and the metro on the Service unless `current` (the annotations it is known to have) already
   * says so; returns the annotations it has afterwards. The caller's Service object is not modified.
   */
  async #annotate(
    service: V1Service,
    current: Record<string, string>,
    id: string,
    signal?: AbortSignal,
  ): Promise<Record<string, string>> {
    const wanted = { [LOAD_BALANCER_ID_ANNOTATION]: id, [LOAD_BALANCER_METRO_ANNOTATION]: this.#metro };
    if (Object.entries(wanted).every(([k, v]) => current[k] === v)) return current;
    await this.#patchAnnotations(service, wanted, signal);
    return { ...current, ...wanted };
  }

  async #clearAnnotations(service: V1Service, signal?: AbortSignal): Promise<void> {
    const annotations = service.metadata?.annotations ?? {};
    if (!(LOAD_BALANCER_ID_ANNOTATION in annotations) && !(LOAD_BALANCER_METRO_ANNOTATION in annotations)) {
      return;
    }
    try {
      await this.#patchAnnotations(service, {
        [LOAD_BALANCER_ID_ANNOTATION]: null,
        [LOAD_BALANCER_METRO_ANNOTATION]: null,
      }, signal);
    } catch (err) {
      if (!isNotFound((err as Error).cause)) throw err;
    }
  }

  async #patchAnnotations(
    service: V1Service,
    annotations: Record<string, string | null>,
    signal?: AbortSignal,
  ): Promise<void> {
    const name = service.metadata?.name ?? "";
    const namespace = service.metadata?.namespace ?? "default";
    try {
      await this.#kube.core.patchNamespacedService(
        { name, namespace, body: { metadata: { annotations } } },
        patchOptions("merge", { signal }),
      );
    } catch (err) {
      throw new Error(`Failed to annotate Service "${namespace}/${name}": ${kubeErrorMessage(err)}`, {
        cause: err,
      });
    }
  }
}

function annotatedId(service: V1Service): string {
  return service.metadata?.annotations?.[LOAD_BALANCER_ID_ANNOTATION] ?? "";
}

function statusOf(lb: LoadBalancer): V1LoadBalancerStatus {
  return { ingress: (lb.ips ?? []).map((ip) => ({ ip })) };
}

function keyOf(service: V1Service): string {
  return `${service.metadata?.namespace ?? "default"}/${service.metadata?.name ?? ""}`;
}
