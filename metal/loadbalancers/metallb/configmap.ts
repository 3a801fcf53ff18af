/**
 * MetalLB ≤ 0.12 (`metallb:///<namespace>/<configmap>`): Service pools and BGP peers kept in the `config` key
 * of MetalLB's ConfigMap (upstream's metal/loadbalancers/metallb/configmap.go), written with a JSON merge
 * patch `{"data":{"config": <yaml>}}`.
 *
 * Differences from upstream, all deliberate: the patch carries the ConfigMap's resourceVersion, so a concurrent
 * edit is re-read and re-applied instead of overwritten; nothing is written when nothing changed; peers of
 * nodes that left the node set are removed (on every update, and by {@linkcode garbageCollect}); peers match on
 * source address too; absent optional fields never crash. A missing ConfigMap is an error naming it and the fix
 * (plus a Warning Event on the Service), never created by us: MetalLB's installation owns it.
 *
 * A removed Service's pool stays until MetalLB has let its address go. MetalLB 0.12's controller refuses every
 * new configuration in which an address it has assigned belongs to no pool ("new config not compatible with
 * assigned IPs"), and it keeps the assignment while the Service exists — a deleted Service exists until our
 * cleanup finalizer is removed, after the pool. So {@linkcode MetalLBConfigMapImplementation.removeService}
 * removes the Service's peers at once but, while the Service still exists as a LoadBalancer (same UID), keeps
 * its pool and removes it in the background as soon as the Service is gone or is no LoadBalancer any more
 * (checked every {@linkcode MetalLBConfigMapOptions.poolReleasePollMs}); garbage collection removes what a
 * restart left behind.
 *
 * @module
 */
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { getLogger } from "@logtape/logtape";
import type { Registry } from "prom-client";
import type { EventRecorder } from "../../../provider/mod.ts";
import { type Clock, systemClock } from "../../../util/clock.ts";
import { errorMessage } from "../../../util/errors.ts";
import {
  isConflict,
  isNotFound,
  type KubeClients,
  kubeErrorMessage,
  patchOptions,
  requestOptions,
} from "../../../provider/kube/mod.ts";
import type {
  AddServiceRequest,
  LoadBalancerImplementation,
  RemoveServiceRequest,
  UpdateServiceRequest,
} from "../implementation.ts";
import { type ConfigFile, ConfigFileError, parseConfigFile, serializeConfigFile } from "./config_file.ts";
import {
  addAddressPool,
  type ConfigChange,
  desiredPeers,
  garbageCollectConfig,
  removePeersByService,
  removeServicePoolAt,
  removeServicePools,
  servicePool,
  syncServicePeers,
} from "./config_ops.ts";
import { type MetalLBMetrics, metalLBMetrics } from "./metrics.ts";
import { serviceKey, type ServiceRef } from "./service_selector.ts";

/** Key of the ConfigMap holding MetalLB's YAML configuration. */
export const CONFIG_KEY = "config";

/** Attempts of one read-modify-write before a conflict is reported. */
const MAX_CONFLICT_ATTEMPTS = 5;

/** Default {@linkcode MetalLBConfigMapOptions.poolReleasePollMs}. */
export const DEFAULT_POOL_RELEASE_POLL_MS = 1000;
/** Default {@linkcode MetalLBConfigMapOptions.poolReleaseTimeoutMs}. */
export const DEFAULT_POOL_RELEASE_TIMEOUT_MS = 15 * 60_000;

/** Options of {@linkcode createMetalLBConfigMapImplementation}. */
export interface MetalLBConfigMapOptions {
  kube: KubeClients;
  /** Namespace of MetalLB's ConfigMap (`metallb-system` by default upstream). */
  namespace: string;
  /** Name of MetalLB's ConfigMap (`config` by default upstream). */
  configMapName: string;
  /** Receives Warning Events on the Service for problems a user can fix. */
  recorder?: EventRecorder;
  /** Registry for the `ccm_metallb_*` metrics. */
  metrics?: Registry;
  /** How often a removed Service's kept pool checks whether the Service is gone (default 1 s). */
  poolReleasePollMs?: number;
  /** How long it keeps checking before leaving the pool to garbage collection (default 15 min). */
  poolReleaseTimeoutMs?: number;
  clock?: Clock;
}

/** The ConfigMap does not exist. */
export class MetalLBConfigMapMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MetalLBConfigMapMissingError";
  }
}

/** Builds the ConfigMap-mode implementation. */
export function createMetalLBConfigMapImplementation(
  options: MetalLBConfigMapOptions,
): LoadBalancerImplementation {
  return new MetalLBConfigMapImplementation(options);
}

const logger = getLogger(["ccm", "metallb"]);

