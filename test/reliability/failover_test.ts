/**
 * Item 3 — leader failover. Two `ccm run` replicas with leader election (lease 4 s, renew deadline 3 s, retry
 * 1 s) while Services are created and deleted all along; the leader is SIGKILLed, then paused (SIGSTOP, and
 * SIGCONT once the other replica leads), then SIGTERMed. Asserted: takeover within lease duration + retry period
 * (client-go's ×1.2 retry jitter included), at once after SIGTERM; the resumed leader exits non-zero without
 * writing anything (fencing); at no time do two replicas act — every Metal write (simulator request log, each
 * replica behind its own User-Agent-tagging proxy) and Kubernetes write (audit log, each replica its own user)
 * comes from the replica that leads; nothing is lost: every Service converges with exactly one elastic IP.
 *
 * `CCM_SOAK=1` repeats the kill/pause/term cycle.
 */
import assert from "node:assert/strict";
import { startTestCluster, waitFor } from "../harness/mod.ts";
import { createLbService, seededRandom } from "../loadbalancer_system.ts";
import { Bed, type Ccm, SEED, SOAK, type TrackedService, waitConverged } from "./bed.ts";
import { MetalProxy, replicaOf } from "./metal_proxy.ts";
import { report } from "./report.ts";

const LEASE_MS = 4_000;
const RETRY_MS = 1_000;
const ELECTION_ARGS = [
  "--leader-elect=true",
  `--leader-elect-lease-duration=${LEASE_MS / 1000}s`,
  "--leader-elect-renew-deadline=3s",
  `--leader-elect-retry-period=${RETRY_MS / 1000}s`,
];
/** Takeover bound: lease duration + retry period × (1 + 1.2 jitter), plus scheduling slack on a busy machine. */
const TAKEOVER_MS = LEASE_MS + RETRY_MS * 2.2 + 2_000;
const CYCLES = SOAK ? 6 : 1;
const NS = "failover";

interface Replica {
  name: string;
  ccm: Ccm;
  proxy: MetalProxy;
  user: string;
}

