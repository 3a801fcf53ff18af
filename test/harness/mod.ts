/**
 * Integration test bed: a real etcd + kube-apiserver per test (or per file), object builders and polling.
 *
 * @example
 * ```ts
 * import { createNode, startTestCluster, waitFor } from "../test/harness/mod.ts";
 *
 * Deno.test("node controller initializes nodes", async () => {
 *   await using cluster = await startTestCluster();
 *   await createNode(cluster.clients, "n1", { taints: [UNINITIALIZED_TAINT] });
 *   // ... start the controller against cluster.kubeconfigPath, then:
 *   await waitFor(async () => (await cluster.clients.core.readNode({ name: "n1" })).spec?.providerID);
 * });
 * ```
 *
 * @module
 */
export {
  KUBE_VERSION,
  startTestCluster,
  type StartupTimings,
  type TestCluster,
  type TestClusterOptions,
} from "./cluster.ts";
export {
  applyCRDs,
  applyManifests,
  createNode,
  createService,
  ensureNamespace,
  type NodeInit,
  parseManifests,
  type ServiceInit,
  setNodeReady,
  UNINITIALIZED_TAINT,
} from "./objects.ts";
export { waitFor, type WaitForOptions } from "./wait.ts";
export { writeKubeconfig } from "./kubeconfig.ts";
