import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { FakeClock, settle } from "../util/clock.ts";
import { KubeApiError } from "./kube/errors.ts";
import { LeaderElector, type LeaderElectorOptions } from "./leader_election.ts";
import {
  type LeaderElectionRecord,
  leaseFromRecord,
  type LeaseLock,
  type ObservedRecord,
  recordFromLease,
} from "./lease_lock.ts";

/** An in-memory Lease with resourceVersion preconditions and failure injection. */
class FakeLock implements LeaseLock {
  readonly description = "kube-system/cloud-controller-manager";
  stored: { record: LeaderElectionRecord; rv: number } | undefined;
  #rv = 0;
  /** When set, every call fails with it. */
  failure: Error | undefined;
  /** When true, calls never settle (a stuck connection that ignores cancellation). */
  hang = false;
  writes: LeaderElectionRecord[] = [];

  #gate(): Promise<void> {
    if (this.hang) return new Promise(() => {});
    return this.failure ? Promise.reject(this.failure) : Promise.resolve();
  }

  #observed(): ObservedRecord {
    return { record: { ...this.stored!.record }, resourceVersion: String(this.stored!.rv) };
  }

  async get(): Promise<ObservedRecord | undefined> {
    await this.#gate();
    return this.stored && this.#observed();
  }

  async create(record: LeaderElectionRecord): Promise<ObservedRecord> {
    await this.#gate();
    if (this.stored) throw new KubeApiError({ code: 409, reason: "AlreadyExists", message: "exists" });
    return this.#write(record);
  }

  async update(record: LeaderElectionRecord, resourceVersion: string): Promise<ObservedRecord> {
    await this.#gate();
    if (!this.stored || String(this.stored.rv) !== resourceVersion) {
      throw new KubeApiError({ code: 409, reason: "Conflict", message: "the object has been modified" });
    }
    return this.#write(record);
  }

  /** Another writer (an operator, or a competitor) changes the record. */
  overwrite(record: Partial<LeaderElectionRecord>): void {
    this.#write({ ...this.stored!.record, ...record });
  }

  #write(record: LeaderElectionRecord): ObservedRecord {
    this.stored = { record: { ...record }, rv: ++this.#rv };
    this.writes.push({ ...record });
    return this.#observed();
  }
}

function elector(
  lock: FakeLock,
  clock: FakeClock,
  identity: string,
  extra: Partial<LeaderElectorOptions> = {},
) {
  const events: string[] = [];
  const e = new LeaderElector({
    lock,
    identity,
    clock,
    random: () => 0,
    onStartedLeading: () => events.push("started"),
    onStoppedLeading: (reason) => events.push(`stopped:${reason}`),
    ...extra,
  });
  return { e, events };
}

Deno.test("acquire creates the Lease with our identity, times and the leader gauge", async () => {
  const clock = new FakeClock(1_000_000);
  const lock = new FakeLock();
  const registry = new Registry();
  const { e, events } = elector(lock, clock, "host-a_1", { registry });
  assert.match(
    await registry.metrics(),
    /leader_election_master_status\{name="cloud-controller-manager"\} 0/,
  );
  await e.acquire(new AbortController().signal);
  assert.ok(e.isLeader());
  assert.deepEqual(events, ["started"]);
  assert.deepEqual(lock.stored?.record, {
    holderIdentity: "host-a_1",
    leaseDurationSeconds: 15,
    acquireTime: 1_000_000,
    renewTime: 1_000_000,
    leaseTransitions: 0,
  });
  assert.match(
    await registry.metrics(),
    /leader_election_master_status\{name="cloud-controller-manager"\} 1/,
  );
  await e.stop();
});

Deno.test("the leader renews every retry period with the observed resourceVersion, keeping acquireTime", async () => {
  const clock = new FakeClock(0);
  const lock = new FakeLock();
  const { e } = elector(lock, clock, "a");
  await e.acquire(new AbortController().signal);
  await clock.advance(2000);
  await clock.advance(2000);
  assert.deepEqual(lock.writes.map((w) => [w.renewTime, w.acquireTime, w.leaseTransitions]), [
    [0, 0, 0],
    [2000, 0, 0],
    [4000, 0, 0],
  ]);
  await e.stop();
});

