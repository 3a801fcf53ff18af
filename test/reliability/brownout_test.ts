/**
 * Item 1 — API brownout. While the simulator answers a mix of 500s, 429s with `Retry-After` (its rate limit and
 * scripted ones) and hangs past the client's 30 s timeout, nodes join, devices are deleted and Services are
 * created, updated and deleted. Then the faults stop. Asserted: no Node whose device still exists is ever
 * deleted; within 60 s every Service converges (one tagged elastic IP each, in its status; none for deleted
 * Services), joined nodes are initialized and nodes of deleted devices removed; every `Retry-After` was
 * waited out (request log); the CCM's request rate stayed within its client-side limiter (10/s, burst 20).
 * Item 6 runs along: no secret in any output.
 *
 * Short by default; `CCM_SOAK=1` for the long variant (`CCM_TEST_SEED` changes the seed).
 */
import assert from "node:assert/strict";
import { patchOptions } from "../../provider/kube/patch.ts";
import { setNodeReady, UNINITIALIZED_TAINT } from "../harness/mod.ts";
import { createLbService, PROJECT_ID, seededRandom } from "../loadbalancer_system.ts";
import { Bed, type Ccm, NodeWatcher, SEED, SOAK, type TrackedService, waitConverged } from "./bed.ts";
import { peakCount, rateViolations, retryAfterViolations } from "./request_checks.ts";
import { report } from "./report.ts";

const P = SOAK
  ? {
    devices: 6,
    initial: 10,
    creates: 14,
    updates: 8,
    deletes: 8,
    joins: 4,
    deviceDeletes: 3,
    brownoutMs: 240_000,
  }
  : {
    devices: 3,
    initial: 4,
    creates: 4,
    updates: 2,
    deletes: 2,
    joins: 2,
    deviceDeletes: 1,
    brownoutMs: 40_000,
  };
/** A hang longer than the client's 30 s per-attempt timeout. */
const HANG_MS = 31_000;
/** Hangs start at these offsets (ms into the brownout) and last 5 s, while churn is under way; each ends a
 * hang before the faults stop. */
