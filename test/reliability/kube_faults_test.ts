/**
 * Item 4 — Kubernetes faults, in MetalLB ConfigMap mode with leader election on: kube-apiserver restarted in
 * the middle of Service churn; watches expired (the CCM paused while Services change, etcd compacted, the API
 * server restarted — its watches resume from a compacted resourceVersion and get 410 Gone; the API server runs
 * without watch cache so compaction is visible); conflicts (409) on updates, from a user editing the MetalLB
 * ConfigMap and a kubelet updating joining Nodes all the time. Asserted: the same `ccm run` process resumes and
 * converges each time; 410 led to a re-list; 409s happened and were retried; no duplicate work: one
 * reservation request per Service ever created, one initialization per Node, the user's ConfigMap entries kept.
 */
import assert from "node:assert/strict";
import { parseConfigFile, serializeConfigFile } from "../../metal/loadbalancers/metallb/config_file.ts";
import { patchOptions } from "../../provider/kube/patch.ts";
import { ensureNamespace, startTestCluster, UNINITIALIZED_TAINT, waitFor } from "../harness/mod.ts";
import { createLbService, PROJECT_ID } from "../loadbalancer_system.ts";
import { Bed, CCM_USER_AGENT, SEED, type TrackedService, waitConverged } from "./bed.ts";
import { report } from "./report.ts";