Deno.test("a standby waits while the lease is renewed and takes over once it expired", async () => {
  const clock = new FakeClock(0);
  const lock = new FakeLock();
  const leader = elector(lock, clock, "a");
  const standby = elector(lock, clock, "b");
  await leader.e.acquire(new AbortController().signal);
  let standbyLeads = false;
  const campaign = standby.e.acquire(new AbortController().signal).then(() => (standbyLeads = true));
  await clock.advance(30_000);
  assert.equal(standbyLeads, false, "never while the leader renews");
  assert.ok(leader.e.isLeader());

  await leader.e.stop(); // the leader crashes: no more renewals, no release
  const stoppedAt = clock.now();
  while (!standbyLeads) await clock.advance(100);
  const handover = clock.now() - stoppedAt;
  // It saw the last renewal within a retry period, then waits a lease duration from that observation.
  assert.ok(handover >= 13_000 && handover <= 15_000 + 2000 + 100, `handover took ${handover} ms`);
  await campaign;
  assert.equal(lock.stored?.record.holderIdentity, "b");
  assert.equal(lock.stored?.record.leaseTransitions, 1);
  assert.ok(clock.now() - lock.stored!.record.acquireTime < 100, "acquireTime is the takeover time");
  assert.deepEqual(standby.events, ["started"]);
  await standby.e.stop();
});

Deno.test("release empties the holder so a standby takes over on its next attempt", async () => {
  const clock = new FakeClock(0);
  const lock = new FakeLock();
  const leader = elector(lock, clock, "a");
  const standby = elector(lock, clock, "b");
  await leader.e.acquire(new AbortController().signal);
  let standbyLeads = false;
  const campaign = standby.e.acquire(new AbortController().signal).then(() => (standbyLeads = true));
  await clock.advance(5000);
  await leader.e.release();
  assert.deepEqual(leader.events, ["started", "stopped:released"]);
  assert.equal(leader.e.isLeader(), false);
  assert.equal(lock.stored?.record.holderIdentity, "");
  assert.equal(lock.stored?.record.leaseDurationSeconds, 1);
  const releasedAt = clock.now();
  while (!standbyLeads) await clock.advance(100);
  assert.ok(clock.now() - releasedAt <= 2000, `took ${clock.now() - releasedAt} ms after release`);
  await campaign;
  assert.equal(lock.stored?.record.holderIdentity, "b");
  await standby.e.stop();
});

Deno.test("release reads the Lease again when a renewal cut short by the stop landed meanwhile", async () => {
  const clock = new FakeClock(0);
  const lock = new FakeLock();
  const leader = elector(lock, clock, "a");
  await leader.e.acquire(new AbortController().signal);
  // The server applied a renewal whose answer the stopped renew loop never read: our resourceVersion is stale.
  lock.overwrite({ renewTime: 1 });
  await leader.e.release();
  assert.equal(lock.stored?.record.holderIdentity, "");
  assert.deepEqual(leader.events, ["started", "stopped:released"]);
});

Deno.test("release leaves the Lease alone when someone else took it meanwhile", async () => {
  const clock = new FakeClock(0);
  const lock = new FakeLock();
  const leader = elector(lock, clock, "a");
  await leader.e.acquire(new AbortController().signal);
  lock.overwrite({ holderIdentity: "b" });
  await leader.e.release();
  assert.equal(lock.stored?.record.holderIdentity, "b");
  assert.equal(leader.e.isLeader(), false);
});

Deno.test("the leader steps down when renewals fail for the renew deadline, not before", async () => {
  const clock = new FakeClock(0);
  const lock = new FakeLock();
  const registry = new Registry();
  const { e, events } = elector(lock, clock, "a", { registry });
  await e.acquire(new AbortController().signal);
  lock.failure = new KubeApiError({ code: 500, reason: "InternalError", message: "etcd unavailable" });
  // Attempts at 2 s, 4 s, 6 s, 8 s fail; the renew deadline would be 12 s.
  await clock.advance(2000 + 7000);
  assert.ok(e.isLeader(), "still leading within the renew deadline");
  lock.failure = undefined;
  await clock.advance(1000); // the attempt at 10 s succeeds
  assert.ok(e.isLeader(), "a late success keeps leadership");
  assert.equal(e.lost.aborted, false);

  lock.failure = new Error("connection refused");
  await clock.advance(2000 + 10_000);
  await settle();
  assert.equal(e.isLeader(), false);
  assert.ok(e.lost.aborted);
  assert.match(String(e.lost.reason), /not renewed within the renew deadline of 10000 ms/);
  assert.deepEqual(events, ["started", "stopped:lost"]);
  assert.match(
    await registry.metrics(),
    /leader_election_master_status\{name="cloud-controller-manager"\} 0/,
  );
  await e.stop();
});

