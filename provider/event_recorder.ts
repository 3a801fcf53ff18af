/**
 * Kubernetes Events (core/v1) recorded in the background: callers never wait and never see an error. Repeats
 * of the same event (same object, type, reason, message and component) are aggregated as client-go does: the
 * existing Event's `count` and `lastTimestamp` are patched instead of creating a new Event, and repeats that
 * pile up while the API is slow are folded into one write.
 *
 * Bursts of alike Normal Events about many Nodes (the `Synced` Event of each Node in a join burst; other kinds
 * only with `fold.kinds`) are folded too, so they do not cost a write per object (event_folding.ts): the first
 * 25 within a minute are written one per object, the rest as one summary Event every 10 s with the original reason and message, followed by how
 * many objects and which ("Node synced successfully (312 Nodes: a, b, ... and 280 more)"), `count` the number
 * of Events folded, and the full list of names in one info log line. The summary is about the last object of
 * its batch: an Event has exactly one involved object, the message holds for that one too, and its
 * `lastTimestamp` is that object's. Outside bursts every Node keeps its own Event; Warnings are never folded.
 *
 * @module
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { getLogger, type Logger } from "@logtape/logtape";
import { backoffDelayMs, type BackoffOptions } from "../util/backoff.ts";
import type { Clock } from "../util/clock.ts";
import { systemClock } from "../util/clock.ts";
import {
  BurstTracker,
  foldKey,
  type FoldOptions,
  type FoldSettings,
  foldSettings,
  summaryMessage,
} from "./event_folding.ts";
import type { EventRecorder, EventType } from "./events.ts";
import type { CoreV1Api } from "./kube/api.ts";
import { isAlreadyExists, isNotFound, kubeStatusCode } from "./kube/errors.ts";
import type { JsonEvent } from "./kube/json_types.ts";
import { patchOptions } from "./kube/patch.ts";

/** Waits between attempts to write an Event: 1 s, then 2 s (three attempts in all). */
const WRITE_RETRY_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 2_000 };

/** Where Events are written; {@linkcode coreV1EventSink} adapts the typed client. */
export interface EventSink {
  create(namespace: string, event: JsonEvent): Promise<JsonEvent>;
  /** JSON merge patch of an existing Event; rejects with a 404 status error when it is gone. */
  patch(namespace: string, name: string, patch: Record<string, unknown>): Promise<JsonEvent>;
}

/** Writes Events with a `CoreV1Api` client. */
export function coreV1EventSink(core: CoreV1Api): EventSink {
  const mergePatch = patchOptions("merge");
  return {
    create: (namespace, body) => core.createNamespacedEvent({ namespace, body }),
    patch: (namespace, name, body) => core.patchNamespacedEvent({ namespace, name, body }, mergePatch),
  };
}

/** Options for {@linkcode KubeEventRecorder}. */
export interface KubeEventRecorderOptions {
  sink: EventSink;
  /** `source.component` and `reportingComponent` of every Event, for example `cloud-controller-manager`. */
  component: string;
  /** `source.host` and `reportingInstance`; default the hostname. */
  host?: string;
  /** Logger for {@linkcode EventRecorder.warn} lines and write failures; default `["ccm", "events"]`. */
  logger?: Logger;
  clock?: Clock;
  /** Distinct events waiting to be written before new ones are dropped; default 1000. */
  maxPending?: number;
  /** Events remembered for aggregation; default 4096 (least recently used are forgotten). */
  cacheSize?: number;
  /** Parallel writes; default 4. */
  concurrency?: number;
  /** When bursts of alike Normal Events about many objects are folded into summaries. */
  fold?: FoldOptions;
}

