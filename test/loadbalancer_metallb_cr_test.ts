/**
 * MetalLB CR mode (`metallb:///metallb-system?crdConfiguration=true`) end to end: real kube-apiserver with
 * MetalLB's own CRDs, real `ccm fake-api`, `ccm run` processes.
 */
import { applyCRDs, ensureNamespace, waitFor } from "./harness/mod.ts";
import {
  checkMetalLbCrObjects,
  listMetalLb,
  METALLB_CR_MODE,
  METALLB_CRDS,
  METALLB_NS,
} from "./loadbalancer_metallb_cr_objects.ts";
import { checkReservations, clusterIdOf, runScenario } from "./loadbalancer_scenario.ts";
import { PROJECT_ID, startLbSystem } from "./loadbalancer_system.ts";

const BGP_PASS = "Secret123abc";

Deno.test({
  name:
    "MetalLB CR mode: EIPs, BGP, IPAddressPools, BGPPeers and the BGPAdvertisement survive restarts and faults",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using system = await startLbSystem({
      loadBalancer: METALLB_CR_MODE,
      env: { METAL_BGP_PASS: BGP_PASS },
      async prepare(cluster) {
        await applyCRDs(cluster.clients, METALLB_CRDS);
        await ensureNamespace(cluster.clients, METALLB_NS);
      },
    });
    await waitFor(async () => {
      for (const plural of ["ipaddresspools", "bgpadvertisements", "bgppeers"]) {
        await listMetalLb(system, plural);
      }
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
        await checkMetalLbCrObjects(s, live, { bgpPass: BGP_PASS });
      },
    });
  },
});