interface Write {
  at: number;
  replica: string;
  what: string;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test({
  name:
    "leader failover: SIGKILL, SIGSTOP/SIGCONT and SIGTERM of the leader during churn; one actor at a time",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using cluster = await startTestCluster({ audit: true });
    await using bed = await Bed.start({ loadBalancer: "kube-vip://", cluster });
    const core = cluster.clients.core;
    await core.createNamespace({ body: { metadata: { name: NS } } });
    // Every Metal call takes a while, so a leader is paused or killed in the middle of its work.
    await bed.setFaults({ latencyMs: 150 });
    const replicas: Replica[] = [];
    let serial = 0;
    const start = async (): Promise<Replica> => {
      const name = `r${++serial}`;
      const proxy = new MetalProxy({ replica: name, target: bed.system.fakeApiUrl });
      const user = `ccm-${name}`;
      const kubeconfig = await cluster.userKubeconfig({ user, groups: ["system:masters"] });
      const ccm = await bed.startCcm(name, {
        args: [...ELECTION_ARGS, `--kubeconfig=${kubeconfig}`],
        env: { METAL_BASE_URL: `${proxy.url}/metal/v1` },
      });
      const replica = { name, ccm, proxy, user };
      replicas.push(replica);
      return replica;
    };
    const leads = async (r: Replica): Promise<boolean> => {
      const text = await bed.metrics(r.ccm, AbortSignal.timeout(1000)).catch(() => "");
      return /leader_election_master_status\{name="cloud-controller-manager"\} 1/.test(text);
    };
    const waitLeader = async (candidates: Replica[], timeoutMs: number): Promise<Replica> =>
      await waitFor(async () => {
        for (const r of candidates) if (await leads(r)) return r;
        return undefined;
      }, { timeoutMs, intervalMs: 100, message: `one of ${candidates.map((r) => r.name)} to lead` });

    const random = seededRandom(SEED);
    const services: TrackedService[] = [];
    let churning = true;
    const churn = (async () => {
      while (churning) {
        const live = services.filter((s) => s.state === "lb");
        if (live.length > 3 && random() < 0.3) {
          const s = live[Math.floor(random() * live.length)]!;
          s.state = "deleted";
          await core.deleteNamespacedService({ namespace: NS, name: s.name });
        } else {
          const name = `svc-${services.length}`;
          services.push({ name, state: "lb" });
          await createLbService(cluster, NS, name);
        }
        await sleep(400 + random() * 600);
      }
    })();

    const takeovers: Record<string, number[]> = { kill: [], pause: [], term: [] };
    const pauses: { replica: string; resumedAt: number }[] = [];
    try {
      let leader = await start();
      await waitLeader([leader], 30_000);
      let standby = await start();
      await waitFor(async () => (await bed.metrics(standby.ccm).catch(() => "")) !== "", {
        timeoutMs: 30_000,
        message: "the standby to serve",
      });
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        // SIGKILL: the standby waits for the lease to expire.
        await sleep(1000 + random() * 2000);
        const killedAt = Date.now();
        leader.ccm.process.signal("SIGKILL");
        leader = await waitLeader([standby], TAKEOVER_MS + 5_000);
        takeovers.kill!.push(Date.now() - killedAt);
        standby = await start();

        // SIGSTOP in the middle of a Service's sync, SIGCONT once the other replica leads.
        await sleep(1000 + random() * 2000);
        const name = `svc-${services.length}`;
        services.push({ name, state: "lb" });
        await createLbService(cluster, NS, name);
        await sleep(100 + random() * 300);
        const pausedAt = Date.now();
        leader.ccm.process.signal("SIGSTOP");
        const paused = leader;
        leader = await waitLeader([standby], TAKEOVER_MS + 5_000);
        takeovers.pause!.push(Date.now() - pausedAt);
        await sleep(2000);
        const resumedAt = Date.now();
        paused.ccm.process.signal("SIGCONT");
        pauses.push({ replica: paused.name, resumedAt });
        const status = await Promise.race([
          paused.ccm.process.exited,
          sleep(15_000).then(() => undefined),
        ]);
        assert.ok(status !== undefined, `the resumed ${paused.name} did not exit after losing its lease`);
        assert.notEqual(status.code, 0, "a replica that lost its lease exits non-zero");
        standby = await start();

        // SIGTERM: the lease is released, the standby takes over at once.
        await waitFor(async () => (await bed.metrics(standby.ccm).catch(() => "")) !== "", {
          timeoutMs: 30_000,
          message: "the new standby to serve",
        });
        await sleep(1000 + random() * 2000);
        const termAt = Date.now();
        const stopping = leader;
        stopping.ccm.process.signal("SIGTERM");
        leader = await waitLeader([standby], RETRY_MS * 2.2 + 3_000);
        takeovers.term!.push(Date.now() - termAt);
        assert.equal((await stopping.ccm.process.exited).code, 0, "SIGTERM exits 0");
        standby = await start();
      }
      churning = false;
      await churn;

      // Nothing lost: every live Service has exactly one elastic IP, in its status; deleted ones have none.
      await waitConverged(bed, NS, services, 60_000);

      // One actor at a time: writes, in time order, never go back to a replica once another one wrote.
      await bed.pollRequests();
      const writes: Write[] = [];
      for (const r of bed.requestLog) {
        const replica = replicaOf(r.userAgent);
        if (replica && r.method !== "GET") {
          writes.push({ at: Date.parse(r.time), replica, what: `${r.method} ${r.path}` });
        }
      }
      const users = new Map(replicas.map((r) => [r.user, r.name]));
      for (const e of await cluster.auditEvents()) {
        const replica = users.get(e.user.username);
        const resource = e.objectRef?.resource ?? "";
        if (!replica || ["get", "list", "watch"].includes(e.verb)) continue;
        if (resource === "leases" || resource === "events") continue;
        writes.push({
          at: Date.parse(e.requestReceivedTimestamp ?? ""),
          replica,
          what: `${e.verb} ${resource}/${e.objectRef?.name ?? ""}`,
        });
      }
      writes.sort((a, b) => a.at - b.at);
      const runs: Write[] = [];
      for (const w of writes) if (runs.at(-1)?.replica !== w.replica) runs.push(w);
      const order = runs.map((w) => w.replica);
      assert.equal(
        new Set(order).size,
        order.length,
        `writers interleaved: ${order.join(" → ")}\n${
          writes.map((w) => `${new Date(w.at).toISOString()} ${w.replica} ${w.what}`).join("\n")
        }\npauses: ${JSON.stringify(pauses)}`,
      );
      for (const p of pauses) {
        const late = writes.filter((w) => w.replica === p.replica && w.at >= p.resumedAt);
        assert.deepEqual(late, [], `${p.replica} wrote after it was resumed without the lease`);
      }
      for (const [kind, times] of Object.entries(takeovers)) {
        for (const ms of times) {
          assert.ok(
            ms <= (kind === "term" ? RETRY_MS * 2.2 + 3_000 : TAKEOVER_MS),
            `${kind} takeover ${ms} ms`,
          );
        }
      }
      // The standby started last may still be starting up.
      const metrics = await Promise.all(
        replicas.filter((r) => !r.ccm.process.hasExited).map((r) =>
          waitFor(() => bed.metrics(r.ccm), { timeoutMs: 30_000, message: `/metrics of ${r.name}` })
        ),
      );
      const scan = await bed.assertNoSecrets(metrics);
      report("failover", {
        seed: SEED,
        soak: SOAK,
        cycles: CYCLES,
        replicas: replicas.length,
        services: services.length,
        deleted: services.filter((s) => s.state === "deleted").length,
        writes: writes.length,
        writerOrder: order.join(","),
        takeoverMs: takeovers,
        scan,
      });
    } finally {
      churning = false;
      await churn.catch(() => {});
      for (const r of replicas) {
        r.ccm.process.signal("SIGCONT");
      }
      await bed.stop();
      for (const r of replicas) await r.proxy.close();
    }
  },
});
