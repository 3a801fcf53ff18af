/**
 * What the controller manager needs from a controller.
 *
 * @module
 */

/** Signals handed to {@linkcode Controller.run}. */
export interface ControllerRunContext {
  /** Aborted to stop: take no new work, finish the work in hand, then resolve. */
  signal: AbortSignal;
  /** Passed to provider calls; aborted only when in-flight work must be abandoned (shutdown timeout). */
  syncSignal: AbortSignal;
}

/** A framework controller loop. */
export interface Controller {
  /** Canonical name (`cloud-node-controller`, ...): logs, metrics, `/healthz/<name>`. */
  readonly name: string;
  /** Runs until `ctx.signal` aborts and in-flight work is done. */
  run(ctx: ControllerRunContext): Promise<void>;
}
