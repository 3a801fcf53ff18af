/**
 * Adapters from the `provider/kube` informers and `provider/leader_election.ts` to the framework's
 * {@linkcode RunnableInformerFactory} and {@linkcode Elector}.
 *
 * @module
 */
import type { Registry } from "prom-client";
import type { Elector, RunnableInformerFactory } from "./framework.ts";
import type { KubeClients } from "./kube/client.ts";
import { SharedInformerFactory } from "./kube/informer_factory.ts";
import type { RunOptions } from "./options.ts";

/** Shared informers over `kube`, resynced every `--min-resync-period` (randomized as upstream). */
export function createInformers(kube: KubeClients, options: RunOptions): RunnableInformerFactory {
  return new SharedInformerFactory({ kube, minResyncPeriodMs: options.minResyncPeriodMs });
}

/** Lease-based leader election from the `--leader-elect-*` flags. */
export function createElector(_kube: KubeClients, _options: RunOptions, _registry: Registry): Elector {
  throw new Error("Cannot start leader election: provider/leader_election.ts is not available yet");
}
