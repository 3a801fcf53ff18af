/**
 * Lease-based leader election (client-go's `leaderelection`): campaign for the Lease, renew it every retry
 * period with resourceVersion preconditions, step down when renewal keeps failing for the renew deadline,
 * and release it on a graceful stop so a standby takes over at once.
 *
 * Safety: a standby takes over only when the record it observed has not changed for a lease duration,
 * timed by its own clock (no clock-skew assumptions); the leader stops acting after the renew deadline, which
 * is shorter than the lease duration. {@linkcode LeaderElector.holdsLease} fences writes: a leader that was
 * paused (SIGSTOP, a VM or GC pause) past its renew deadline must not write before its renew loop has noticed
 * that another replica may lead by now.
 *
 * @example
 * ```ts
 * const elector = new LeaderElector({ lock: leaseLock(kube, { namespace: "kube-system", name: LEASE_NAME }) });
 * await elector.acquire(signal);          // resolves once leading; renews in the background
 * using stops = new ControllerStops(signal, elector.lost); // the controllers stop at once when it is lost
 * await elector.release();                // on SIGTERM, after the controllers stopped
 * ```
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import { hostname } from "node:os";
import type { Gauge, Registry } from "prom-client";
import { jitter } from "../util/backoff.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { isAlreadyExists, isConflict } from "./kube/errors.ts";
import { getOrCreateGauge } from "./metrics.ts";
import type { LeaderElectionRecord, LeaseLock, ObservedRecord } from "./lease_lock.ts";

/** Default Lease name. Never change it: replicas of different versions must compete for the same Lease. */
export const LEASE_NAME = "cloud-controller-manager";
/** Default Lease namespace. */
export const LEASE_NAMESPACE = "kube-system";
/** How long a leader may go without renewing before `/healthz` fails, beyond the lease duration (upstream). */
export const HEALTH_TOLERANCE_MS = 20_000;
/** Retry waits are stretched by up to this factor at random (upstream `JitterFactor`). */
const JITTER_FACTOR = 1.2;

/** Why leadership ended. */
export type StoppedReason = "lost" | "released" | "stopped";

/** Options of {@linkcode LeaderElector}. */
export interface LeaderElectorOptions {
  lock: LeaseLock;
  /** `<hostname>_<uuid>` by default. */
  identity?: string;
  /** `--leader-elect-lease-duration` (default 15 s). */
  leaseDurationMs?: number;
  /** `--leader-elect-renew-deadline` (default 10 s). */
  renewDeadlineMs?: number;
  /** `--leader-elect-retry-period` (default 2 s). */
  retryPeriodMs?: number;
  /** Registers `leader_election_master_status{name}` here. */
  registry?: Registry;
  onStartedLeading?(): void;
  onStoppedLeading?(reason: StoppedReason): void;
  /** Called when the observed holder changes (including to ourselves). */
  onNewLeader?(identity: string): void;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
}

/** The default identity: `<hostname>_<uuid>`, unique per process. */
export function defaultIdentity(): string {
  return `${hostname()}_${crypto.randomUUID()}`;
}

function leaderGauge(registry: Registry): Gauge<"name"> {
  return getOrCreateGauge(registry, {
    name: "leader_election_master_status",
    help:
      "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
    labelNames: ["name"] as const,
  });
}

/** One replica's participation in leader election; see the module docs. */
export class LeaderElector {
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  /** `/healthz/leaderElection`: fails when leading without a renewal for lease duration + 20 s. */
  readonly check = { name: "leaderElection", check: () => this.healthCheck() };
  readonly #o: LeaderElectorOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #logger: Logger;
  readonly #gauge: Gauge<"name"> | undefined;
  readonly #lost = new AbortController();
  readonly #stopRenewing = new AbortController();
  #observed: ObservedRecord | undefined;
  #observedAt = 0;
  #leading = false;
  #lastRenew = 0;
  #renewing: Promise<void> | undefined;
  #campaigning = false;
  #lastLeader = "";

