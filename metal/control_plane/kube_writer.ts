/**
 * The Kubernetes writes of the control-plane managers: server-side apply (field manager
 * `cloud-provider-equinix-metal-auto`, forced — these objects are ours) of the external Service, its status
 * and its EndpointSlice, the delete of an outdated external Service, and the read of the cluster CA ConfigMap.
 *
 * @module
 */
import { isNotFound, type KubeClients, patchOptions, requestOptions } from "../../provider/kube/mod.ts";
import type { ControlPlaneKube } from "./external_sync.ts";
import { CONTROL_PLANE_FIELD_MANAGER } from "./names.ts";

/** {@linkcode ControlPlaneKube} over the shared, rate-limited clients. */
export function kubeControlPlaneWriter(kube: Pick<KubeClients, "core" | "discovery">): ControlPlaneKube {
  const apply = { fieldManager: CONTROL_PLANE_FIELD_MANAGER, force: true };
  const ref = (body: { metadata?: { name?: string; namespace?: string } }) => ({
    name: body.metadata?.name ?? "",
    namespace: body.metadata?.namespace ?? "",
  });
  return {
    applyService: (body, signal) =>
      kube.core.patchNamespacedService({ ...ref(body), body, ...apply }, patchOptions("apply", { signal })),
    applyServiceStatus: (body, signal) =>
      kube.core.patchNamespacedServiceStatus(
        { ...ref(body), body, ...apply },
        patchOptions("apply", { signal }),
      ),
    applyEndpointSlice: (body, signal) =>
      kube.discovery.patchNamespacedEndpointSlice(
        { ...ref(body), body, ...apply },
        patchOptions("apply", { signal }),
      ),
    async deleteService(namespace, name, uid, signal) {
      try {
        await kube.core.deleteNamespacedService(
          { namespace, name, body: { preconditions: { uid } } },
          requestOptions({ signal }),
        );
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
    async readConfigMap(namespace, name, signal) {
      try {
        return await kube.core.readNamespacedConfigMap({ namespace, name }, requestOptions({ signal }));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
  };
}
