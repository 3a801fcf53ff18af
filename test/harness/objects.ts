/**
 * Builders for the objects integration tests need: Nodes (with status, as a kubelet would report it),
 * Services, namespaces, CRDs and arbitrary manifests.
 *
 * @module
 */
import type {
  KubernetesObject,
  V1CustomResourceDefinition,
  V1Node,
  V1NodeAddress,
  V1NodeCondition,
  V1Service,
  V1ServicePort,
  V1Taint,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import type { KubeClients } from "../../provider/kube/client.ts";
import { isAlreadyExists } from "../../provider/kube/errors.ts";
import { patchOptions, serverSideApply } from "../../provider/kube/patch.ts";
import { waitFor } from "./wait.ts";

/** Taint the kubelet sets with `--cloud-provider=external`. */
export const UNINITIALIZED_TAINT: V1Taint = {
  key: "node.cloudprovider.kubernetes.io/uninitialized",
  value: "true",
  effect: "NoSchedule",
};

/** What {@linkcode createNode} puts on the Node. */
export interface NodeInit {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: V1Taint[];
  providerID?: string;
  /** `status.addresses`. */
  addresses?: V1NodeAddress[];
  /** Ready condition: `true` (default), `false`, or `"Unknown"`. */
  ready?: boolean | "Unknown";
}

function readyCondition(ready: boolean | "Unknown"): V1NodeCondition {
  const now = new Date();
  const status = ready === "Unknown" ? "Unknown" : ready ? "True" : "False";
  return {
    type: "Ready",
    status,
    reason: ready === true ? "KubeletReady" : "KubeletNotReady",
    message: ready === true ? "kubelet is posting ready status" : "kubelet stopped posting node status",
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  };
}

/**
 * Creates Node `name` with its status (Ready condition, addresses) in the same write, as a kubelet registers
 * it: no controller ever sees the Node without a Ready condition (which counts as not ready). Returns the Node.
 */
export async function createNode(kube: KubeClients, name: string, init: NodeInit = {}): Promise<V1Node> {
  return await kube.core.createNode({
    body: {
      metadata: { name, labels: init.labels, annotations: init.annotations },
      spec: { taints: init.taints, providerID: init.providerID },
      status: { conditions: [readyCondition(init.ready ?? true)], addresses: init.addresses ?? [] },
    },
  });
}

/** Sets the Node's Ready condition (strategic merge on `status.conditions`, keyed by type). */
export async function setNodeReady(
  kube: KubeClients,
  name: string,
  ready: boolean | "Unknown",
): Promise<V1Node> {
  return await kube.core.patchNodeStatus({
    name,
    body: { status: { conditions: [readyCondition(ready)] } },
  }, patchOptions("strategic"));
}

/** What {@linkcode createService} puts on the Service. */
export interface ServiceInit {
  name: string;
  /** Default `default`. */
  namespace?: string;
  /** Default `LoadBalancer`. */
  type?: "LoadBalancer" | "ClusterIP" | "NodePort";
  /** Default one TCP port 80 → 8080. */
  ports?: V1ServicePort[];
  loadBalancerClass?: string;
  loadBalancerIP?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  externalTrafficPolicy?: "Cluster" | "Local";
  selector?: Record<string, string>;
}

/** Creates a Service (type LoadBalancer unless told otherwise); returns it as stored. */
export async function createService(kube: KubeClients, init: ServiceInit): Promise<V1Service> {
  const namespace = init.namespace ?? "default";
  return await kube.core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: init.name, namespace, annotations: init.annotations, labels: init.labels },
      spec: {
        type: init.type ?? "LoadBalancer",
        ports: init.ports ?? [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
        loadBalancerClass: init.loadBalancerClass,
        loadBalancerIP: init.loadBalancerIP,
        externalTrafficPolicy: init.externalTrafficPolicy,
        selector: init.selector ?? { app: init.name },
      },
    },
  });
}

/** Creates namespace `name` unless it exists. */
export async function ensureNamespace(kube: KubeClients, name: string): Promise<void> {
  try {
    await kube.core.createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

/** A Kubernetes object as parsed from YAML. */
export type KubeObject = KubernetesObject & Record<string, unknown>;

/**
 * Parses a multi-document YAML (or JSON) stream into plain objects, skipping empty documents; throws on a YAML
 * error, naming `source`.
 */
export function parseManifests(text: string, source = "manifest"): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`Invalid YAML in ${source}: ${doc.errors[0]?.message}`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value as KubeObject);
  }
  return objects;
}

/** Server-side applies every object of a multi-document YAML manifest, in order; returns them as stored. */
export async function applyManifests(kube: KubeClients, yamlText: string): Promise<KubernetesObject[]> {
  const applied: KubernetesObject[] = [];
  for (const obj of parseManifests(yamlText)) {
    applied.push(await serverSideApply(kube.objects, obj, { fieldManager: "ccm-test-harness" }));
  }
  return applied;
}

/**
 * Applies CustomResourceDefinitions (and anything else in the manifest) and waits until every CRD is
 * Established, so custom resources can be created right away.
 */
export async function applyCRDs(kube: KubeClients, yamlText: string, timeoutMs = 20_000): Promise<void> {
  const applied = await applyManifests(kube, yamlText);
  for (const obj of applied) {
    if (obj.kind !== "CustomResourceDefinition") continue;
    const name = obj.metadata?.name ?? "";
    await waitFor(async () => {
      const crd = await kube.objects.read<V1CustomResourceDefinition>({
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name },
      });
      return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
    }, { timeoutMs, message: `CRD "${name}" to be Established` });
  }
}
