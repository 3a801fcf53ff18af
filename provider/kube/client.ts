/**
 * Kubernetes API clients shared by the whole process: one configuration, one client-side rate limiter
 * (`--kube-api-qps`/`--kube-api-burst`) and one user agent for every typed API client.
 *
 * @module
 */
import type {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  KubernetesObjectApi,
  Watch,
} from "@kubernetes/client-node";

/** The typed API clients; all requests made through them share the rate limiter. */
export interface KubeClients {
  readonly config: KubeConfig;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly custom: CustomObjectsApi;
  /** Generic object client; used for server-side apply. */
  readonly objects: KubernetesObjectApi;
  /** Watch helper (long-lived requests are not rate limited). */
  readonly watch: Watch;
}