const NS = "kubefaults";
const MLB_NS = "metallb-system";
const CM = "config";
const userPool = (n: number) => ({
  name: "user-pool",
  protocol: "layer2",
  addresses: [`198.51.100.${n % 250}/32`],
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test({
  name:
    "Kubernetes faults: API server restart, expired watches (410) and conflicts (409); resumes, no duplicate work",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using cluster = await startTestCluster({ audit: true, apiserverArgs: ["--watch-cache=false"] });
    await using bed = await Bed.start({
      loadBalancer: `metallb:///${MLB_NS}/${CM}`,
      cluster,
      async prepare(c) {
        await ensureNamespace(c.clients, MLB_NS);
        await c.clients.core.createNamespacedConfigMap({
          namespace: MLB_NS,
          body: {
            metadata: { name: CM, namespace: MLB_NS },
            data: { config: serializeConfigFile({ addressPools: [userPool(0)] } as never) },
          },
        });
      },
    });
    const core = cluster.clients.core;
    await core.createNamespace({ body: { metadata: { name: NS } } });
    const ccm = await bed.startCcm("ccm", {
      args: [
        "--leader-elect=true",
        "--leader-elect-lease-duration=60s",
        "--leader-elect-renew-deadline=40s",
        "--leader-elect-retry-period=2s",
      ],
    });
    await bed.ready(ccm);
    const services: TrackedService[] = [];
    const create = async () => {
      const s: TrackedService = { name: `svc-${services.length}`, state: "lb" };
      services.push(s);
      await createLbService(cluster, NS, s.name);
    };
    const remove = async (s: TrackedService) => {
      s.state = "deleted";
      await core.deleteNamespacedService({ namespace: NS, name: s.name });
    };
    const joined: string[] = [];
    const join = async (options: { deviceAdded?: boolean } = {}) => {
      const hostname = `kf-join-${joined.length}`;
      joined.push(hostname);
      if (!options.deviceAdded) await bed.addDevice(hostname);
      await bed.joinNode(hostname);
    };
    const nodesInitialized = async () => {
      const out: string[] = [];
      for (const h of joined) {
        const node = await bed.system.node(h).catch(() => undefined);
        const tainted = (node?.spec?.taints ?? []).some((x) => x.key === UNINITIALIZED_TAINT.key);
        if (!node?.spec?.providerID || tainted) out.push(`${h} not initialized`);
      }
      return out;
    };
    const alive = () => assert.equal(ccm.process.hasExited, false, "the same ccm process keeps running");
    const timings: Record<string, number> = {};

    for (let i = 0; i < 3; i++) await create();
    await waitConverged(bed, NS, services, 60_000);

    await t.step("kube-apiserver restarted in the middle of churn", async () => {
      await create();
      await create();
      await remove(services[0]!);
      await join();
      await cluster.restartApiserver();
      await create();
      await join();
      timings.restart = await waitConverged(bed, NS, services, 60_000, nodesInitialized);
      alive();
    });

    await t.step("watches resumed from a compacted resourceVersion get 410 and list again", async () => {
      const before = (await Deno.readTextFile(ccm.process.logPath)).split("\n").length;
      ccm.process.signal("SIGSTOP");
      try {
        await create();
        await remove(services[1]!);
        await join();
        await sleep(500);
        await cluster.compactEtcd();
        await cluster.restartApiserver();
      } finally {
        ccm.process.signal("SIGCONT");
      }
      timings.expired = await waitConverged(bed, NS, services, 60_000, nodesInitialized);
      const after = (await Deno.readTextFile(ccm.process.logPath)).split("\n").slice(before - 1);
      const relists = after.filter((l) => l.includes("Watch expired; listing again"));
      assert.ok(relists.length > 0, "the CCM saw 410 Gone and listed again");
      timings.relists = relists.length;
      alive();
    });

    await t.step(
      "conflicts (409) from a user editing the MetalLB ConfigMap and kubelets updating Nodes",
      async () => {
        let writing = true;
        let edits = 0;
        const user = (async () => {
          while (writing) {
            try {
              const cm = await core.readNamespacedConfigMap({ namespace: MLB_NS, name: CM });
              const cfg = parseConfigFile(cm.data?.config ?? "");
              const pools = (cfg.addressPools ?? []).filter((p) => p.name !== "user-pool");
              cfg.addressPools = [userPool(edits + 1), ...pools] as typeof cfg.addressPools;
              await core.replaceNamespacedConfigMap({
                namespace: MLB_NS,
                name: CM,
                body: { ...cm, data: { ...cm.data, config: serializeConfigFile(cfg) } },
              });
              edits++;
            } catch {
              // our own conflict with the CCM: read again
            }
            await sleep(20);
          }
        })();
        // Devices first, and longer ago than the device cache's miss refresh (5 s): node initialization gets
        // to its Node patch at once, in the middle of the kubelets' updates.
        for (let i = 0; i < 3; i++) await bed.addDevice(`kf-join-${joined.length + i}`);
        await sleep(6000);
        // Hand-written kubelet updates rather than kwok's: the point is a write to the same Node in the same
        // instant as ccm's patch, as often as possible, which kwok's timed stages do not do.
        const kubelet = (async () => {
          let beat = 0;
          while (writing) {
            for (const h of joined) {
              await core.patchNode(
                { name: h, body: { metadata: { annotations: { "test/heartbeat": String(beat++) } } } },
                patchOptions("merge"),
              ).catch(() => {});
            }
            await sleep(100);
          }
        })();
        try {
          for (let i = 0; i < 3; i++) {
            await create();
            await join({ deviceAdded: true });
            await sleep(300);
          }
          await remove(services[2]!);
          await sleep(3000);
        } finally {
          writing = false;
          await Promise.all([user, kubelet]);
        }
        timings.conflicts = await waitConverged(bed, NS, services, 60_000, nodesInitialized);
        const readConfig = async () =>
          parseConfigFile(
            (await core.readNamespacedConfigMap({ namespace: MLB_NS, name: CM })).data?.config ?? "",
          );
        const live = services.filter((s) => s.state === "lb").map((s) => `${NS}/${s.name}`).sort();
        const servicePools = (cfg: Awaited<ReturnType<typeof readConfig>>) =>
          (cfg.addressPools ?? []).filter((p) => p.name !== "user-pool").map((p) => p.name).sort();
        // A removed Service's pool goes once the Service itself is gone (MetalLB 0.12 keeps the address until
        // then and refuses a config without it), a poll after its finalizer was removed.
        const cfg = await waitFor(async () => {
          const cfg = await readConfig();
          return JSON.stringify(servicePools(cfg)) === JSON.stringify(live) ? cfg : undefined;
        }, { timeoutMs: 30_000, message: "ccm's pools to be those of the live Services" }).catch(
          async (err) => {
            assert.deepEqual(servicePools(await readConfig()), live);
            throw err;
          },
        );
        const pools = cfg.addressPools ?? [];
        assert.deepEqual(pools.find((p) => p.name === "user-pool")?.addresses, userPool(edits).addresses);
        assert.equal(
          new Set((cfg.peers ?? []).map((p) => JSON.stringify(p))).size,
          (cfg.peers ?? []).length,
          "no peer twice",
        );
        timings.userEdits = edits;
        alive();
      },
    );

    // 409s happened to the CCM's writes, and were retried.
    const audit = await cluster.auditEvents();
    const ccmWrites = audit.filter((e) =>
      e.userAgent?.startsWith("ccm/") && !["get", "list", "watch"].includes(e.verb)
    );
    const conflicts = ccmWrites.filter((e) => e.responseStatus?.code === 409);
    assert.ok(conflicts.length > 0, "the CCM met conflicts");
    // No duplicate work: one reservation request per Service, one initialization per Node.
    await bed.pollRequests();
    const creates = bed.requestLog.filter((r) =>
      r.userAgent.startsWith(CCM_USER_AGENT) && r.method === "POST" &&
      r.path === `/metal/v1/projects/${PROJECT_ID}/ips` && r.status === 201
    );
    assert.equal(creates.length, services.length, "one reservation per Service ever created");
    const log = await Deno.readTextFile(ccm.process.logPath);
    for (const h of joined) {
      const inits = log.split("\n").filter((l) =>
        l.includes('"Initialized node"') && l.includes(`node="${h}"`)
      );
      assert.equal(inits.length, 1, `${h} initialized once`);
    }
    const scan = await bed.assertNoSecrets([await bed.metrics(ccm)]);
    report("kube-faults", {
      seed: SEED,
      apiserverRestarts: 2,
      services: services.length,
      nodesJoined: joined.length,
      conflictsMet: conflicts.length,
      conflictsByResource: Object.fromEntries(
        [...new Set(conflicts.map((e) => e.objectRef?.resource ?? ""))].map((r) => [
          r,
          conflicts.filter((e) => (e.objectRef?.resource ?? "") === r).length,
        ]),
      ),
      ccmWrites: ccmWrites.length,
      timingsMs: timings,
      scan,
    });
  },
});
