/**
 * kube-vip mode (`kube-vip://`) end to end: real kube-apiserver, real `ccm fake-api`, `ccm run` processes.
 */
import { equal } from "node:assert/strict";
import { checkReservations, clusterIdOf, runScenario } from "./loadbalancer_scenario.ts";
import { PROJECT_ID, startLbSystem } from "./loadbalancer_system.ts";

Deno.test({
  name: "kube-vip mode: EIPs, BGP, annotations and kube-vip's IP fields survive restarts and faults",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using system = await startLbSystem({ loadBalancer: "kube-vip://" });
    const clusterId = await clusterIdOf(system);
    await runScenario(t, system, {
      bgp: true,
      faultPath: `/metal/v1/projects/${PROJECT_ID}/ips`,
      resourcesOf: (s, namespace, name) => s.reservationsOf(namespace, name),
      async checkObjects(s, live) {
        await checkReservations(s, live, clusterId);
        for (const svc of live) {
          // kube-vip reads the address from the annotation (≥ 0.5) or spec.loadBalancerIP.
          const service = await s.service(svc.namespace, svc.name);
          equal(service?.spec?.loadBalancerIP, svc.ip);
          equal(service?.metadata?.annotations?.["kube-vip.io/loadbalancerIPs"], svc.ip);
        }
      },
    });
  },
});