const SPIKES = SOAK ? [2_000, 80_000, 160_000] : [2_000];
const SPIKE_MS = 5_000;
const ERROR_RATE = 0.25;
/** Simulator requests per second; the CCM's own limit is 10/s with bursts of 20, so bursts get 429s. */
const SERVER_RATE_LIMIT = 6;
const CONVERGE_MS = 60_000;
const NS = "brownout";
const hostnames = Array.from({ length: P.devices }, (_, i) => `bo-node-${i}`);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test({
  name:
    "API brownout: no healthy node deleted, Services converge within 60 s, Retry-After and rate limit held",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using bed = await Bed.start({ loadBalancer: "kube-vip://", hostnames });
    const { cluster } = bed;
    const core = cluster.clients.core;
    // NotReady nodes are checked against the API every monitor period: the riskiest state to be in.
    for (const h of hostnames) await setNodeReady(cluster.clients, h, false);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    const ccm: Ccm = await bed.startCcm("ccm", { args: ["--concurrent-service-syncs=4"] });
    bed.startPolling();
    const watcher = new NodeWatcher(cluster);
    const random = seededRandom(SEED);
    const services: TrackedService[] = [];
    const deviceIds: Record<string, string> = { ...bed.system.deviceIds };
    const joined: string[] = [];
    const deletedDevices = new Map<string, number>();
    try {
      for (let i = 0; i < P.initial; i++) {
        services.push({ name: `svc-${i}`, state: "lb" });
        await createLbService(cluster, NS, `svc-${i}`);
      }
      for (const s of services) await bed.system.ingress(NS, s.name, 60_000);

      // The churn, in seeded order, spread over the first 80 % of the brownout.
      const ops: Array<() => Promise<void>> = [];
      for (let i = 0; i < P.creates; i++) {
        ops.push(async () => {
          const name = `svc-${services.length}`;
          services.push({ name, state: "lb" });
          await createLbService(cluster, NS, name);
        });
      }
      for (let i = 0; i < P.updates; i++) {
        ops.push(async () => {
          const live = services.filter((s) => s.state === "lb");
          const s = live[Math.floor(random() * live.length)]!;
          await core.patchNamespacedService({
            namespace: NS,
            name: s.name,
            body: {
              spec: { ports: [{ name: "http", port: 80 + 1 + i, targetPort: 8080, protocol: "TCP" }] },
            },
          }, patchOptions("merge"));
        });
      }
      for (let i = 0; i < P.deletes; i++) {
        ops.push(async () => {
          const live = services.filter((s) => s.state === "lb");
          const s = live[Math.floor(random() * live.length)]!;
          s.state = "deleted";
          await core.deleteNamespacedService({ namespace: NS, name: s.name });
        });
      }
      for (let i = 0; i < P.joins; i++) {
        ops.push(async () => {
          const hostname = `bo-join-${i}`;
          deviceIds[hostname] = await bed.addDevice(hostname);
          joined.push(hostname);
          await bed.joinNode(hostname, { ready: false });
        });
      }
      for (let i = 0; i < P.deviceDeletes; i++) {
        ops.push(async () => {
          const candidates = hostnames.filter((h) => !deletedDevices.has(h));
          const h = candidates[Math.floor(random() * candidates.length)]!;
          deletedDevices.set(h, Date.now());
          await bed.deleteDevice(deviceIds[h]!);
        });
      }
      for (let i = ops.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [ops[i], ops[j]] = [ops[j]!, ops[i]!];
      }

      const start = Date.now();
      const at = (offset: number) => sleep(Math.max(0, start + offset - Date.now()));
      await bed.setFaults({ errorRate: ERROR_RATE, rateLimit: SERVER_RATE_LIMIT });
      const spikes = (async () => {
        for (const offset of SPIKES) {
          await at(offset);
          await bed.setFaults({ latencyMs: HANG_MS });
          await sleep(SPIKE_MS);
          await bed.setFaults({ latencyMs: 0 });
        }
      })();
      const scripted = (async () => {
        // 429s and 503s with longer Retry-After on the paths the CCM uses most.
        for (let offset = 5_000; offset < P.brownoutMs - 10_000; offset += 10_000) {
          await at(offset);
          await bed.script({
            path: `/metal/v1/projects/${PROJECT_ID}/ips`,
            status: 429,
            count: 2,
            retryAfter: 2,
          });
          await bed.script({ path: "/metal/v1/devices/", status: 503, count: 2, retryAfter: 1 });
          await bed.script({ path: `/metal/v1/projects/${PROJECT_ID}/devices`, status: 502, count: 2 });
        }
      })();
      const span = P.brownoutMs * 0.8;
      for (const [i, op] of ops.entries()) {
        await at(2_500 + (span - 2_500) * i / ops.length);
        await op();
      }
      await Promise.all([spikes, scripted]);
      await at(P.brownoutMs);
      await bed.clearFaults();
      const stoppedAt = Date.now();

      // Convergence within 60 s of the stop.
      const nodeProblems = async (): Promise<string[]> => {
        const out: string[] = [];
        for (const h of joined) {
          const node = await bed.system.node(h).catch(() => undefined);
          const tainted = (node?.spec?.taints ?? []).some((t) => t.key === UNINITIALIZED_TAINT.key);
          if (!node?.spec?.providerID || tainted) out.push(`${h} not initialized`);
        }
        for (const h of deletedDevices.keys()) {
          if (await bed.system.node(h).then(() => true, () => false)) {
            out.push(`node ${h} of a deleted device`);
          }
        }
        return out;
      };
      await waitConverged(bed, NS, services, CONVERGE_MS, nodeProblems);
      const convergedMs = Date.now() - stoppedAt;
      await watcher.stop();

      // No Node deleted while its device existed.
      for (const [name, goneAt] of watcher.gone) {
        const deviceGoneAt = deletedDevices.get(name);
        assert.ok(
          deviceGoneAt !== undefined && deviceGoneAt <= goneAt,
          `node ${name} deleted with its device`,
        );
      }
      assert.equal(watcher.gone.size, deletedDevices.size);

      await bed.stopPolling();
      const requests = bed.ccmRequests();
      const during = requests.filter((r) => Date.parse(r.time) >= start && Date.parse(r.time) <= stoppedAt);
      const count = (pick: (r: typeof requests[number]) => boolean) => during.filter(pick).length;
      const stats = {
        requests: requests.length,
        duringBrownout: during.length,
        status500: count((r) => r.status === 500),
        status502or503: count((r) => r.status === 502 || r.status === 503),
        status429: count((r) => r.status === 429),
        hung: count((r) => r.durationMs >= HANG_MS),
        peakPerSecond: peakCount(requests, 1000),
        convergedMs,
      };
      assert.ok(
        stats.status500 > 0 && stats.status502or503 > 0 && stats.status429 > 0 && stats.hung > 0,
        JSON.stringify(stats),
      );

      // Retry-After waited out (429 from the rate limit: 1 s; scripted 429/503: 2 s/1 s).
      const early = retryAfterViolations(requests);
      assert.equal(
        early.length,
        0,
        `${early.length} requests sent before a Retry-After had passed (${stats.status429} 429s during the brownout): ${
          JSON.stringify(early.slice(0, 5))
        }`,
      );
      // The client-side limiter (10/s, burst 20) held; 2 requests of slack for arrival jitter.
      assert.deepEqual(
        rateViolations(requests, { qps: 10, burst: 20, slack: 2, windowsMs: [1000, 2000, 5000, 10_000] }),
        [],
      );
      const metrics = await bed.metrics(ccm);
      assert.match(metrics, /cloudprovider_equinixmetal_api_rate_limit_waits_total\{[^}]*\} [1-9]/);

      const scan = await bed.assertNoSecrets([metrics]);
      report("brownout", { seed: SEED, soak: SOAK, ...P, ...stats, scan });
    } finally {
      await watcher.stop();
    }
  },
});
