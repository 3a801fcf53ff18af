/**
 * How the leader runs its controllers: each with its `running_managed_controllers` gauge and `/healthz/<name>`
 * ping; a framework controller's failure stops them all, a provider's is restarted with backoff; a stop lets
 * in-flight work finish, bounded. Which controllers there are is decided in `app.ts`.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type { Gauge, Registry } from "prom-client";
import type { Controller, ControllerRunContext } from "./cloud.ts";
import { Backoff } from "../util/backoff.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { getOrCreateGauge } from "./metrics.ts";
import type { HealthEndpoints } from "./server.ts";
import { errorMessage } from "../util/errors.ts";

/** Manager name in `running_managed_controllers{manager}`. */
export const MANAGER_NAME = "cloud-controller-manager";

/**
 * When the leader's work stops. {@linkcode signal} (graceful: take no new work, finish the work in hand) aborts
 * on `signal` (shutdown), on `hardSignal` (lost lease) and on {@linkcode stop} (a fatal controller failure);
 * {@linkcode syncSignal} (abandon in-flight work) on `hardSignal` and on {@linkcode abandon} (shutdown
 * timeout). Dispose it to detach from the two outer signals.
 */
export class ControllerStops implements Disposable {
  readonly #graceful = new AbortController();
  readonly #hard = new AbortController();
  readonly #detach: () => void;

  constructor(signal: AbortSignal, hardSignal?: AbortSignal) {
    const onStop = () => this.#graceful.abort(signal.reason);
    const onHard = () => {
      this.#graceful.abort(hardSignal?.reason);
      this.#hard.abort(hardSignal?.reason);
    };
    signal.addEventListener("abort", onStop, { once: true });
    hardSignal?.addEventListener("abort", onHard, { once: true });
    if (signal.aborted) onStop();
    if (hardSignal?.aborted) onHard();
    this.#detach = () => {
      signal.removeEventListener("abort", onStop);
      hardSignal?.removeEventListener("abort", onHard);
    };
  }

  /** Aborted to stop gracefully. */
  get signal(): AbortSignal {
    return this.#graceful.signal;
  }

  /** Aborted when in-flight work must be abandoned. */
  get syncSignal(): AbortSignal {
    return this.#hard.signal;
  }

  /** Stops gracefully. */
  stop(reason: unknown): void {
    this.#graceful.abort(reason);
  }

  /** Abandons in-flight work. */
  abandon(reason: unknown): void {
    this.#hard.abort(reason);
  }

  [Symbol.dispose](): void {
    this.#detach();
  }
}

