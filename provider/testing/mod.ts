/**
 * Fakes of the framework for provider tests: informers, Kubernetes writers, an Event recorder and a provider.
 *
 * @module
 */
export * from "./api_time.ts";
export * from "./fake_informer.ts";
export * from "./fake_writers.ts";
export * from "./recording_recorder.ts";
export * from "./fake_provider.ts";
