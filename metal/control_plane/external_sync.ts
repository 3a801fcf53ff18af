/**
 * Keeps the external Service and EndpointSlice in step with `default/kubernetes` and the EIP: builds the
 * wanted objects and applies only what the informer caches show is missing or different.
 *
 * @module
 */
import type { V1ConfigMap, V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import type { Logger } from "@logtape/logtape";
import type { Informer } from "../../provider/kube/informer_factory.ts";
import { isKubernetesEndpointSlice } from "./api_server_port.ts";
import {
  alreadyApplied,
  externalEndpointSlice,
  externalService,
  externalServiceStatus,
} from "./external_objects.ts";
import { EXTERNAL_SERVICE_NAME, EXTERNAL_SERVICE_NAMESPACE, KUBERNETES_SERVICE } from "./names.ts";

/** What the managers write to (and read from) Kubernetes; tests substitute their own. */
export interface ControlPlaneKube {
  applyService(body: V1Service, signal?: AbortSignal): Promise<V1Service>;
  applyServiceStatus(body: V1Service, signal?: AbortSignal): Promise<V1Service>;
  applyEndpointSlice(body: V1EndpointSlice, signal?: AbortSignal): Promise<V1EndpointSlice>;
  /** Resolves `undefined` when the ConfigMap does not exist. */
  readConfigMap(namespace: string, name: string, signal?: AbortSignal): Promise<V1ConfigMap | undefined>;
}

/** `namespace/name` of the external Service and EndpointSlice in the informer caches. */
export const EXTERNAL_KEY = `${EXTERNAL_SERVICE_NAMESPACE}/${EXTERNAL_SERVICE_NAME}`;
/** `namespace/name` of Service `default/kubernetes`. */
export const KUBERNETES_KEY = `${KUBERNETES_SERVICE.namespace}/${KUBERNETES_SERVICE.name}`;

/** Options of {@linkcode ExternalObjectsSync}. */
export interface ExternalObjectsSyncOptions {
  kube: ControlPlaneKube;
  services: Informer<V1Service>;
  endpointSlices: Informer<V1EndpointSlice>;
  logger: Logger;
}

/** See the module documentation. */
export class ExternalObjectsSync {
  readonly #o: ExternalObjectsSyncOptions;

  constructor(options: ExternalObjectsSyncOptions) {
    this.#o = options;
  }

  /**
   * Applies the Service (with `eip` as its load balancer IP and ingress) when `eip` is known and
   * `default/kubernetes` exists, and the EndpointSlice when `default/kubernetes` has slices.
   */
  async sync(eip: string | undefined, signal?: AbortSignal): Promise<void> {
    const { kube, services, endpointSlices, logger } = this.#o;
    const kubernetes = services.get(KUBERNETES_KEY);
    if (eip && kubernetes) {
      let live = services.get(EXTERNAL_KEY);
      const spec = externalService(kubernetes, eip);
      if (!alreadyApplied(spec, live)) {
        live = await kube.applyService(spec, signal);
        logger.info("Applied Service {service} for control-plane EIP {eip}", { service: EXTERNAL_KEY, eip });
      }
      const status = externalServiceStatus(eip);
      if (!alreadyApplied(status, live)) {
        await kube.applyServiceStatus(status, signal);
        logger.info("Set the ingress of Service {service} to {eip}", { v: 2, service: EXTERNAL_KEY, eip });
      }
    }
    const slice = externalEndpointSlice(endpointSlices.list().filter(isKubernetesEndpointSlice));
    if (slice && !alreadyApplied(slice, endpointSlices.get(EXTERNAL_KEY))) {
      await kube.applyEndpointSlice(slice, signal);
      logger.info("Applied EndpointSlice {slice} with {count} API server endpoint(s)", {
        v: 2,
        slice: EXTERNAL_KEY,
        count: slice.endpoints?.length ?? 0,
      });
    }
  }
}
