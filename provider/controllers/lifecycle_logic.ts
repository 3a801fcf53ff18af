/**
 * The decision of the cloud node lifecycle controller for one node (upstream `MonitorNodes`), kept apart from
 * the Kubernetes writes so it can be table-tested against a fake provider.
 *
 * @module
 */
import type { V1Node } from "@kubernetes/client-node";
import type { InstancesV2 } from "../cloud.ts";
import { NodeNotManagedError } from "../errors.ts";
import { hasTaint } from "./node_init.ts";
import { TAINT_SHUTDOWN } from "./well_known.ts";

/** What to do with one node. */
export type LifecycleAction =
  | { kind: "none" }
  /** The node belongs to another provider. */
  | { kind: "notManaged" }
  | { kind: "removeShutdownTaint" }
  | { kind: "addShutdownTaint" }
  /** The provider is certain the instance is gone. */
  | { kind: "delete" }
  /** The provider failed; the node is kept. `step` names what could not be checked. */
  | { kind: "unknown"; step: "exists" | "shutdown"; err: unknown };

/** Whether the node's `Ready` condition is `True`. */
export function isNodeReady(node: V1Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/**
 * Decides one node: Ready → drop the shutdown taint if set; NotReady → delete only when the provider says
 * definitely gone, taint when it says shut down; any provider error → keep the node ("unknown").
 */
export async function decideLifecycle(
  node: V1Node,
  instances: InstancesV2,
  signal?: AbortSignal,
): Promise<LifecycleAction> {
  if (isNodeReady(node)) {
    return hasTaint(node, TAINT_SHUTDOWN) ? { kind: "removeShutdownTaint" } : { kind: "none" };
  }
  let exists: boolean;
  try {
    exists = await instances.instanceExists(node, signal);
  } catch (err) {
    return err instanceof NodeNotManagedError
      ? { kind: "notManaged" }
      : { kind: "unknown", step: "exists", err };
  }
  // Only a literal false means gone; anything else (a provider bug returning undefined) keeps the node.
  if (exists === false) return { kind: "delete" };
  if (exists !== true) {
    return { kind: "unknown", step: "exists", err: new Error(`instanceExists returned ${String(exists)}`) };
  }
  let shutdown: boolean;
  try {
    shutdown = await instances.instanceShutdown(node, signal);
  } catch (err) {
    return err instanceof NodeNotManagedError
      ? { kind: "notManaged" }
      : { kind: "unknown", step: "shutdown", err };
  }
  return shutdown === true && !hasTaint(node, TAINT_SHUTDOWN)
    ? { kind: "addShutdownTaint" }
    : { kind: "none" };
}
