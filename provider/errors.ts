/**
 * Errors that callers branch on. Everything else is a plain `Error` with a `cause`.
 *
 * @module
 */

/** The node belongs to another cloud provider (foreign providerID); controllers skip it quietly. */
export class NodeNotManagedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NodeNotManagedError";
  }
}

/** The provider is sure the instance does not exist (upstream `cloudprovider.InstanceNotFound`). */
export class InstanceNotFoundError extends Error {
  constructor(message = "instance not found", options?: ErrorOptions) {
    super(message, options);
    this.name = "InstanceNotFoundError";
  }
}

/** Asks the caller to retry after a given delay instead of its own backoff (upstream `api.RetryError`). */
export class RetryError extends Error {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "RetryError";
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * Thrown instead of a write when this replica may no longer hold the leader lease (fencing): its last renewal
 * is older than the renew deadline, for example after the process was paused.
 */
export class LeaseFenceError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LeaseFenceError";
  }
}

/** Configuration is invalid; the message names the setting, the bad value (secrets masked) and the fix. */
export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/**
 * Marks an error as the cloud's own passing trouble (5xx, 429, timeout, connection error): the call may work
 * again by itself soon. Providers set `[TRANSIENT] = true` on such errors; {@linkcode isTransientError} finds
 * the mark on the error or anywhere in its `cause` chain.
 */
export const TRANSIENT: unique symbol = Symbol.for("ccm.transient");

/** True when `err`, or an error in its `cause` chain, carries the {@linkcode TRANSIENT} mark. */
export function isTransientError(err: unknown): boolean {
  const seen = new Set<unknown>();
  for (
    let e = err;
    typeof e === "object" && e !== null && !seen.has(e);
    e = (e as { cause?: unknown }).cause
  ) {
    seen.add(e);
    if ((e as { [TRANSIENT]?: unknown })[TRANSIENT] === true) return true;
  }
  return false;
}
