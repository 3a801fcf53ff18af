/**
 * The real MetalLB controller (v0.15.2; see test/metallb_real.ts) with its webhooks in FRR mode
 * (`METALLB_BGP_TYPE=frr`, the Helm chart's default), which deny a second BGPPeer with the same peer address,
 * judges ccm's CR mode with several BGP nodes: with no setting (`auto`) ccm must end with one admitted BGPPeer
 * per router selecting every node, and MetalLB must give each Service exactly its Elastic IP; a cluster with
 * upstream's per-node peers (native MetalLB) must converge to that layout once MetalLB runs FRR, also with no
 * setting and nothing else changing.
 */
import { deepEqual, equal } from "node:assert/strict";
import { applyCRDs, createNode, ensureNamespace, waitFor } from "./harness/mod.ts";
import { METALLB_CR_MODE, METALLB_NS } from "./loadbalancer_metallb_cr_objects.ts";
import { createLbService, type LbSystem, startLbSystem } from "./loadbalancer_system.ts";
import { type MetalLbController, metalLbCrds, startMetalLbController } from "./metallb_real.ts";
import { assertNoConfigErrors, TIMEOUT_MS, waitMetalLbAllocated } from "./metallb_real_checks.ts";

const BGP_PASS = "Secret123abc";
const HOSTS = ["frr-node-a", "frr-node-b", "frr-node-c"];
/** The simulator's Equinix routers. */
const ROUTERS = ["169.254.255.1", "169.254.255.2"];
/** MetalLB's denial of a duplicate peer address in FRR mode. */
const DUPLICATE_DENIAL = "FRR mode doesn't support duplicate BGPPeers";

interface Peer {
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    peerAddress: string;
    sourceAddress?: string;
    nodeSelectors?: {
      matchLabels?: Record<string, string>;
      matchExpressions?: { key: string; operator: string; values: string[] }[];
    }[];
  };
}