interface ObjectRef {
  kind: string;
  apiVersion: string;
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

interface Pending {
  key: string;
  ref: ObjectRef;
  type: EventType;
  reason: string;
  message: string;
  component: string;
  /** Occurrences not yet written. */
  count: number;
  first: number;
  last: number;
  /** A summary of folded Events: never patched later, so not remembered for aggregation. */
  summary?: boolean;
}

/** Alike Events folded while a burst lasts, waiting for their summary to be written. */
interface Batch {
  type: EventType;
  reason: string;
  message: string;
  component: string;
  /** By name, in order of first arrival, each with its latest reference. */
  objects: Map<string, ObjectRef>;
  count: number;
  first: number;
  last: number;
  timer: AbortController;
}

interface Recorded {
  name: string;
  namespace: string;
  count: number;
}

/**
 * The framework's {@linkcode EventRecorder}. Create one per process and give each controller a view with its
 * own component name via {@linkcode KubeEventRecorder.forComponent}.
 *
 * @example
 * ```ts
 * const recorder = new KubeEventRecorder({ sink: coreV1EventSink(kube.core), component: "cloud-controller-manager" });
 * const nodeEvents = recorder.forComponent("cloud-node-controller");
 * nodeEvents.event(node, "Normal", "Synced", "Node synced successfully");
 * await recorder.close(); // at shutdown: writes what is pending
 * ```
 */
export class KubeEventRecorder implements EventRecorder {
  readonly #sink: EventSink;
  readonly #component: string;
  readonly #host: string;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #maxPending: number;
  readonly #cacheSize: number;
  readonly #concurrency: number;
  readonly #pending = new Map<string, Pending>();
  readonly #recorded = new Map<string, Recorded>();
  readonly #inFlight = new Set<string>();
  readonly #fold: FoldSettings;
  readonly #bursts: BurstTracker;
  readonly #batches = new Map<string, Batch>();
  #idle: Array<() => void> = [];
  #closed = false;
  #dropped = 0;
  #sequence = 0;
  #summaries = 0;

  constructor(options: KubeEventRecorderOptions) {
    this.#sink = options.sink;
    this.#component = options.component;
    this.#host = options.host ?? hostname();
    this.#logger = options.logger ?? getLogger(["ccm", "events"]);
    this.#clock = options.clock ?? systemClock;
    this.#maxPending = options.maxPending ?? 1000;
    this.#cacheSize = options.cacheSize ?? 4096;
    this.#concurrency = options.concurrency ?? 4;
    this.#fold = foldSettings(options.fold);
    this.#bursts = new BurstTracker(this.#fold);
  }

  /** Events dropped because too many were pending. */
  get dropped(): number {
    return this.#dropped;
  }

  event(obj: KubernetesObject, type: EventType, reason: string, message: string): void {
    this.#record(obj, type, reason, message, this.#component);
  }

  warn(obj: KubernetesObject, reason: string, message: string): void {
    this.#warn(obj, reason, message, this.#component);
  }

  /** A recorder writing to the same queue with another source component (a controller name). */
  forComponent(component: string): EventRecorder {
    return {
      event: (obj, type, reason, message) => this.#record(obj, type, reason, message, component),
      warn: (obj, reason, message) => this.#warn(obj, reason, message, component),
    };
  }