Deno.test("holdsLease fences writes: false once the last renewal is older than the renew deadline", async () => {
  const fake = new FakeClock(0);
  // A paused process: time jumps forward while no timer (renew loop) has a chance to run.
  let jumped = 0;
  const clock = { now: () => fake.now() + jumped, sleep: (ms: number, s?: AbortSignal) => fake.sleep(ms, s) };
  const lock = new FakeLock();
  const e = new LeaderElector({ lock, identity: "a", clock, random: () => 0 });
  assert.equal(e.holdsLease(), false, "a standby holds nothing");
  await e.acquire(new AbortController().signal);
  assert.equal(e.holdsLease(), true);
  await fake.advance(9_000); // renewed at 2, 4, 6, 8 s
  assert.equal(e.holdsLease(), true);
  jumped = 10_000; // 11 s since the renewal at 8 s, and the renew loop has not run yet
  assert.equal(e.isLeader(), true, "the renew loop has not noticed");
  assert.equal(e.holdsLease(), false, "but the fence has");
  jumped = 0;
  assert.equal(e.holdsLease(), true);
  await e.release();
  assert.equal(e.holdsLease(), false, "released");
});

Deno.test("the leader steps down at once when someone else holds the lease", async () => {
  const clock = new FakeClock(0);
  const lock = new FakeLock();
  const { e, events } = elector(lock, clock, "a");
  await e.acquire(new AbortController().signal);
  lock.overwrite({ holderIdentity: "intruder", renewTime: 0 });
  await clock.advance(2000);
  assert.equal(e.isLeader(), false);
  assert.match(String(e.lost.reason), /now held by "intruder"/);
  assert.deepEqual(events, ["started", "stopped:lost"]);
  await e.stop();
});

Deno.test("health check fails only when leading without renewal for lease duration + 20 s", async () => {
  const clock = new FakeClock(0);
  const lock = new FakeLock();
  const { e } = elector(lock, clock, "a");
  e.healthCheck(); // a standby is healthy
  await e.acquire(new AbortController().signal);
  e.healthCheck();
  lock.hang = true; // a renewal that never returns: the deadline cannot fire, nothing steps down
  await clock.advance(35_000);
  e.healthCheck();
  await clock.advance(2_001);
  assert.throws(
    () => e.check.check(),
    /failed election to renew leadership on lease kube-system\/cloud-controller-manager/,
  );
});

Deno.test("acquire rejects when its signal aborts, and stops campaigning", async () => {
  const clock = new FakeClock(0);
  const lock = new FakeLock();
  lock.failure = new Error("apiserver down");
  const { e } = elector(lock, clock, "a");
  const controller = new AbortController();
  const campaign = e.acquire(controller.signal);
  await clock.advance(5000);
  controller.abort(new Error("SIGTERM"));
  await assert.rejects(campaign, /SIGTERM/);
  assert.equal(e.isLeader(), false);
});

Deno.test("invalid timings are rejected naming the flags", () => {
  const lock = new FakeLock();
  assert.throws(
    () => new LeaderElector({ lock, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
    /--leader-elect-lease-duration or --leader-elect-renew-deadline/,
  );
  assert.throws(
    () => new LeaderElector({ lock, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
    /--leader-elect-renew-deadline or --leader-elect-retry-period/,
  );
  assert.match(new LeaderElector({ lock }).identity, /^[^_]+_[0-9a-f-]{36}$/);
});

Deno.test("Lease bodies carry MicroTime with six fractional digits and read back", () => {
  const record = {
    holderIdentity: "a",
    leaseDurationSeconds: 15,
    acquireTime: 1_700_000_000_123,
    renewTime: 1_700_000_001_456,
    leaseTransitions: 3,
  };
  const lease = leaseFromRecord(record, { name: "l", namespace: "ns", resourceVersion: "9" });
  const json = JSON.parse(JSON.stringify(lease));
  assert.equal(json.spec.renewTime, "2023-11-14T22:13:21.456000Z");
  assert.equal(json.metadata.resourceVersion, "9");
  assert.deepEqual(recordFromLease(json), record);
  assert.equal(typeof lease.spec?.renewTime, "string", "a MicroTime is a string on the wire, not a Date");
  assert.deepEqual(recordFromLease({ spec: { renewTime: "1970-01-01T00:00:00.005000Z" } }), {
    holderIdentity: "",
    leaseDurationSeconds: 0,
    acquireTime: 0,
    renewTime: 5,
    leaseTransitions: 0,
  });
});
