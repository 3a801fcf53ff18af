/**
 * ccm's Kubernetes client: kubeconfig, typed API calls, patches, shared informers and errors.
 *
 * @module
 */
export type { CoreV1Api } from "./api.ts";
export type { KubeClients } from "./client.ts";
export { isAlreadyExists, isConflict, isNotFound, kubeErrorMessage } from "./errors.ts";
export type { Informer, InformerFactory } from "./informer_factory.ts";
export { jsonMeta, type JsonObjectMeta, type Timestamp } from "./json_types.ts";
export { KubeConfig } from "./kubeconfig.ts";
export { patchOptions, requestOptions } from "./patch.ts";