/** See the module documentation. */
export class MetalLBConfigMapImplementation implements LoadBalancerImplementation {
  readonly name = "metallb-configmap";
  #kube: KubeClients;
  #namespace: string;
  #configMapName: string;
  #recorder?: EventRecorder;
  #metrics: MetalLBMetrics;
  #clock: Clock;
  #pollMs: number;
  #releaseTimeoutMs: number;
  /** Kept pools waiting for their Service to go, by `<ns>/<name> <ipCidr>`. */
  #pendingPools = new Map<string, Promise<void>>();

  constructor(options: MetalLBConfigMapOptions) {
    this.#kube = options.kube;
    this.#namespace = options.namespace;
    this.#configMapName = options.configMapName;
    this.#recorder = options.recorder;
    this.#metrics = metalLBMetrics(options.metrics);
    this.#clock = options.clock ?? systemClock;
    this.#pollMs = options.poolReleasePollMs ?? DEFAULT_POOL_RELEASE_POLL_MS;
    this.#releaseTimeoutMs = options.poolReleaseTimeoutMs ?? DEFAULT_POOL_RELEASE_TIMEOUT_MS;
  }

  async addService(req: AddServiceRequest, signal?: AbortSignal): Promise<undefined> {
    await this.#reconcile("add", req.service, signal, (cfg) => this.#ensure(cfg, req));
    return undefined;
  }

  async updateService(req: UpdateServiceRequest, signal?: AbortSignal): Promise<void> {
    await this.#reconcile("update", req.service, signal, (cfg) => this.#ensure(cfg, req));
  }

