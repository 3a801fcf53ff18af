/**
 * EMLB mode (`emlb:///sv`) end to end: real kube-apiserver, real `ccm fake-api` (Metal and LBaaS APIs, token
 * exchange), `ccm run` processes. No elastic IPs and no BGP: one managed load balancer per Service.
 */
import { deepEqual, equal } from "node:assert/strict";
import { waitFor } from "./harness/mod.ts";
import { canonical, clusterIdOf, runScenario, type UpService } from "./loadbalancer_scenario.ts";
import { HOSTNAMES, type LbSystem, PROJECT_ID, serviceHash, startLbSystem } from "./loadbalancer_system.ts";

interface Lb {
  id: string;
  name: string;
  ips: string[];
  ports: { number: number; pool_ids: string[] }[];
}

async function lbaas<T>(system: LbSystem, path: string): Promise<T> {
  const exchange = await system.raw("POST", "/iam/api-keys/exchange", undefined, {
    Authorization: `Bearer ${system.apiKey}`,
  });
  const { access_token: token } = await exchange.json() as { access_token: string };
  const res = await system.raw("GET", `/lbaas${path}`, undefined, { Authorization: `Bearer ${token}` });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return await res.json() as T;
}

async function loadBalancers(system: LbSystem): Promise<Lb[]> {
  return (await lbaas<{ loadbalancers: Lb[] }>(system, `/v1/projects/${PROJECT_ID}/loadbalancers`))
    .loadbalancers;
}

Deno.test({
  name:
    "EMLB mode: one managed load balancer per Service, origins on the nodes, survives restarts and faults",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using system = await startLbSystem({ loadBalancer: "emlb:///sv" });
    const clusterId = await clusterIdOf(system);
    const lbName = async (namespace: string, name: string) =>
      `usage=cloud-provider-equinix-metal-auto:service=${await serviceHash(
        namespace,
        name,
      )}:cluster=${clusterId}`;
    const externalIps = async () => {
      const ips: string[] = [];
      for (const hostname of HOSTNAMES) {
        const node = await system.node(hostname);
        ips.push(
          ...(node.status?.addresses ?? []).filter((a) => a.type === "ExternalIP").map((a) => a.address),
        );
      }
      return ips.sort();
    };
    await runScenario(t, system, {
      bgp: false,
      faultPath: `/lbaas/v1/projects/${PROJECT_ID}/loadbalancers`,
      async resourcesOf(s, namespace, name) {
        const wanted = await lbName(namespace, name);
        return (await loadBalancers(s)).filter((lb) => lb.name === wanted);
      },
      async checkObjects(s, live: UpService[]) {
        const lbs = await loadBalancers(s);
        equal(lbs.length, live.length, canonical(lbs.map((lb) => lb.name)));
        for (const svc of live) {
          const wanted = await lbName(svc.namespace, svc.name);
          const found = lbs.find((x) => x.name === wanted);
          equal(found !== undefined, true, `load balancer of ${svc.name}`);
          deepEqual(found!.ips, [svc.ip]);
          deepEqual(found!.ports.map((p) => p.number), [80]);
          const service = await s.service(svc.namespace, svc.name);
          equal(service?.metadata?.annotations?.["equinix.com/loadbalancerID"], found!.id);
          equal(service?.metadata?.annotations?.["equinix.com/loadbalancerMetro"], "sv");
          const nodePort = service?.spec?.ports?.[0]?.nodePort;
          const targets = await waitFor(async () => {
            const now = (await lbaas<{ origins: { target: string; port_number: number }[] }>(
              s,
              `/v1/loadbalancers/pools/${found!.ports[0]!.pool_ids[0]}`,
            )).origins;
            return now.length > 0 ? now : undefined;
          }, { message: `origins of ${svc.name}` });
          deepEqual(targets.map((o) => o.target).sort(), await externalIps());
          equal(targets.every((o) => o.port_number === nodePort), true);
        }
        // No BGP in this mode: the project's BGP settings are left alone.
        const bgp = await s.metal<{ id?: string }>(`/projects/${PROJECT_ID}/bgp-config`);
        equal(bgp.id, undefined);
      },
    });
  },
});