/** Input of {@linkcode runControllers}. */
export interface RunControllersOptions {
  /** The framework's controllers: one that rejects stops all and the run rejects with its error. */
  controllers: readonly Controller[];
  /** The provider's controllers: logged and restarted with backoff when they reject. */
  providerControllers?: readonly Controller[];
  /** When they stop. */
  stops: ControllerStops;
  registry: Registry;
  /** Where each controller adds its ping (`/healthz/<name>`). */
  health?: HealthEndpoints;
  /** How long a graceful stop waits for in-flight work; default 20 s. */
  shutdownTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/**
 * Runs the controllers until `stops.signal` aborts, then waits for them (bounded by `shutdownTimeoutMs`, after
 * which in-flight work is abandoned).
 *
 * @throws {Error} When a framework controller fails.
 */
export async function runControllers(o: RunControllersOptions): Promise<void> {
  const logger = o.logger ?? getLogger(["ccm", "controller-manager"]);
  const clock = o.clock ?? systemClock;
  const { stops } = o;
  const cleanups: Array<() => void> = [];
  try {
    const running = runningGauge(o.registry);
    const ctx: ControllerRunContext = { signal: stops.signal, syncSignal: stops.syncSignal };
    const runs: Promise<void>[] = [];
    for (const controller of o.controllers) {
      logger.info("Starting controller", { controller: controller.name });
      running.set({ name: controller.name, manager: MANAGER_NAME }, 1);
      cleanups.push(o.health?.healthz.add({ name: controller.name, check: () => {} }) ?? (() => {}));
      runs.push(
        controller.run(ctx).then(
          () => {
            running.set({ name: controller.name, manager: MANAGER_NAME }, 0);
            logger.info("Stopped controller", { controller: controller.name });
          },
          (err) => {
            running.set({ name: controller.name, manager: MANAGER_NAME }, 0);
            throw new Error(`Controller '${controller.name}' failed: ${errorMessage(err)}`, {
              cause: err,
            });
          },
        ),
      );
    }
    for (const pc of o.providerControllers ?? []) {
      logger.info("Starting provider controller", { controller: pc.name });
      running.set({ name: pc.name, manager: MANAGER_NAME }, 1);
      cleanups.push(o.health?.healthz.add({ name: pc.name, check: () => {} }) ?? (() => {}));
      runs.push(
        runProviderController(pc, ctx, clock, logger).finally(() => {
          running.set({ name: pc.name, manager: MANAGER_NAME }, 0);
        }),
      );
    }

    // A failing controller stops everything (the process exits and is restarted), like upstream's fatal exit.
    let fatal: Error | undefined;
    for (const run of runs) {
      run.catch((err) => {
        fatal ??= err;
        stops.stop(err);
      });
    }
    if (!stops.signal.aborted) {
      await new Promise<void>((resolve) =>
        stops.signal.addEventListener("abort", () => resolve(), { once: true })
      );
    }

    if (!stops.syncSignal.aborted) logger.info("Stopping controllers; waiting for in-flight work");
    const timeoutMs = o.shutdownTimeoutMs ?? 20_000;
    const cancelTimer = new AbortController();
    const finished = await Promise.race([
      Promise.allSettled(runs).then(() => true),
      clock.sleep(timeoutMs, cancelTimer.signal).then(() => false, () => true),
    ]);
    cancelTimer.abort();
    if (!finished) {
      logger.warn("Abandoned in-flight work after the shutdown timeout", { timeoutMs });
      stops.abandon(new Error("Shutdown timeout"));
    }
    if (fatal !== undefined) throw fatal;
  } finally {
    for (const cleanup of cleanups) cleanup();
  }
}

/** Runs a provider loop until `ctx.signal` aborts, restarting it with backoff (1 s → 60 s) when it rejects. */
export async function runProviderController(
  pc: Controller,
  ctx: ControllerRunContext,
  clock: Clock = systemClock,
  logger: Logger = getLogger(["ccm", "controller-manager"]),
): Promise<void> {
  const { signal } = ctx;
  const backoff = new Backoff({ initialMs: 1_000, maxMs: 60_000 });
  while (!signal.aborted) {
    const started = clock.now();
    let failure: { err: unknown } | undefined;
    try {
      await pc.run(ctx);
    } catch (err) {
      failure = { err };
    }
    if (signal.aborted) return;
    // A loop that ran for a while earns a fresh backoff.
    if (clock.now() - started > 60_000) backoff.reset();
    const delayMs = backoff.next();
    if (failure === undefined) {
      logger.warn("Provider controller returned before shutdown; restarting", { controller: pc.name });
    } else {
      logger.error("Provider controller failed; restarting", {
        controller: pc.name,
        retryInMs: delayMs,
        err: failure.err,
      });
    }
    try {
      await clock.sleep(delayMs, signal);
    } catch {
      return;
    }
  }
}

/** `running_managed_controllers{name,manager}`: 1 while a controller runs (upstream controller-manager metric). */
export function runningGauge(registry: Registry): Gauge<"name" | "manager"> {
  return getOrCreateGauge(registry, {
    name: "running_managed_controllers",
    help: "Indicates where instances of a controller are currently running",
    labelNames: ["name", "manager"] as const,
  });
}
