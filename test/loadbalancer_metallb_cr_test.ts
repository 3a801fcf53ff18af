/**
 * MetalLB CR mode (`metallb:///metallb-system?crdConfiguration=true`) end to end: real kube-apiserver with the
 * project's minimal MetalLB CRDs, real `ccm fake-api`, `ccm run` processes.
 */
import { deepEqual } from "node:assert/strict";
import { applyCRDs, ensureNamespace, waitFor } from "./harness/mod.ts";
import {
  canonical,
  checkReservations,
  clusterIdOf,
  privateNetworkOf,
  runScenario,
  type UpService,
} from "./loadbalancer_scenario.ts";
import { HOSTNAMES, type LbSystem, PROJECT_ID, startLbSystem } from "./loadbalancer_system.ts";

const NS = "metallb-system";
const OWNED = { "cloud-provider": "equinix-metal" };
const BGP_PASS = "Secret123abc";
const CRDS = await Deno.readTextFile(new URL("./fixtures/metallb-crds.yaml", import.meta.url));

interface Obj {
  metadata: { name: string; labels?: Record<string, string> };
  // deno-lint-ignore no-explicit-any
  spec: any;
}

async function list(system: LbSystem, plural: string): Promise<Obj[]> {
  const body = await system.cluster.clients.custom.listNamespacedCustomObject({
    group: "metallb.io",
    version: "v1beta1",
    namespace: NS,
    plural,
  });
  return (body as { items: Obj[] }).items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

const shape = (objs: Obj[]) =>
  objs.map((o) => ({ name: o.metadata.name, labels: o.metadata.labels, spec: o.spec }));

/** The objects upstream §4.8 specifies for these live Services (service selectors sorted by namespace, name). */
async function expected(system: LbSystem, live: UpService[]) {
  const sorted = [...live].sort((a, b) =>
    `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`)
  );
  const pools = live.map((s) => ({
    name: `${s.namespace}.${s.name}`,
    labels: { ...OWNED, [`service-${s.name}`]: `namespace-${s.namespace}` },
    spec: { addresses: [`${s.ip}/32`], autoAssign: false },
  })).sort((a, b) => a.name.localeCompare(b.name));
  const peers = [];
  if (live.length > 0) {
    for (const hostname of [...HOSTNAMES].sort()) {
      const { address } = await privateNetworkOf(system, hostname);
      for (const [i, peerAddress] of ["169.254.255.1", "169.254.255.2"].entries()) {
        peers.push({
          name: `${hostname}-${i}`,
          labels: OWNED,
          spec: {
            myASN: 65000,
            peerASN: 65530,
            peerAddress,
            sourceAddress: address,
            peerPort: 179,
            holdTime: "0s",
            keepaliveTime: "0s",
            nodeSelectors: [
              { matchLabels: { "kubernetes.io/hostname": hostname } },
              ...sorted.map((s) => ({
                matchLabels: {
                  "nomatch.metal.equinix.com/service-namespace": s.namespace,
                  "nomatch.metal.equinix.com/service-name": s.name,
                },
              })),
            ],
            password: BGP_PASS,
          },
        });
      }
    }
  }
  return { pools, peers };
}

Deno.test({
  name:
    "MetalLB CR mode: EIPs, BGP, IPAddressPools, BGPPeers and the BGPAdvertisement survive restarts and faults",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using system = await startLbSystem({
      loadBalancer: `metallb:///${NS}?crdConfiguration=true`,
      env: { METAL_BGP_PASS: BGP_PASS },
      async prepare(cluster) {
        await applyCRDs(cluster.clients, CRDS);
        await ensureNamespace(cluster.clients, NS);
      },
    });
    await waitFor(async () => {
      for (const plural of ["ipaddresspools", "bgpadvertisements", "bgppeers"]) await list(system, plural);
      return true;
    }, { message: "MetalLB CRDs to serve requests", timeoutMs: 20_000 });
    const clusterId = await clusterIdOf(system);
    await runScenario(t, system, {
      bgp: true,
      bgpPass: BGP_PASS,
      faultPath: `/metal/v1/projects/${PROJECT_ID}/ips`,
      resourcesOf: (s, namespace, name) => s.reservationsOf(namespace, name),
      async checkObjects(s, live) {
        await checkReservations(s, live, clusterId);
        const want = await expected(s, live);
        // Objects follow Service changes asynchronously (peers after the pool): wait for them to settle.
        await waitFor(async () => {
          const pools = shape(await list(s, "ipaddresspools"));
          const peers = shape(await list(s, "bgppeers"));
          return canonical(pools) === canonical(want.pools) && canonical(peers) === canonical(want.peers);
        }, { timeoutMs: 30_000, message: "MetalLB pools and peers" }).catch(async (err) => {
          deepEqual(shape(await list(s, "ipaddresspools")), want.pools);
          deepEqual(shape(await list(s, "bgppeers")), want.peers);
          throw err;
        });
        const advertisements = shape(await list(s, "bgpadvertisements"));
        deepEqual(
          advertisements.map((a) => ({ ...a, spec: { ipAddressPools: [...a.spec.ipAddressPools].sort() } })),
          live.length === 0 ? [] : [{
            name: "equinix-metal-bgp-adv",
            labels: OWNED,
            spec: { ipAddressPools: want.pools.map((p) => p.name) },
          }],
        );
        for (const svc of live) {
          const service = await s.service(svc.namespace, svc.name);
          deepEqual(
            service?.metadata?.annotations?.["metallb.universe.tf/address-pool"],
            `${svc.namespace}.${svc.name}`,
          );
          deepEqual(service?.spec?.loadBalancerIP, undefined, "status-based: no spec.loadBalancerIP");
        }
      },
    });
  },
});