async function peers(system: LbSystem): Promise<Peer[]> {
  const body = await system.cluster.clients.custom.listNamespacedCustomObject({
    group: "metallb.io",
    version: "v1beta2",
    namespace: METALLB_NS,
    plural: "bgppeers",
  });
  return (body as { items: Peer[] }).items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** Peer name → the nodes its `kubernetes.io/hostname` selectors pick. */
function layout(list: Peer[]): Record<string, string[]> {
  return Object.fromEntries(list.map((p) => [
    p.metadata.name,
    (p.spec.nodeSelectors ?? []).flatMap((s) => [
      ...Object.entries(s.matchLabels ?? {}).filter(([k]) => k === "kubernetes.io/hostname").map(([, v]) =>
        v
      ),
      ...(s.matchExpressions ?? []).filter((e) => e.key === "kubernetes.io/hostname").flatMap((e) =>
        e.values
      ),
    ]),
  ]));
}

/** The shared layout over `hosts`: one peer per router selecting every node. */
const sharedLayout = (hosts: string[]) =>
  Object.fromEntries(ROUTERS.map((ip) => [`equinix-metal.${ip}`, [...hosts].sort()]));

async function waitLayout(system: LbSystem, want: Record<string, string[]>, what: string): Promise<Peer[]> {
  let last: Record<string, string[]> = {};
  try {
    return await waitFor(async () => {
      const list = await peers(system);
      last = layout(list);
      return JSON.stringify(last) === JSON.stringify(want) ? list : undefined;
    }, { timeoutMs: TIMEOUT_MS, message: what });
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : err}; BGPPeers: ${JSON.stringify(last)}`);
  }
}

/** MetalLB's webhook lines that denied a duplicate peer address. */
async function denials(metallb: MetalLbController): Promise<number> {
  return (await metallb.log()).filter((l) =>
    l.webhook === "bgppeer" && String(l.error ?? "").includes(DUPLICATE_DENIAL)
  ).length;
}

async function startSystem(): Promise<LbSystem> {
  const crds = await metalLbCrds();
  return await startLbSystem({
    loadBalancer: METALLB_CR_MODE,
    hostnames: HOSTS,
    env: { METAL_BGP_PASS: BGP_PASS },
    async prepare(cluster) {
      await applyCRDs(cluster.clients, crds);
      await ensureNamespace(cluster.clients, METALLB_NS);
    },
  });
}

/** Creates `default/<name>` and waits until MetalLB allocated it the Elastic IP ccm reserved. */
async function serviceWithEip(system: LbSystem, name: string): Promise<string> {
  await createLbService(system.cluster, "default", name);
  const [ip] = await system.ingress("default", name, TIMEOUT_MS);
  const reserved = await system.reservationsOf("default", name);
  deepEqual(reserved.map((r) => r.address), [ip], `ingress of default/${name} is its reserved Elastic IP`);
  await waitMetalLbAllocated(system, "default", name, ip!);
  return ip!;
}

Deno.test({
  name: "real MetalLB in FRR mode: with no setting ccm ends with every node peered by admitted BGPPeers",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using system = await startSystem();
    const metallb = await startMetalLbController({
      cluster: system.cluster,
      namespace: METALLB_NS,
      logPath: `${system.dir}/metallb-controller.log`,
      webhooks: { bgpType: "frr" },
    });
    try {
      await system.startCcm();
      const ips: Record<string, string> = {};

      await t.step(
        "one BGPPeer per router selects every node; MetalLB allocates the Elastic IPs",
        async () => {
          ips.web = await serviceWithEip(system, "web");
          ips.api = await serviceWithEip(system, "api");
          const list = await waitLayout(system, sharedLayout(HOSTS), "ccm's shared BGPPeers");
          for (const p of list) {
            deepEqual(p.metadata.labels, { "cloud-provider": "equinix-metal" });
            equal(p.spec.sourceAddress, undefined, `${p.metadata.name} has no per-node sourceAddress`);
          }
          await assertNoConfigErrors(metallb);
        },
      );

      await t.step("ccm detected FRR from MetalLB's denial once, with a Warning Event", async () => {
        const events = await system.cluster.clients.core.listNamespacedEvent({
          namespace: "default",
          fieldSelector: "reason=MetalLBFRRModeDetected",
        });
        equal(events.items.length, 1, "one detection Event");
        equal(events.items[0]?.count ?? 1, 1);
        equal(await denials(metallb) >= 1, true, "MetalLB denied the per-node layout's duplicate");
      });

      await t.step("a node leaves and joins: the peers follow, MetalLB denies nothing more", async () => {
        const before = await denials(metallb);
        const gone = await system.node("frr-node-b");
        await system.cluster.clients.core.deleteNode({ name: "frr-node-b" });
        await waitLayout(system, sharedLayout(["frr-node-a", "frr-node-c"]), "the node to leave the peers");
        await createNode(system.cluster.clients, "frr-node-b", {
          labels: gone.metadata?.labels,
          providerID: gone.spec?.providerID,
          addresses: gone.status?.addresses,
        });
        await waitLayout(system, sharedLayout(HOSTS), "the node to rejoin the peers");
        equal(await denials(metallb), before, "no new denial");
        for (const [name, ip] of Object.entries(ips)) await waitMetalLbAllocated(system, "default", name, ip);
        await assertNoConfigErrors(metallb);
      });
    } finally {
      await metallb.stop();
    }
  },
});

Deno.test({
  name: "real MetalLB reinstalled native → FRR: ccm with no setting replaces upstream's per-node BGPPeers",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using system = await startSystem();
    const log = (n: string) => `${system.dir}/metallb-${n}.log`;
    const native = await startMetalLbController({
      cluster: system.cluster,
      namespace: METALLB_NS,
      logPath: log("native"),
      webhooks: { bgpType: "native" },
    });
    let ip = "";
    try {
      const ccm = await system.startCcmProcess({
        name: "ccm-native",
        env: { METAL_METALLB_BGP_TYPE: "native" },
      });
      ip = await serviceWithEip(system, "web");
      const perNode = Object.fromEntries(
        HOSTS.flatMap((h) => ROUTERS.map((_, i) => [`${h}-${i}`, [h]])),
      );
      const list = await waitLayout(system, perNode, "upstream's per-node BGPPeers");
      equal(list.every((p) => p.spec.sourceAddress !== undefined), true, "sourced from each node's IP");
      await ccm.kill("SIGTERM");
    } finally {
      await native.stop();
    }
    const frr = await startMetalLbController({
      cluster: system.cluster,
      namespace: METALLB_NS,
      logPath: log("frr"),
      webhooks: { bgpType: "frr" },
    });
    try {
      // No setting: ccm finds upstream's layout and asks MetalLB's webhook about it with a dry run.
      await system.startCcmProcess({ name: "ccm-auto" });
      await waitLayout(system, sharedLayout(HOSTS), "the shared BGPPeers to replace the per-node ones");
      await waitMetalLbAllocated(system, "default", "web", ip);
      const services = await system.cluster.clients.core.listNamespacedService({ namespace: "default" });
      equal(services.items.filter((s) => s.spec?.type === "LoadBalancer").length, 1);
      await assertNoConfigErrors(frr);
    } finally {
      await frr.stop();
    }
  },
});
