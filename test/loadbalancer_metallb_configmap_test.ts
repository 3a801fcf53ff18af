/**
 * MetalLB ConfigMap mode (`metallb:///metallb-system/config`, MetalLB ≤ 0.12) end to end: real kube-apiserver,
 * real `ccm fake-api`, `ccm run` processes.
 */
import { deepEqual } from "node:assert/strict";
import { parseConfigFile } from "../metal/loadbalancers/metallb/config_file.ts";
import { ensureNamespace, waitFor } from "./harness/mod.ts";
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
const CM = "config";
/** A user's own entries, which must survive untouched. */
const USER_CONFIG = `address-pools:
- name: user-pool
  protocol: layer2
  addresses: [198.51.100.0/28]
`;

async function readConfig(system: LbSystem) {
  const cm = await system.cluster.clients.core.readNamespacedConfigMap({ name: CM, namespace: NS });
  return parseConfigFile(cm.data?.config ?? "");
}

/** Pools and peers upstream's metal/loadbalancers/metallb/configmap.go specifies for these live Services. */
async function expected(system: LbSystem, live: UpService[]) {
  const user = parseConfigFile(USER_CONFIG);
  const pools = [
    ...user.addressPools ?? [],
    ...live.map((s) => ({
      protocol: "bgp",
      name: `${s.namespace}/${s.name}`,
      addresses: [`${s.ip}/32`],
      avoidBuggyIPs: false,
      autoAssign: false,
      bgpAdvertisements: null,
    })).sort((a, b) => a.name.localeCompare(b.name)),
  ];
  const sorted = [...live].sort((a, b) =>
    `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`)
  );
  const peers = [];
  if (live.length > 0) {
    for (const hostname of [...HOSTNAMES].sort()) {
      const { address } = await privateNetworkOf(system, hostname);
      for (const peerAddress of ["169.254.255.1", "169.254.255.2"]) {
        peers.push({
          myASN: 65000,
          peerASN: 65530,
          peerAddress,
          peerPort: 0,
          sourceAddress: address,
          holdTime: "",
          routerID: "",
          nodeSelectors: [
            { matchLabels: { "kubernetes.io/hostname": hostname }, matchExpressions: null },
            ...sorted.map((s) => ({
              matchLabels: {
                "nomatch.metal.equinix.com/service-name": s.name,
                "nomatch.metal.equinix.com/service-namespace": s.namespace,
              },
              matchExpressions: null,
            })),
          ],
          password: "",
          name: "",
        });
      }
    }
  }
  return { pools, peers };
}

Deno.test({
  name: "MetalLB ConfigMap mode: EIPs, BGP, pools and peers in the config survive restarts and faults",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using system = await startLbSystem({
      loadBalancer: `metallb:///${NS}/${CM}`,
      async prepare(cluster) {
        await ensureNamespace(cluster.clients, NS);
        await cluster.clients.core.createNamespacedConfigMap({
          namespace: NS,
          body: { metadata: { name: CM, namespace: NS }, data: { config: USER_CONFIG } },
        });
      },
    });
    const clusterId = await clusterIdOf(system);
    await runScenario(t, system, {
      bgp: true,
      faultPath: `/metal/v1/projects/${PROJECT_ID}/ips`,
      resourcesOf: (s, namespace, name) => s.reservationsOf(namespace, name),
      async checkObjects(s, live) {
        await checkReservations(s, live, clusterId);
        const want = await expected(s, live);
        const actual = async () => {
          const cfg = await readConfig(s);
          const user = (cfg.addressPools ?? []).filter((p) => p.name === "user-pool");
          const ours = (cfg.addressPools ?? []).filter((p) => p.name !== "user-pool")
            .sort((a, b) => a.name.localeCompare(b.name));
          const peers = [...cfg.peers ?? []].sort((a, b) =>
            JSON.stringify(a.nodeSelectors?.[0]).localeCompare(JSON.stringify(b.nodeSelectors?.[0])) ||
            a.peerAddress.localeCompare(b.peerAddress)
          );
          return { pools: [...user, ...ours], peers };
        };
        // Peers follow Service changes asynchronously (after the pool): wait for the config to settle.
        await waitFor(async () => canonical(await actual()) === canonical(want), {
          timeoutMs: 30_000,
          message: "MetalLB ConfigMap pools and peers",
        }).catch(async (err) => {
          deepEqual(await actual(), want);
          throw err;
        });
        for (const svc of live) {
          const service = await s.service(svc.namespace, svc.name);
          deepEqual(
            service?.metadata?.annotations?.["metallb.universe.tf/address-pool"],
            `${svc.namespace}/${svc.name}`,
          );
          deepEqual(service?.spec?.loadBalancerIP, undefined, "status-based: no spec.loadBalancerIP");
        }
      },
    });
  },
});
