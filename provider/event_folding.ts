/**
 * Folding of Event bursts: when many objects get the same Normal Event at once (a thousand Nodes `Synced`
 * during a join burst), the first few are written one per object and the rest become one summary Event per
 * interval. This module holds the decisions and the summary text; {@linkcode KubeEventRecorder} does the
 * timing and the writes.
 *
 * Where client-go's event correlator aggregates alike Events about one object, this folds alike Events about
 * many objects of one kind, because that is what a join burst produces: one Event per Node, each alike.
 *
 * @module
 */

/** When Events are folded; every field has a default. */
export interface FoldOptions {
  /**
   * Alike Events written one per object before folding starts: an Event is folded when this many alike ones
   * arrived within `windowMs` before it.
   *
   * @default {25}
   */
  burst?: number;
  /**
   * The window `burst` is counted in.
   *
   * @default {60000}
   */
  windowMs?: number;
  /**
   * How long folded Events are collected before their summary is written.
   *
   * @default {10000}
   */
  intervalMs?: number;
  /**
   * Kinds of involved objects whose Events are folded. Nodes only by default: a join burst is thousands of
   * alike Events that nobody reads one by one, while a Service's own Events (EnsuringLoadBalancer, ...) are
   * what `kubectl describe service` shows its owner, however many Services sync at once.
   *
   * @default {["Node"]}
   */
  kinds?: readonly string[];
}

/** Kinds whose Events are folded unless {@linkcode FoldOptions.kinds} says otherwise. */
export const DEFAULT_FOLD_KINDS: readonly string[] = Object.freeze(["Node"]);

/** {@linkcode FoldOptions} with the defaults filled in. */
export type FoldSettings = Required<FoldOptions>;

/** Fills in the defaults of {@linkcode FoldOptions}; throws naming the field when one is not usable. */
export function foldSettings(options: FoldOptions = {}): FoldSettings {
  const { kinds = DEFAULT_FOLD_KINDS, ...counts } = options;
  const settings = { burst: 25, windowMs: 60_000, intervalMs: 10_000, ...counts };
  for (const [field, value] of Object.entries(settings)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(
        `Cannot fold Events as '${field}' must be a positive integer: current value is ${value}`,
      );
    }
  }
  return { ...settings, kinds: [...kinds] };
}

/** What makes Events alike: everything but the object they are about. */
export interface FoldableEvent {
  kind: string;
  apiVersion: string;
  /** The involved object's namespace; Events of one summary share the namespace they are written to. */
  namespace?: string | undefined;
  type: "Normal" | "Warning";
  reason: string;
  message: string;
  component: string;
}

/**
 * The key alike Events share, or `undefined` for a Warning or an object of a kind not in `kinds`: Warnings are
 * never folded, so each object that needs attention keeps its own Event (`kubectl describe` shows it) and its
 * own warning log line.
 */
export function foldKey(event: FoldableEvent, kinds = DEFAULT_FOLD_KINDS): string | undefined {
  if (event.type !== "Normal" || !kinds.includes(event.kind)) return undefined;
  const { kind, apiVersion, namespace, reason, message, component } = event;
  return JSON.stringify([kind, apiVersion, namespace ?? "", reason, message, component]);
}

/**
 * Tells, per fold key, whether an Event arrives in a burst: the last `burst` arrivals of that key (written
 * or folded) are remembered, so a burst lasts as long as alike Events keep coming faster than `burst` per
 * `windowMs`, and ends by itself once they slow down. Keys are forgotten least recently used first.
 */
export class BurstTracker {
  readonly #burst: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #arrivals = new Map<string, number[]>();

  constructor(settings: Pick<FoldSettings, "burst" | "windowMs">, maxKeys = 1024) {
    this.#burst = settings.burst;
    this.#windowMs = settings.windowMs;
    this.#maxKeys = maxKeys;
  }

  /** Notes an arrival of `key` at `now`; true when it is part of a burst and should be folded. */
  arrive(key: string, now: number): boolean {
    const arrivals = this.#arrivals.get(key) ?? [];
    this.#arrivals.delete(key);
    this.#arrivals.set(key, arrivals);
    if (this.#arrivals.size > this.#maxKeys) {
      this.#arrivals.delete(this.#arrivals.keys().next().value as string);
    }
    const oldest = arrivals[0];
    const inBurst = arrivals.length >= this.#burst && oldest !== undefined && now - oldest < this.#windowMs;
    arrivals.push(now);
    if (arrivals.length > this.#burst) arrivals.shift();
    return inBurst;
  }
}

/** The longest message the API server takes (1 KiB); summaries are kept within it. */
export const MAX_MESSAGE_LENGTH = 1024;

/**
 * The message of a summary Event: the original message, then how many objects and which, as many names as fit
 * in `maxLength`, then "and N more".
 *
 * @example
 * ```ts
 * summaryMessage("Node synced successfully", "Node", ["a", "b", "c"]);
 * // "Node synced successfully (3 Nodes: a, b, c)"
 * ```
 */
export function summaryMessage(
  message: string,
  kind: string,
  names: readonly string[],
  maxLength = MAX_MESSAGE_LENGTH,
): string {
  const head = `${message} (${names.length} ${plural(kind)}: `;
  const all = `${head}${names.join(", ")})`;
  if (all.length <= maxLength) return all;
  // Room for the longest tail, " and <all> more)", so a name once listed never has to be taken back.
  const budget = maxLength - head.length - ` and ${names.length} more)`.length;
  let listed = "";
  let count = 0;
  for (const name of names) {
    const next = count === 0 ? name : `${listed}, ${name}`;
    if (next.length > budget) break;
    listed = next;
    count++;
  }
  if (count === 0) return `${message} (${names.length} ${plural(kind)})`;
  return `${head}${listed} and ${names.length - count} more)`;
}

function plural(kind: string): string {
  return /(s|x|ch|sh)$/.test(kind) ? `${kind}es` : `${kind}s`;
}
