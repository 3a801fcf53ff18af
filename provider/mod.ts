/**
 * The cloud-agnostic CCM framework, as a provider sees it: the interfaces a provider implements, its
 * registry, errors with their retry meaning, Events, work queues and the shared controllers a provider may
 * run itself. The Kubernetes client is `./kube/mod.ts`; fakes for tests are `./testing/mod.ts`.
 *
 * Files inside `provider/` import each other directly, never this module.
 *
 * @module
 */
export type {
  CloudInitContext,
  CloudProvider,
  CloudProviderFactory,
  CloudProviderFactoryOptions,
  CloudServices,
  Controller,
  ControllerRunContext,
  EnsuredLoadBalancer,
  HealthCheck,
  InstanceMetadata,
  InstancesV2,
  LoadBalancer,
  LoadBalancerLookup,
} from "./cloud.ts";
export {
  ConfigError,
  InstanceNotFoundError,
  isTransientError,
  LeaseFenceError,
  NodeNotManagedError,
  RetryError,
  TRANSIENT,
} from "./errors.ts";
export type { EventRecorder, EventType } from "./events.ts";
export { getOrCreateCounter, getOrCreateGauge, getOrCreateHistogram, type MetricOptions } from "./metrics.ts";
export { getCloudProviderFactory, registerCloudProvider, registeredCloudProviders } from "./registry.ts";
export { runWorkers, type RunWorkersOptions } from "./workers.ts";
export { WorkQueue, type WorkQueueOptions } from "./workqueue.ts";
export { coreV1NodeWriter, type NodeWriter } from "./controllers/kube_writers.ts";
export { ServiceController } from "./controllers/service.ts";
export { hasFinalizer, wantsLoadBalancer } from "./controllers/service_logic.ts";
export * from "./controllers/well_known.ts";