  /** Resolves once every Event recorded so far has been written (or given up); writes summaries early. */
  flush(): Promise<void> {
    for (const key of [...this.#batches.keys()]) this.#writeBatch(key);
    if (this.#pending.size === 0 && this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Stops accepting Events and writes the pending ones, waiting at most `timeoutMs`. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.#closed = true;
    const cancel = new AbortController();
    await Promise.race([this.flush(), this.#clock.sleep(timeoutMs, cancel.signal).catch(() => {})]);
    cancel.abort();
  }

  #warn(obj: KubernetesObject, reason: string, message: string, component: string): void {
    try {
      const ref = objectRef(obj);
      const object = ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
      this.#logger.with({ reason, kind: ref.kind, object, component }).warn`${message}`;
    } catch {
      // Logging must not throw into callers either.
    }
    this.#record(obj, "Warning", reason, message, component);
  }

  #record(obj: KubernetesObject, type: EventType, reason: string, message: string, component: string): void {
    if (this.#closed) return;
    try {
      const ref = objectRef(obj);
      const key = eventKey(ref, type, reason, message, component);
      const now = this.#clock.now();
      const pending = this.#pending.get(key);
      if (pending !== undefined) {
        pending.count++;
        pending.last = now;
        return;
      }
      const fold = foldKey({ ...ref, type, reason, message, component }, this.#fold.kinds);
      if (fold !== undefined && this.#bursts.arrive(fold, now)) {
        this.#addToBatch(fold, ref, { type, reason, message, component }, now);
        return;
      }
      this.#enqueue({ key, ref, type, reason, message, component, count: 1, first: now, last: now });
    } catch (err) {
      this.#logger.debug("Dropped event that could not be built", { reason, err });
    }
  }

  #enqueue(entry: Pending): void {
    const pending = this.#pending.get(entry.key);
    if (pending !== undefined) {
      pending.count += entry.count;
      pending.last = Math.max(pending.last, entry.last);
      return;
    }
    if (this.#pending.size >= this.#maxPending) {
      this.#dropped += entry.count;
      this.#logger.debug("Dropped event: too many pending", { reason: entry.reason, object: entry.ref.name });
      return;
    }
    this.#pending.set(entry.key, entry);
    this.#pump();
  }

  #addToBatch(
    fold: string,
    ref: ObjectRef,
    event: Pick<Batch, "type" | "reason" | "message" | "component">,
    now: number,
  ): void {
    let batch = this.#batches.get(fold);
    if (batch === undefined) {
      batch = { ...event, objects: new Map(), count: 0, first: now, last: now, timer: new AbortController() };
      this.#batches.set(fold, batch);
      // Aborted when the batch is written early (flush, close), so no timer outlives the recorder.
      this.#clock.sleep(this.#fold.intervalMs, batch.timer.signal).then(
        () => this.#writeBatch(fold),
        () => {},
      );
    }
    batch.objects.delete(ref.name);
    batch.objects.set(ref.name, ref);
    batch.count++;
    batch.last = now;
  }

  /** Queues the summary of a batch; a batch of one object is written as that object's own Event. */
  #writeBatch(fold: string): void {
    const batch = this.#batches.get(fold);
    if (batch === undefined) return;
    this.#batches.delete(fold);
    batch.timer.abort();
    const { type, reason, message, component, count, first, last } = batch;
    const refs = [...batch.objects.values()];
    const ref = refs[refs.length - 1]!;
    if (refs.length === 1) {
      const key = eventKey(ref, type, reason, message, component);
      this.#enqueue({ key, ref, type, reason, message, component, count, first, last });
      return;
    }
    const names = refs.map((r) => r.name);
    this.#logger.info(
      "Folded {count} alike {reason} Events about {objects} {kind} objects into one summary",
      {
        count,
        reason,
        objects: names.length,
        kind: ref.kind,
        namespace: ref.namespace,
        component,
        names,
      },
    );
    this.#enqueue({
      key: JSON.stringify(["summary", ++this.#summaries]),
      ref,
      type,
      reason,
      message: summaryMessage(message, ref.kind, names),
      component,
      count,
      first,
      last,
      summary: true,
    });
  }

