/**
 * Item 2 — crash consistency. In MetalLB CR mode, `ccm run` is SIGKILLed at seeded random points while
 * Services are created, updated (ports), switched to ClusterIP and back, and deleted — every Metal call slowed
 * down a little so that kills land in the middle of syncs — and started again each time. Asserted once it
 * settles: exactly one tagged elastic IP per LoadBalancer Service (shown as its ingress), none for ClusterIP or
 * deleted ones, finalizers exactly on LoadBalancer Services, MetalLB pools, peers and advertisement exactly
 * those of the live Services, node BGP annotations as upstream writes them. Item 6 runs along.
 *
 * Short: 6 kills. `CCM_SOAK=1`: 36 kills.
 */
import assert from "node:assert/strict";
import type { V1Service } from "@kubernetes/client-node";
import { patchOptions } from "../../provider/kube/patch.ts";
import { applyCRDs, ensureNamespace, waitFor } from "../harness/mod.ts";
import {
  checkMetalLbCrObjects,
  listMetalLb,
  METALLB_CR_MODE,
  METALLB_CRDS,
  METALLB_NS,
} from "../loadbalancer_metallb_cr_objects.ts";
import { checkBgp } from "../loadbalancer_scenario.ts";
import { createLbService, seededRandom } from "../loadbalancer_system.ts";
import { Bed, SECRET_BGP_PASS, SEED, SOAK, type TrackedService, waitConverged } from "./bed.ts";
import { report } from "./report.ts";

const KILLS = SOAK ? 36 : 6;
const NS = "crash";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test({
  name: `crash consistency: ${KILLS} SIGKILLs of ccm run during Service create/update/delete leave no leak`,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using bed = await Bed.start({
      loadBalancer: METALLB_CR_MODE,
      async prepare(cluster) {
        await applyCRDs(cluster.clients, METALLB_CRDS);
        await ensureNamespace(cluster.clients, METALLB_NS);
      },
    });
    const { cluster } = bed;
    const core = cluster.clients.core;
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await waitFor(() => listMetalLb(bed.system, "ipaddresspools"), { message: "MetalLB CRDs served" });
    // Every Metal call takes a little while, so a kill often lands between two writes of one sync.
    await bed.setFaults({ latencyMs: 60 });
    const random = seededRandom(SEED);
    const services: TrackedService[] = [];
    const pick = (state: TrackedService["state"]) => {
      const candidates = services.filter((s) => s.state === state);
      return candidates.length === 0 ? undefined : candidates[Math.floor(random() * candidates.length)];
    };
    const setType = async (s: TrackedService, type: "LoadBalancer" | "ClusterIP") => {
      const body: V1Service = { spec: { type } };
      await core.patchNamespacedService({ namespace: NS, name: s.name, body }, patchOptions("merge"));
    };
    const operations: Record<string, number> = {};
    const op = async () => {
      const roll = random();
      let kind: string;
      if (roll < 0.4 || services.filter((s) => s.state === "lb").length < 2) {
        kind = "create";
        const s: TrackedService = { name: `svc-${services.length}`, state: "lb" };
        services.push(s);
        await createLbService(cluster, NS, s.name);
      } else if (roll < 0.55) {
        kind = "update";
        const s = pick("lb")!;
        await core.patchNamespacedService({
          namespace: NS,
          name: s.name,
          body: {
            spec: { ports: [{ name: "http", port: 81 + Math.floor(random() * 100), targetPort: 8080 }] },
          },
        }, patchOptions("merge"));
      } else if (roll < 0.7) {
        kind = "to-clusterip";
        const s = pick("lb")!;
        s.state = "clusterip";
        await setType(s, "ClusterIP");
      } else if (roll < 0.8 && pick("clusterip")) {
        kind = "to-loadbalancer";
        const s = pick("clusterip")!;
        s.state = "lb";
        await setType(s, "LoadBalancer");
      } else {
        kind = "delete";
        const s = pick("lb") ?? pick("clusterip")!;
        s.state = "deleted";
        await core.deleteNamespacedService({ namespace: NS, name: s.name });
      }
      operations[kind] = (operations[kind] ?? 0) + 1;
    };

    const killDelays: number[] = [];
    for (let round = 0; round < KILLS; round++) {
      const ccm = await bed.startCcm(`ccm-${round + 1}`);
      await bed.ready(ccm);
      const ops = 1 + Math.floor(random() * 3);
      for (let i = 0; i < ops; i++) await op();
      const delay = Math.floor(random() * 1500);
      killDelays.push(delay);
      await sleep(delay);
      await ccm.process.kill("SIGKILL");
    }
    const last = await bed.startCcm(`ccm-${KILLS + 1}`);
    await bed.ready(last);
    const convergedMs = await waitConverged(bed, NS, services, 90_000);

    const live = [];
    for (const s of services.filter((x) => x.state === "lb")) {
      const svc = await bed.system.service(NS, s.name);
      live.push({ namespace: NS, name: s.name, ip: svc!.status!.loadBalancer!.ingress![0]!.ip! });
    }
    await checkMetalLbCrObjects(bed.system, live, { bgpPass: SECRET_BGP_PASS, timeoutMs: 60_000 });
    await checkBgp(bed.system, SECRET_BGP_PASS);
    const logs = await Promise.all(bed.ccms.map((c) => Deno.readTextFile(c.process.logPath)));
    const reserved = logs.join("\n").split("\n").filter((l) => l.includes('"Reserved elastic IP"')).length;
    assert.ok(reserved >= live.length, `${reserved} reservations made for ${live.length} live Services`);

    const scan = await bed.assertNoSecrets([await bed.metrics(last)]);
    report("crash", {
      seed: SEED,
      soak: SOAK,
      kills: KILLS,
      killDelayMsMax: Math.max(...killDelays),
      operations,
      services: services.length,
      live: live.length,
      reservedOverall: reserved,
      convergedMs,
      leaks: 0,
      scan,
    });
  },
});