  constructor(options: LeaderElectorOptions) {
    this.identity = options.identity ?? defaultIdentity();
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.leaseDurationMs <= this.renewDeadlineMs) {
      throw new Error(
        `Invalid leader election timing: lease duration ${this.leaseDurationMs} ms must be greater than renew deadline ${this.renewDeadlineMs} ms; fix --leader-elect-lease-duration or --leader-elect-renew-deadline`,
      );
    }
    if (this.renewDeadlineMs <= JITTER_FACTOR * this.retryPeriodMs) {
      throw new Error(
        `Invalid leader election timing: renew deadline ${this.renewDeadlineMs} ms must be greater than 1.2 × retry period ${this.retryPeriodMs} ms; fix --leader-elect-renew-deadline or --leader-elect-retry-period`,
      );
    }
    if (!this.identity) throw new Error("Invalid leader election identity: must not be empty");
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger ?? getLogger(["ccm", "leader-election"]);
    this.#gauge = options.registry ? leaderGauge(options.registry) : undefined;
    this.#gauge?.set({ name: this.#lockName }, 0);
  }

  get #lockName(): string {
    return this.#o.lock.description.split("/").pop() ?? "";
  }

  /** Aborted when this replica loses the lease (renewal failed for the renew deadline). */
  get lost(): AbortSignal {
    return this.#lost.signal;
  }

  /** Whether this replica currently holds the lease. */
  isLeader(): boolean {
    return this.#leading;
  }

  /**
   * Whether this replica may act now: it leads, and its last successful renewal began less than the renew
   * deadline ago. Check it right before every write: after a pause, timers and answers that were due run in
   * any order, and the renew loop may only find out later that the lease was taken over meanwhile.
   */
  holdsLease(): boolean {
    return this.#leading && this.#clock.now() - this.#lastRenew < this.renewDeadlineMs;
  }

  /** The holder this replica last observed (may be itself); empty when unknown or released. */
  get leader(): string {
    return this.#observed?.record.holderIdentity ?? "";
  }

  /** Throws when this replica leads but has not renewed for lease duration + 20 s (a stuck renew loop). */
  healthCheck(): void {
    if (!this.#leading) return;
    const sinceRenew = this.#clock.now() - this.#lastRenew;
    if (sinceRenew > this.leaseDurationMs + HEALTH_TOLERANCE_MS) {
      throw new Error(
        `failed election to renew leadership on lease ${this.#o.lock.description}: last renewed ${
          Math.round(sinceRenew / 1000)
        } s ago`,
      );
    }
  }

  /**
   * Campaigns until this replica holds the lease, then keeps renewing it in the background (until
   * {@linkcode release}, {@linkcode stop} or loss). Rejects with `signal.reason` if `signal` aborts first;
   * aborting `signal` later does not stop the renewals.
   */
  async acquire(signal: AbortSignal): Promise<void> {
    if (this.#campaigning || this.#renewing) {
      throw new Error("Leader election can be acquired once per elector; create a new LeaderElector");
    }
    signal.throwIfAborted();
    this.#campaigning = true;
    this.#logger.info("Attempting to acquire leader lease {lease}", { lease: this.#o.lock.description });
    try {
      for (;;) {
        if (await this.#tryAcquireOrRenew(signal)) break;
        signal.throwIfAborted();
        await this.#clock.sleep(this.#nextAttemptDelay(), signal);
      }
    } finally {
      this.#campaigning = false;
    }
    this.#logger.info("Successfully acquired lease {lease}", { lease: this.#o.lock.description });
    this.#setLeading(true);
    this.#o.onStartedLeading?.();
    this.#renewing = this.#renewLoop();
  }

  /**
   * Stops renewing and gives the lease up (empty holder, lease duration 1 s) so a standby acquires it on its
   * next attempt. A no-op when not leading.
   */
  async release(): Promise<void> {
    await this.#stopRenewLoop();
    if (!this.#leading) return;
    this.#setLeading(false);
    const timeout = new AbortController();
    const timer = this.#clock.sleep(this.renewDeadlineMs, timeout.signal).then(
      () => timeout.abort(),
      () => {},
    );
    try {
      let observed = this.#observed;
      for (let attempt = 1;; attempt++) {
        if (!observed || observed.record.holderIdentity !== this.identity) return;
        try {
          this.#observed = await this.#o.lock.update(
            this.#releasedRecord(observed),
            observed.resourceVersion,
            timeout.signal,
          );
          break;
        } catch (err) {
          // A renewal cut short by the stop may still have landed: read the Lease again and release that.
          if (!isConflict(err) || attempt > 1) throw err;
          observed = await this.#o.lock.get(timeout.signal);
        }
      }
      this.#logger.info("Released leader lease {lease}", { lease: this.#o.lock.description });
    } finally {
      timeout.abort();
      await timer;
      this.#o.onStoppedLeading?.("released");
    }
  }

  #releasedRecord(observed: ObservedRecord): LeaderElectionRecord {
    const now = this.#clock.now();
    return {
      holderIdentity: "",
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: observed.record.leaseTransitions,
    };
  }

  /** Stops renewing without releasing (the lease expires by itself); for tests and crash simulation. */
  async stop(): Promise<void> {
    await this.#stopRenewLoop();
    if (this.#leading) {
      this.#setLeading(false);
      this.#o.onStoppedLeading?.("stopped");
    }
  }

  async #stopRenewLoop(): Promise<void> {
    this.#stopRenewing.abort();
    await this.#renewing;
  }

  /** Renews every retry period; gives up leadership if no renewal succeeds within the renew deadline. */
  async #renewLoop(): Promise<void> {
    const stop = this.#stopRenewing.signal;
    while (!stop.aborted) {
      try {
        await this.#clock.sleep(this.retryPeriodMs, stop);
      } catch {
        return;
      }
      const deadline = new AbortController();
      const onStop = () => deadline.abort(stop.reason);
      stop.addEventListener("abort", onStop, { once: true });
      const timer = this.#clock.sleep(this.renewDeadlineMs, deadline.signal).then(
        () => deadline.abort(new Error("renew deadline exceeded")),
        () => {},
      );
      let renewed = false;
      let takenOver = false;
      try {
        while (!deadline.signal.aborted) {
          if (await this.#tryAcquireOrRenew(deadline.signal).catch(() => false)) {
            renewed = true;
            break;
          }
          // Someone else holds it (an operator edit, or our renewals were too late): stop acting now.
          const holder = this.#observed?.record.holderIdentity ?? "";
          if (holder !== "" && holder !== this.identity) {
            takenOver = true;
            break;
          }
          await this.#clock.sleep(this.retryPeriodMs, deadline.signal).catch(() => {});
        }
      } finally {
        stop.removeEventListener("abort", onStop);
        deadline.abort();
        await timer;
      }
      if (stop.aborted) return;
      if (!renewed) {
        const why = takenOver
          ? `now held by "${this.#observed?.record.holderIdentity}"`
          : `not renewed within the renew deadline of ${this.renewDeadlineMs} ms`;
        this.#logger.error("Lost leader lease {lease}: {why}", { lease: this.#o.lock.description, why });
        this.#setLeading(false);
        this.#lost.abort(new Error(`Lost the leader lease ${this.#o.lock.description}: ${why}`));
        this.#o.onStoppedLeading?.("lost");
        return;
      }
    }
  }

  /** Waits a jittered retry period, but no longer than until the observed lease expires. */
  #nextAttemptDelay(): number {
    const jittered = jitter(this.retryPeriodMs, JITTER_FACTOR, this.#random);
    const record = this.#observed?.record;
    if (!record?.holderIdentity) return jittered;
    const expiresIn = this.#observedAt + record.leaseDurationSeconds * 1000 - this.#clock.now();
    return Math.max(0, Math.min(jittered, expiresIn + 1));
  }

  /** One attempt to take or keep the lease; true when we hold it afterwards. Errors count as "not now". */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = this.#clock.now();
    const fresh: LeaderElectionRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    let current: ObservedRecord | undefined;
    try {
      current = await this.#o.lock.get(signal);
      if (!current) {
        this.#observe(await this.#o.lock.create(fresh, signal));
        this.#lastRenew = now;
        return true;
      }
      this.#observe(current);
      const old = current.record;
      const heldByOther = old.holderIdentity !== "" && old.holderIdentity !== this.identity;
      if (heldByOther && this.#observedAt + old.leaseDurationSeconds * 1000 > now) return false;
      const record = old.holderIdentity === this.identity
        ? { ...fresh, acquireTime: old.acquireTime, leaseTransitions: old.leaseTransitions }
        : { ...fresh, leaseTransitions: old.leaseTransitions + 1 };
      this.#observe(await this.#o.lock.update(record, current.resourceVersion, signal));
      this.#lastRenew = now;
      return true;
    } catch (err) {
      if (signal.aborted) return false;
      if (isConflict(err) || isAlreadyExists(err)) {
        this.#logger.debug("Lease {lease} was written by someone else first", {
          lease: this.#o.lock.description,
        });
      } else {
        this.#logger.warn("Failed to acquire or renew lease {lease}", {
          lease: this.#o.lock.description,
          err,
        });
      }
      return false;
    }
  }

  #observe(observed: ObservedRecord): void {
    const before = this.#observed;
    const changed = !before || before.resourceVersion !== observed.resourceVersion ||
      JSON.stringify(before.record) !== JSON.stringify(observed.record);
    this.#observed = observed;
    if (changed) this.#observedAt = this.#clock.now();
    const holder = observed.record.holderIdentity;
    if (holder && holder !== this.#lastLeader) {
      this.#lastLeader = holder;
      if (holder !== this.identity) this.#logger.info("New leader elected: {leader}", { leader: holder });
      this.#o.onNewLeader?.(holder);
    }
  }

  #setLeading(leading: boolean): void {
    this.#leading = leading;
    this.#gauge?.set({ name: this.#lockName }, leading ? 1 : 0);
  }
}
