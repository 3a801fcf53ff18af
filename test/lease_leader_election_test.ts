import assert from "node:assert/strict";
import { Registry } from "prom-client";
import type { KubeClients } from "../provider/kube/client.ts";
import { LeaderElector, LEASE_NAME, LEASE_NAMESPACE } from "../provider/leader_election.ts";
import { leaseLock } from "../provider/lease_lock.ts";
import { startTestCluster, type TestCluster, waitFor } from "./harness/mod.ts";

// Short timings so the test runs in seconds; the ratios are the upstream ones' (lease > deadline > 1.2 × retry).
// Not shorter: on a busy CI machine an API round trip can take a good part of a second, and a leader that
// misses its renew deadline rightly steps down — which would fail the "only one leads" step.
const TIMING = { leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 600 };
/** Worst-case wait between two campaign attempts (retry period × (1 + jitter 1.2)). */
const MAX_ATTEMPT_GAP_MS = TIMING.retryPeriodMs * 2.2;

/** A ServiceAccount allowed only what leader election needs on the one Lease (as deploy/ RBAC grants). */
async function leaseOnlyClients(cluster: TestCluster, name: string): Promise<KubeClients> {
  const kube = cluster.clients;
  await kube.objects.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: `${name}-lease`, namespace: LEASE_NAMESPACE },
    rules: [
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: [LEASE_NAME],
        verbs: ["get", "update"],
      },
    ],
  } as never);
  await kube.objects.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: `${name}-lease`, namespace: LEASE_NAMESPACE },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${name}-lease` },
    subjects: [{ kind: "ServiceAccount", name, namespace: LEASE_NAMESPACE }],
  } as never);
  return cluster.clientsFor(await cluster.serviceAccountKubeconfig({ namespace: LEASE_NAMESPACE, name }));
}

Deno.test("leader election with two electors against a real apiserver", async (t) => {
  await using cluster = await startTestCluster();
  const registry = new Registry();
  const make = (kube: KubeClients, identity: string, name = LEASE_NAME) =>
    new LeaderElector({
      lock: leaseLock(kube, { namespace: LEASE_NAMESPACE, name }),
      identity,
      registry: identity === "a" ? registry : undefined,
      ...TIMING,
    });
  const readLease = (name = LEASE_NAME) =>
    cluster.clients.coordination.readNamespacedLease({ name, namespace: LEASE_NAMESPACE });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const campaign = new AbortController();
  const electors: LeaderElector[] = [];

  try {
    await t.step("of two electors campaigning at once, only one leads", async () => {
      const x = make(cluster.clients, "x", "race");
      const y = make(cluster.clients, "y", "race");
      electors.push(x, y);
      const acquired: string[] = [];
      const px = x.acquire(campaign.signal).then(() => acquired.push("x"));
      const py = y.acquire(campaign.signal).then(() => acquired.push("y"));
      await waitFor(() => acquired.length > 0, { message: "a leader" });
      await sleep(4 * TIMING.retryPeriodMs);
      assert.equal(acquired.length, 1, `leaders: ${acquired}`);
      assert.equal([x, y].filter((e) => e.isLeader()).length, 1);
      const lease = await readLease("race");
      assert.equal(lease.spec?.holderIdentity, acquired[0]);
      assert.equal(lease.spec?.leaseDurationSeconds, TIMING.leaseDurationMs / 1000);
      assert.equal(lease.spec?.leaseTransitions, 0);
      assert.match(
        String(lease.spec?.renewTime),
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/,
        "MicroTime format",
      );
      await (acquired[0] === "x" ? x : y).release();
      await Promise.all([px, py]);
      assert.equal([x, y].filter((e) => e.isLeader()).length, 1, "the other one took over");
    });

    const a = make(await leaseOnlyClients(cluster, "ccm-a"), "a");
    const b = make(await leaseOnlyClients(cluster, "ccm-b"), "b");
    electors.push(a, b);
    let bTookOver = 0;
    let bLeads: Promise<void> = Promise.resolve();

    await t.step("a leader keeps the lease, renewing with resourceVersion preconditions", async () => {
      await a.acquire(campaign.signal);
      bLeads = b.acquire(campaign.signal).then(() => void (bTookOver = performance.now()));
      const before = await readLease();
      await sleep(3 * TIMING.retryPeriodMs);
      const after = await readLease();
      assert.equal(after.spec?.holderIdentity, "a");
      assert.notEqual(after.metadata?.resourceVersion, before.metadata?.resourceVersion, "renewed");
      assert.equal(String(after.spec?.acquireTime), String(before.spec?.acquireTime));
      assert.equal(b.isLeader(), false, "the standby waits");
      a.healthCheck();
      assert.match(
        await registry.metrics(),
        /leader_election_master_status\{name="cloud-controller-manager"\} 1/,
      );
    });

    await t.step(
      "when the leader stops renewing, the standby takes over after the lease expires",
      async () => {
        const stopped = performance.now();
        await a.stop();
        await waitFor(() => bTookOver > 0, { timeoutMs: 20_000, message: "b to take over" });
        const handover = bTookOver - stopped;
        // b last saw a's renewal at most one attempt gap before the stop, then waits a lease duration after it.
        assert.ok(
          handover >= TIMING.leaseDurationMs - MAX_ATTEMPT_GAP_MS,
          `handover after only ${handover} ms`,
        );
        assert.ok(
          handover <= TIMING.leaseDurationMs + 2 * MAX_ATTEMPT_GAP_MS + 500,
          `handover took ${handover.toFixed(0)} ms`,
        );
        await bLeads;
        const lease = await readLease();
        assert.equal(lease.spec?.holderIdentity, "b");
        assert.equal(lease.spec?.leaseTransitions, 1);
        assert.match(
          await registry.metrics(),
          /leader_election_master_status\{name="cloud-controller-manager"\} 0/,
        );
      },
    );

    await t.step("release hands over at once", async () => {
      const c = make(await leaseOnlyClients(cluster, "ccm-c"), "c");
      electors.push(c);
      let tookOver = 0;
      const cLeads = c.acquire(campaign.signal).then(() => void (tookOver = performance.now()));
      await sleep(2 * TIMING.retryPeriodMs);
      assert.equal(c.isLeader(), false);
      const released = performance.now();
      await b.release();
      await waitFor(() => tookOver > 0, { timeoutMs: 5000, message: "c to take over" });
      assert.ok(
        tookOver - released <= MAX_ATTEMPT_GAP_MS + 300,
        `took ${(tookOver - released).toFixed(0)} ms`,
      );
      await cLeads;
      const lease = await readLease();
      assert.equal(lease.spec?.holderIdentity, "c");
      assert.equal(lease.spec?.leaseTransitions, 2);
      await c.release();
      assert.equal((await readLease()).spec?.holderIdentity, "");
    });
  } finally {
    campaign.abort();
    await Promise.all(electors.map((e) => e.stop()));
  }
});
