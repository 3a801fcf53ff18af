/**
 * Kubernetes Events: the recorder contract used by controllers and providers.
 *
 * @module
 */
import type { KubernetesObject } from "@kubernetes/client-node";

/** `Normal` or `Warning`, as in core/v1 Event `type`. */
export type EventType = "Normal" | "Warning";

/**
 * Records core/v1 Events about an object; repeats are aggregated into one Event with a count, and bursts of
 * alike Normal Events about many objects may be folded into summary Events (see event_folding.ts).
 */
export interface EventRecorder {
  event(obj: KubernetesObject, type: EventType, reason: string, message: string): void;
  /** Records a Warning Event and logs the same reason and message at warning level (hcloud `WarnEventLogf`). */
  warn(obj: KubernetesObject, reason: string, message: string): void;
}