  #pump(): void {
    while (this.#inFlight.size < this.#concurrency) {
      // One write per event key at a time: a repeat waits for its first write, then patches the count.
      let next: Pending | undefined;
      for (const entry of this.#pending.values()) {
        if (!this.#inFlight.has(entry.key)) {
          next = entry;
          break;
        }
      }
      if (next === undefined) return;
      const entry = next;
      this.#pending.delete(entry.key);
      this.#inFlight.add(entry.key);
      this.#write(entry).finally(() => {
        this.#inFlight.delete(entry.key);
        this.#pump();
        if (this.#inFlight.size === 0 && this.#pending.size === 0) {
          for (const resolve of this.#idle.splice(0)) resolve();
        }
      });
    }
  }

  async #write(entry: Pending): Promise<void> {
    const timestamp = new Date(entry.last).toISOString();
    const firstTimestamp = new Date(entry.first).toISOString();
    // One name for every attempt: a create that reached the server but whose answer was lost is retried
    // under the same name and then answered 409, instead of recording the Event twice.
    const eventName = this.#eventName(entry);
    for (let attempt = 1;; attempt++) {
      try {
        const known = this.#recorded.get(entry.key);
        if (known !== undefined) {
          try {
            const count = known.count + entry.count;
            await this.#sink.patch(known.namespace, known.name, {
              count,
              lastTimestamp: timestamp,
            });
            known.count = count;
            this.#remember(entry.key, known);
            return;
          } catch (err) {
            if (!isNotFound(err)) throw err;
            this.#recorded.delete(entry.key); // expired (events TTL): start a new Event
          }
        }
        const namespace = entry.ref.namespace || "default";
        const { apiVersion, kind, name, namespace: objNamespace, uid, resourceVersion } = entry.ref;
        const event: JsonEvent = {
          metadata: { name: eventName, namespace },
          involvedObject: { apiVersion, kind, name, namespace: objNamespace, uid, resourceVersion },
          type: entry.type,
          reason: entry.reason,
          message: truncate(entry.message),
          count: entry.count,
          firstTimestamp,
          lastTimestamp: timestamp,
          source: { component: entry.component, host: this.#host },
          reportingComponent: entry.component,
          reportingInstance: this.#host,
        };
        const created = await this.#sink.create(namespace, event).catch((err) => {
          // Our own earlier attempt created it (names are unique to this recorder).
          if (attempt > 1 && isAlreadyExists(err)) return event;
          throw err;
        });
        if (entry.summary) return;
        this.#remember(entry.key, {
          name: created.metadata?.name ?? eventName,
          namespace,
          count: entry.count,
        });
        return;
      } catch (err) {
        const code = kubeStatusCode(err);
        const retriable = code === undefined || code === 409 || code === 429 || code >= 500;
        if (!retriable || attempt >= 3 || this.#closed) {
          this.#logger.warn("Failed to write event", { reason: entry.reason, object: entry.ref.name, err });
          return;
        }
        await this.#clock.sleep(backoffDelayMs(attempt - 1, WRITE_RETRY_BACKOFF)).catch(() => {});
      }
    }
  }

  /** `<object>.<hex nanoseconds>` as client-go; the sub-millisecond part is a counter, so names never collide. */
  #eventName(entry: Pending): string {
    this.#sequence = (this.#sequence + 1) % 1_000_000;
    return `${entry.ref.name}.${(BigInt(entry.last) * 1_000_000n + BigInt(this.#sequence)).toString(16)}`;
  }

  #remember(key: string, recorded: Recorded): void {
    this.#recorded.delete(key);
    this.#recorded.set(key, recorded);
    if (this.#recorded.size > this.#cacheSize) {
      this.#recorded.delete(this.#recorded.keys().next().value as string);
    }
  }
}

/** What makes an Event a repeat of another: the same object, type, reason, message and component. */
function eventKey(
  ref: ObjectRef,
  type: EventType,
  reason: string,
  message: string,
  component: string,
): string {
  return JSON.stringify([ref.kind, ref.namespace, ref.name, ref.uid, type, reason, message, component]);
}

/**
 * The reference an Event points at. Objects from list responses carry no `kind`; the few kinds this framework
 * records on are told apart by shape (EndpointSlice has `addressType`; Nodes are cluster-scoped; Services are
 * the namespaced objects controllers record on).
 */
export function objectRef(obj: KubernetesObject): ObjectRef {
  const metadata = obj.metadata ?? {};
  const name = metadata.name ?? "";
  let { kind, apiVersion } = obj;
  if (!kind) {
    if ("addressType" in obj) [kind, apiVersion] = ["EndpointSlice", "discovery.k8s.io/v1"];
    else if (!metadata.namespace) [kind, apiVersion] = ["Node", "v1"];
    else [kind, apiVersion] = ["Service", "v1"];
  }
  return {
    kind,
    apiVersion: apiVersion ?? "v1",
    name,
    namespace: metadata.namespace,
    uid: kind === "Node" && !metadata.uid ? name : metadata.uid,
    resourceVersion: metadata.resourceVersion,
  };
}

/** Events larger than 1 KiB are rejected by the API server. */
function truncate(message: string): string {
  return message.length <= 1024 ? message : `${message.slice(0, 1021)}...`;
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}