  async removeService(req: RemoveServiceRequest, signal?: AbortSignal): Promise<void> {
    const svc = refOf(req.service);
    const keepPool = req.ipCidr !== "" && await this.#mayHoldAddress(req.service, signal);
    await this.#reconcile("remove", req.service, signal, (cfg) => {
      const pools = keepPool ? { config: cfg, changed: false } : removeServicePools(cfg, svc, req.ipCidr);
      const peers = removePeersByService(pools.config, svc);
      return { config: peers.config, changed: pools.changed || peers.changed };
    });
    if (keepPool) this.#removePoolWhenReleased(req.service, req.ipCidr);
  }

  /** Resolves when every kept pool of a removed Service was removed or left to garbage collection (tests). */
  async poolRemovalsSettled(): Promise<void> {
    while (this.#pendingPools.size > 0) await Promise.all([...this.#pendingPools.values()]);
  }

  /**
   * Whether MetalLB may still have the Service's address assigned: the Service exists with the same UID as a
   * LoadBalancer (MetalLB releases it when the Service is deleted or changes type). An unreadable Service
   * counts as yes.
   */
  async #mayHoldAddress(service: V1Service, signal?: AbortSignal): Promise<boolean> {
    const { namespace, name } = refOf(service);
    try {
      // A list by name, not a get: ccm's RBAC grants list and watch on Services, not get.
      const list = await this.#kube.core.listNamespacedService(
        { namespace, fieldSelector: `metadata.name=${name}` },
        requestOptions({ signal }),
      );
      const live = list.items[0];
      if (live === undefined) return false;
      const uid = service.metadata?.uid;
      if (uid !== undefined && live.metadata?.uid !== undefined && live.metadata.uid !== uid) return false;
      return live.spec?.type === "LoadBalancer";
    } catch (err) {
      logger.warn("Cannot tell whether MetalLB released the address of a removed Service; keeping its pool", {
        service: `${namespace}/${name}`,
        err: kubeErrorMessage(err),
      });
      return true;
    }
  }

  /** Removes the removed Service's pool at `ipCidr` in the background once MetalLB let the address go. */
  #removePoolWhenReleased(service: V1Service, ipCidr: string): void {
    const svc = refOf(service);
    const key = `${serviceKey(svc)} ${ipCidr}`;
    if (this.#pendingPools.has(key)) return;
    logger.info("Keeping the pool of a removed Service until MetalLB released its address", {
      v: 2,
      service: serviceKey(svc),
      address: ipCidr,
    });
    const run = async () => {
      const deadline = this.#clock.now() + this.#releaseTimeoutMs;
      while (this.#clock.now() < deadline) {
        await this.#clock.sleep(this.#pollMs);
        try {
          if (await this.#mayHoldAddress(service)) continue;
          await this.#reconcile(
            "remove",
            undefined,
            undefined,
            (cfg) => removeServicePoolAt(cfg, svc, ipCidr),
          );
          return;
        } catch (err) {
          logger.warn("Failed to remove the pool of a removed Service; retrying", {
            service: serviceKey(svc),
            err: errorMessage(err),
          });
        }
      }
      logger.warn("Gave up waiting for a removed Service to go; garbage collection removes its pool", {
        service: serviceKey(svc),
        address: ipCidr,
      });
    };
    this.#pendingPools.set(key, run().finally(() => this.#pendingPools.delete(key)));
  }

  async garbageCollect(
    live: { services: V1Service[]; nodes: V1Node[] },
    signal?: AbortSignal,
  ): Promise<void> {
    const liveServices = new Set(live.services.map((s) => serviceKey(refOf(s))));
    const liveNodes = new Set(live.nodes.map((n) => n.metadata?.name ?? ""));
    await this.#reconcile(
      "gc",
      undefined,
      signal,
      (cfg) => garbageCollectConfig(cfg, { liveServices, liveNodes }),
    );
  }

  #ensure(cfg: ConfigFile, req: AddServiceRequest | UpdateServiceRequest): ConfigChange {
    const svc = refOf(req.service);
    const pool = req.ipCidr === ""
      ? { config: cfg, changed: false }
      : addAddressPool(cfg, servicePool(svc, req.ipCidr));
    const peers = syncServicePeers(pool.config, {
      svc,
      desired: desiredPeers(req.peers),
      nodeNames: new Set(req.nodes.map((n) => n.metadata?.name ?? "")),
      peeredNodes: new Set(req.peers.map((p) => p.nodeName)),
    });
    return { config: peers.config, changed: pool.changed || peers.changed };
  }

  /**
   * Reads the ConfigMap, applies `mutate` and saves the result when it changed, with optimistic concurrency.
   * `service` is the Service Events go to (none for garbage collection); removal and garbage collection treat a
   * missing ConfigMap as nothing to clean up.
   */
  async #reconcile(
    operation: "add" | "update" | "remove" | "gc",
    service: V1Service | undefined,
    signal: AbortSignal | undefined,
    mutate: (cfg: ConfigFile) => ConfigChange,
  ): Promise<void> {
    const where = `${this.#namespace}/${this.#configMapName}`;
    try {
      for (let attempt = 1;; attempt++) {
        const current = await this.#read(signal);
        if (!current) {
          if (operation === "remove" || operation === "gc") return;
          const message = `MetalLB ConfigMap "${where}" not found; create it in MetalLB's namespace ` +
            `(MetalLB ≤ 0.12 reads its configuration from it), or set METAL_LOAD_BALANCER to ` +
            `"metallb:///<namespace>?crdConfiguration=true" for MetalLB ≥ 0.13`;
          if (service) this.#recorder?.warn(service, "MetalLBConfigMapMissing", message);
          throw new MetalLBConfigMapMissingError(message);
        }
        let cfg: ConfigFile;
        try {
          cfg = parseConfigFile(current.text);
        } catch (err) {
          if (!(err instanceof ConfigFileError)) throw err;
          const message = `MetalLB ConfigMap "${where}" key "${CONFIG_KEY}" is invalid: ${err.message}; ` +
            "fix or remove the entry (nothing was changed)";
          if (service) this.#recorder?.warn(service, "MetalLBConfigInvalid", message);
          throw new Error(message, { cause: err });
        }
        const result = mutate(cfg);
        if (!result.changed) return;
        try {
          await this.#write(serializeConfigFile(result.config), current.resourceVersion, signal);
        } catch (err) {
          if (isConflict(err) && attempt < MAX_CONFLICT_ATTEMPTS) continue;
          throw new Error(`Failed to update MetalLB ConfigMap "${where}": ${kubeErrorMessage(err)}`, {
            cause: err,
          });
        }
        logger.info("Updated MetalLB ConfigMap", {
          v: 2,
          configMap: where,
          operation,
          service: service ? serviceKey(refOf(service)) : undefined,
        });
        return;
      }
    } catch (err) {
      this.#metrics.failures.inc({ mode: "configmap", operation });
      throw err;
    }
  }

  async #read(signal?: AbortSignal): Promise<{ text: string; resourceVersion?: string } | undefined> {
    try {
      const cm = await this.#kube.core.readNamespacedConfigMap(
        { name: this.#configMapName, namespace: this.#namespace },
        requestOptions({ signal }),
      );
      return { text: cm.data?.[CONFIG_KEY] ?? "", resourceVersion: cm.metadata?.resourceVersion };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new Error(
        `Failed to read MetalLB ConfigMap "${this.#namespace}/${this.#configMapName}": ${
          kubeErrorMessage(err)
        }`,
        { cause: err },
      );
    }
  }

  async #write(text: string, resourceVersion: string | undefined, signal?: AbortSignal): Promise<void> {
    const body = {
      metadata: resourceVersion ? { resourceVersion } : {},
      data: { [CONFIG_KEY]: text },
    };
    await this.#kube.core.patchNamespacedConfigMap(
      { name: this.#configMapName, namespace: this.#namespace, body },
      patchOptions("merge", { signal }),
    );
    this.#metrics.writes.inc({ mode: "configmap", kind: "ConfigMap", verb: "patch" });
  }
}

function refOf(service: V1Service): ServiceRef {
  return { namespace: service.metadata?.namespace ?? "default", name: service.metadata?.name ?? "" };
}
