/**
 * An {@linkcode EventRecorder} that keeps Events in memory, for unit tests.
 *
 * @module
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { EventRecorder, EventType } from "../events.ts";

/** One recorded Event. */
export interface RecordedEvent {
  object: string;
  type: EventType;
  reason: string;
  message: string;
}

/** Records Events as `{ object, type, reason, message }`, `object` being `name` or `namespace/name`. */
export class RecordingRecorder implements EventRecorder {
  readonly events: RecordedEvent[] = [];

  event(obj: KubernetesObject, type: EventType, reason: string, message: string): void {
    const { name = "", namespace } = obj.metadata ?? {};
    this.events.push({ object: namespace ? `${namespace}/${name}` : name, type, reason, message });
  }

  warn(obj: KubernetesObject, reason: string, message: string): void {
    this.event(obj, "Warning", reason, message);
  }

  /** Reasons in order, optionally of one object only. */
  reasons(object?: string): string[] {
    return this.events.filter((e) => object === undefined || e.object === object).map((e) => e.reason);
  }
}
