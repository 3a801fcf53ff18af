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
import { LeaderElector } from "./leader_election.ts";
import { leaseLock } from "./lease_lock.ts";
import type { RunOptions } from "./options.ts";

/** Shared informers over `kube`, resynced every `--min-resync-period` (randomized as upstream). */
export function createInformers(kube: KubeClients, options: RunOptions): RunnableInformerFactory {
  return new SharedInformerFactory({ kube, minResyncPeriodMs: options.minResyncPeriodMs });
}

/** Lease-based leader election from the `--leader-elect-*` flags. */
export function createElector(kube: KubeClients, options: RunOptions, registry: Registry): Elector {
  return new LeaderElector({
    lock: leaseLock(kube, {
      namespace: options.leaderElectResourceNamespace,
      name: options.leaderElectResourceName,
    }),
    leaseDurationMs: options.leaderElectLeaseDurationMs,
    renewDeadlineMs: options.leaderElectRenewDeadlineMs,
    retryPeriodMs: options.leaderElectRetryPeriodMs,
    registry,
  });
}
