/**
 * The MetalLB CR mode objects upstream's metal/loadbalancers/metallb/cr.go specifies for a set of live
 * Services (IPAddressPools, BGPPeers, the BGPAdvertisement and the Services' pool annotation), and a check
 * that the cluster holds exactly those. Shared by `loadbalancer_metallb_cr_test.ts` and the reliability
 * suite.
 *
 * @module
 */
import { deepEqual } from "node:assert/strict";
import { waitFor } from "./harness/mod.ts";
import { canonical, privateNetworkOf, type UpService } from "./loadbalancer_scenario.ts";
import { HOSTNAMES, type LbSystem } from "./loadbalancer_system.ts";
import { metalLbCrds } from "./metallb_real.ts";

/** MetalLB's namespace in these tests. */
export const METALLB_NS = "metallb-system";
/** `METAL_LOAD_BALANCER` of CR mode. */
export const METALLB_CR_MODE = `metallb:///${METALLB_NS}?crdConfiguration=true`;
/** MetalLB's own CRDs (test/install_metallb.sh; see test/metallb_real.ts). */
export const METALLB_CRDS = await metalLbCrds();
const OWNED = { "cloud-provider": "equinix-metal" };

interface Obj {
  metadata: { name: string; labels?: Record<string, string> };
  // deno-lint-ignore no-explicit-any
  spec: any;
}

/** MetalLB objects of one kind (`ipaddresspools`, `bgppeers`, `bgpadvertisements`), sorted by name. */
export async function listMetalLb(system: LbSystem, plural: string): Promise<Obj[]> {
  const body = await system.cluster.clients.custom.listNamespacedCustomObject({
    group: "metallb.io",
    version: "v1beta1",
    namespace: METALLB_NS,
    plural,
  });
  return (body as { items: Obj[] }).items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

const shape = (objs: Obj[]) =>
  objs.map((o) => ({ name: o.metadata.name, labels: o.metadata.labels, spec: o.spec }));

/** The pools and peers upstream's metal/loadbalancers/metallb/cr.go specifies for these live Services (selectors sorted by namespace, name). */
async function expected(system: LbSystem, live: UpService[], bgpPass: string, hostnames: string[]) {
  const sorted = [...live].sort((a, b) =>
    `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`)
  );
  const pools = live.map((s) => ({
    name: `${s.namespace}.${s.name}`,
    labels: { ...OWNED, [`service-${s.name}`]: `namespace-${s.namespace}` },
    // avoidBuggyIPs: MetalLB's schema default.
    spec: { addresses: [`${s.ip}/32`], autoAssign: false, avoidBuggyIPs: false },
  })).sort((a, b) => a.name.localeCompare(b.name));
  const peers = [];
  if (live.length > 0) {
    for (const hostname of [...hostnames].sort()) {
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
            password: bgpPass,
          },
        });
      }
    }
  }
  return { pools, peers };
}

/**
 * Checks that the cluster holds exactly the MetalLB objects of these live Services (waiting up to `timeoutMs`
 * for them to settle: peers follow pools asynchronously), and that each Service names its pool.
 */
export async function checkMetalLbCrObjects(
  system: LbSystem,
  live: UpService[],
  options: { bgpPass: string; hostnames?: string[]; timeoutMs?: number },
): Promise<void> {
  const want = await expected(system, live, options.bgpPass, options.hostnames ?? HOSTNAMES);
  await waitFor(async () => {
    const pools = shape(await listMetalLb(system, "ipaddresspools"));
    const peers = shape(await listMetalLb(system, "bgppeers"));
    return canonical(pools) === canonical(want.pools) && canonical(peers) === canonical(want.peers);
  }, { timeoutMs: options.timeoutMs ?? 30_000, message: "MetalLB pools and peers" }).catch(async (err) => {
    deepEqual(shape(await listMetalLb(system, "ipaddresspools")), want.pools);
    deepEqual(shape(await listMetalLb(system, "bgppeers")), want.peers);
    throw err;
  });
  const advertisements = shape(await listMetalLb(system, "bgpadvertisements"));
  deepEqual(
    advertisements.map((a) => ({ ...a, spec: { ipAddressPools: [...a.spec.ipAddressPools].sort() } })),
    live.length === 0 ? [] : [{
      name: "equinix-metal-bgp-adv",
      labels: OWNED,
      spec: { ipAddressPools: want.pools.map((p) => p.name) },
    }],
  );
  for (const svc of live) {
    const service = await system.service(svc.namespace, svc.name);
    // MetalLB's own CRDs here are v0.16.2's: the pool key of MetalLB ≥ 0.14.9, not the deprecated one.
    deepEqual(service?.metadata?.annotations?.["metallb.io/address-pool"], `${svc.namespace}.${svc.name}`);
    deepEqual(service?.metadata?.annotations?.["metallb.universe.tf/address-pool"], undefined);
    deepEqual(service?.spec?.loadBalancerIP, undefined, "status-based: no spec.loadBalancerIP");
  }
}
