/**
 * Pure decisions of the cloud node controller: what one patch initializes a node, and which GA labels an
 * initialized node is missing.
 *
 * @module
 */
import type { V1Node, V1NodeAddress, V1Taint } from "@kubernetes/client-node";
import type { InstanceMetadata } from "../cloud.ts";
import { addressesChanged, addressesFromProvidedNodeIP, desiredNodeAddresses } from "./node_addresses.ts";
import {
  ANNOTATION_PROVIDED_NODE_IP,
  LABEL_INSTANCE_TYPE,
  LABEL_INSTANCE_TYPE_BETA,
  LABEL_REGION,
  LABEL_REGION_BETA,
  LABEL_ZONE,
  LABEL_ZONE_BETA,
  TAINT_UNINITIALIZED,
} from "./well_known.ts";
import { errorMessage } from "../../util/errors.ts";

/** Whether `node` carries `key` as a taint. */
export function hasTaint(node: V1Node, key: string): boolean {
  return (node.spec?.taints ?? []).some((t) => t.key === key);
}

/** Whether the node still waits for the cloud node controller. */
export function isUninitialized(node: V1Node): boolean {
  return hasTaint(node, TAINT_UNINITIALIZED);
}

/** What initializing one node writes. */
export interface NodeInitPlan {
  /**
   * JSON merge patch for the Node (labels, providerID, taints) with a `resourceVersion` precondition, so the
   * replaced taint list cannot overwrite a concurrent change.
   */
  patch: {
    metadata: { resourceVersion?: string; labels?: Record<string, string> };
    spec: Record<string, unknown>;
  };
  /** New `status.addresses`, or `undefined` when they are already right or the cloud reported none. */
  addresses?: V1NodeAddress[];
}

/**
 * Plans the initialization of a tainted node from its instance metadata (upstream `syncNode`): providerID when
 * the node has none, instance-type/zone/region labels (GA and beta keys) and provider labels, taint removed,
 * addresses merged with the provided node IP.
 *
 * @throws {Error} When neither node nor provider has a providerID, or the provided node IP is invalid.
 */
export function planNodeInit(node: V1Node, meta: InstanceMetadata): NodeInitPlan {
  const name = node.metadata?.name ?? "";
  const spec: Record<string, unknown> = {};
  if (!node.spec?.providerID) {
    if (!meta.providerID) {
      throw new Error(
        `failed to initialize node "${name}": the cloud provider returned no providerID and the node has none`,
      );
    }
    spec.providerID = meta.providerID;
  }
  const provided = node.metadata?.annotations?.[ANNOTATION_PROVIDED_NODE_IP];
  if (provided !== undefined) {
    try {
      addressesFromProvidedNodeIP(provided, meta.nodeAddresses);
    } catch (err) {
      throw new Error(`provided node ip for node "${name}" is not valid: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }
  const wanted: Record<string, string> = { ...meta.additionalLabels };
  if (meta.instanceType) {
    wanted[LABEL_INSTANCE_TYPE] = meta.instanceType;
    wanted[LABEL_INSTANCE_TYPE_BETA] = meta.instanceType;
  }
  if (meta.zone) {
    wanted[LABEL_ZONE] = meta.zone;
    wanted[LABEL_ZONE_BETA] = meta.zone;
  }
  if (meta.region) {
    wanted[LABEL_REGION] = meta.region;
    wanted[LABEL_REGION_BETA] = meta.region;
  }
  const current = node.metadata?.labels ?? {};
  const labels = Object.fromEntries(Object.entries(wanted).filter(([k, v]) => current[k] !== v));
  const taints: V1Taint[] = (node.spec?.taints ?? []).filter((t) => t.key !== TAINT_UNINITIALIZED);
  spec.taints = taints.length === 0 ? null : taints;
  const metadata: NodeInitPlan["patch"]["metadata"] = { resourceVersion: node.metadata?.resourceVersion };
  if (Object.keys(labels).length > 0) metadata.labels = labels;

  const desired = desiredNodeAddresses(node, meta.nodeAddresses);
  const addresses = desired !== undefined && addressesChanged(node.status?.addresses ?? [], desired)
    ? desired
    : undefined;
  return { patch: { metadata, spec }, addresses };
}

/** Beta label → GA label pairs kept in sync on initialized nodes (upstream `labelReconcileInfo`). */
const LABEL_PAIRS: ReadonlyArray<readonly [beta: string, ga: string]> = [
  [LABEL_ZONE_BETA, LABEL_ZONE],
  [LABEL_REGION_BETA, LABEL_REGION],
  [LABEL_INSTANCE_TYPE_BETA, LABEL_INSTANCE_TYPE],
];

/**
 * GA labels an initialized node lacks or has different from its beta label, or `undefined` when none.
 */
export function planLabelReconcile(node: V1Node): Record<string, string> | undefined {
  const labels = node.metadata?.labels ?? {};
  const missing: Record<string, string> = {};
  for (const [beta, ga] of LABEL_PAIRS) {
    const value = labels[beta];
    if (value !== undefined && labels[ga] !== value) missing[ga] = value;
  }
  return Object.keys(missing).length === 0 ? undefined : missing;
}
