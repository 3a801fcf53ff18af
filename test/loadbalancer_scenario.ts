/**
 * The scenario every load balancer mode goes through in `test/loadbalancer_*_test.ts`,
 * against a real kube-apiserver, a real `ccm fake-api` and `ccm run` processes:
 * BGP on project and nodes (BGP modes), two Services up with distinct addresses and right tags, deleting one
 * then the other, a Service created while the simulator answers 503, and `ccm run` SIGKILLed at seeded random
 * points during creates and deletes.
 *
 * @module
 */
import { deepEqual, equal, notEqual } from "node:assert/strict";
import { isNotFound } from "../provider/kube/errors.ts";
import { waitFor } from "./harness/mod.ts";
import {
  createLbService,
  HOSTNAMES,
  type LbSystem,
  PROJECT_ID,
  seededRandom,
  serviceHash,
} from "./loadbalancer_system.ts";

/** A Service the scenario created, with its address once up. */
export interface UpService {
  namespace: string;
  name: string;
  ip: string;
}

/** What differs between modes. */
export interface ModeChecks {
  /** Whether the mode announces with BGP (project BGP, sessions, annotations). */
  bgp: boolean;
  /** `METAL_BGP_PASS` given to ccm ("" for none). */
  bgpPass?: string;
  /** Metal-side resources made for a Service: reservations (EIP modes) or load balancers (EMLB). */
  resourcesOf(system: LbSystem, namespace: string, name: string): Promise<unknown[]>;
  /** Path (below the simulator root) whose requests fail during the 503 step. */
  faultPath: string;
  /** Checks the mode's own objects for exactly these live Services (in creation order). */
  checkObjects(system: LbSystem, live: UpService[]): Promise<void>;
}

const CLUSTER_TIMEOUT_MS = 45_000;

/** Seed of the kill points; override with `CCM_TEST_SEED` to reproduce a failure. */
export const KILL_SEED = Number(Deno.env.get("CCM_TEST_SEED") ?? "20260630");

/** Runs the scenario as steps of `t`. `system.startCcm()` must not have been called. */
export async function runScenario(t: Deno.TestContext, system: LbSystem, mode: ModeChecks): Promise<void> {
  await system.startCcm();
  const live: UpService[] = [];

  if (mode.bgp) {
    await t.step(
      "BGP is enabled on the project and on each eligible node, with upstream's node annotations",
      async () => {
        await checkBgp(system, mode.bgpPass ?? "");
      },
    );
  }

  await t.step(
    "two LoadBalancer Services get distinct addresses, the right tags and their ingress status",
    async () => {
      await createLbService(system.cluster, "default", "web");
      await createLbService(system.cluster, "shop", "api").catch(async (err) => {
        if (!isNotFound(err)) throw err;
        await system.cluster.clients.core.createNamespace({ body: { metadata: { name: "shop" } } });
        await createLbService(system.cluster, "shop", "api");
      });
      const [webIp] = await system.ingress("default", "web", CLUSTER_TIMEOUT_MS);
      const [apiIp] = await system.ingress("shop", "api", CLUSTER_TIMEOUT_MS);
      notEqual(webIp, apiIp);
      live.push({ namespace: "default", name: "web", ip: webIp! }, {
        namespace: "shop",
        name: "api",
        ip: apiIp!,
      });
      for (const svc of live) equal((await mode.resourcesOf(system, svc.namespace, svc.name)).length, 1);
      await mode.checkObjects(system, live);
    },
  );

  await t.step("deleting one Service releases only its own resources and objects", async () => {
    await system.deleteService("default", "web", CLUSTER_TIMEOUT_MS);
    live.shift();
    equal((await mode.resourcesOf(system, "default", "web")).length, 0);
    equal((await mode.resourcesOf(system, "shop", "api")).length, 1);
    await mode.checkObjects(system, live);
  });

  await t.step("deleting the second Service cleans everything up", async () => {
    await system.deleteService("shop", "api", CLUSTER_TIMEOUT_MS);
    live.shift();
    equal((await mode.resourcesOf(system, "shop", "api")).length, 0);
    await mode.checkObjects(system, live);
  });

  await t.step("a Service created while the simulator answers 503 converges afterwards", async () => {
    // Reads fail three times (the client's retries absorb them); the create fails once (never retried by the
    // client), so the service controller sees a failure and retries with backoff.
    await system.raw("POST", "/_fake/faults/scripted", {
      path: mode.faultPath,
      status: 503,
      count: 3,
      method: "GET",
    });
    await system.raw("POST", "/_fake/faults/scripted", {
      path: mode.faultPath,
      status: 503,
      count: 1,
      method: "POST",
    });
    const since = await lastRequestSeq(system);
    await createLbService(system.cluster, "default", "flaky");
    const [ip] = await system.ingress("default", "flaky", 60_000);
    const failed = await requestsSince(system, since, (r) => r.status === 503);
    equal(failed.some((r) => r.method === "POST"), true, "the simulator did answer 503 to the create");
    await waitFor(async () => {
      const events = await system.cluster.clients.core.listNamespacedEvent({
        namespace: "default",
        fieldSelector: "involvedObject.name=flaky",
      });
      return events.items.some((e) => e.reason === "SyncLoadBalancerFailed" && e.type === "Warning");
    }, { message: "a SyncLoadBalancerFailed Warning on the Service" });
    equal((await mode.resourcesOf(system, "default", "flaky")).length, 1);
    live.push({ namespace: "default", name: "flaky", ip: ip! });
    await mode.checkObjects(system, live);
  });

  await t.step(
    `SIGKILL of ccm run at seeded random points during creates and deletes (seed ${KILL_SEED}), then restart: one resource per live Service, none for deleted ones`,
    async () => {
      const random = seededRandom(KILL_SEED);
      const deleted: UpService[] = [];
      const names = ["k1", "k2", "k3", "k4"];
      for (let round = 0; round < names.length; round++) {
        // Create one Service, and delete an older one on odd rounds.
        await createLbService(system.cluster, "default", names[round]!);
        const pending: UpService = { namespace: "default", name: names[round]!, ip: "" };
        live.push(pending);
        if (round % 2 === 1) {
          const victim = live.shift()!;
          await system.cluster.clients.core.deleteNamespacedService({
            namespace: victim.namespace,
            name: victim.name,
          });
          deleted.push(victim);
        }
        await sleep(Math.floor(random() * 3000));
        await system.killCcm();
        await system.startCcm();
      }
      for (const svc of live) {
        [svc.ip] = (await system.ingress(svc.namespace, svc.name, CLUSTER_TIMEOUT_MS)) as [string];
      }
      for (const svc of deleted) {
        await waitFor(async () => (await system.service(svc.namespace, svc.name)) === undefined, {
          timeoutMs: CLUSTER_TIMEOUT_MS,
          message: `Service ${svc.namespace}/${svc.name} to be cleaned up and deleted`,
        });
      }
      for (const svc of live) {
        equal(
          (await mode.resourcesOf(system, svc.namespace, svc.name)).length,
          1,
          `${svc.name}: exactly one`,
        );
      }
      for (const svc of deleted) {
        equal((await mode.resourcesOf(system, svc.namespace, svc.name)).length, 0, `${svc.name}: none left`);
      }
      await mode.checkObjects(system, live);
    },
  );
}

/** Project BGP enabled, an IPv4 session per device, and upstream's annotations on each Node. */
export async function checkBgp(system: LbSystem, password: string): Promise<void> {
  const bgp = await waitFor(async () => {
    const config = await system.metal<{ status?: string; asn?: number; deployment_type?: string }>(
      `/projects/${PROJECT_ID}/bgp-config`,
    );
    return config.status === "enabled" ? config : undefined;
  }, { timeoutMs: CLUSTER_TIMEOUT_MS, message: "BGP enabled on the project" });
  equal(bgp.asn, 65000);
  equal(bgp.deployment_type, "local");
  for (const hostname of HOSTNAMES) {
    const deviceId = system.deviceIds[hostname]!;
    const privateIp = await privateNetworkOf(system, hostname);
    const expected = {
      "metal.equinix.com/network-4-private": privateIp.network,
      "metal.equinix.com/bgp-peers-0-node-asn": "65000",
      "metal.equinix.com/bgp-peers-0-peer-asn": "65530",
      "metal.equinix.com/bgp-peers-0-peer-ip": "169.254.255.1",
      "metal.equinix.com/bgp-peers-0-src-ip": privateIp.address,
      "metal.equinix.com/bgp-peers-0-bgp-pass": btoa(password),
      "metal.equinix.com/bgp-peers-1-node-asn": "65000",
      "metal.equinix.com/bgp-peers-1-peer-asn": "65530",
      "metal.equinix.com/bgp-peers-1-peer-ip": "169.254.255.2",
      "metal.equinix.com/bgp-peers-1-src-ip": privateIp.address,
      "metal.equinix.com/bgp-peers-1-bgp-pass": btoa(password),
    };
    const annotations = await waitFor(async () => {
      const node = await system.node(hostname);
      const all = node.metadata?.annotations ?? {};
      const ours = Object.fromEntries(
        Object.entries(all).filter(([k]) => k.startsWith("metal.equinix.com/")),
      );
      return Object.keys(ours).length === Object.keys(expected).length ? ours : undefined;
    }, { timeoutMs: CLUSTER_TIMEOUT_MS, message: `BGP annotations on node ${hostname}` });
    deepEqual(annotations, expected);
    const sessions = await system.metal<{ bgp_sessions: { address_family: string }[] }>(
      `/devices/${deviceId}/bgp/sessions`,
    );
    deepEqual(sessions.bgp_sessions.map((s) => s.address_family), ["ipv4"]);
  }
}

/** The device's management private IPv4 and its parent block (`network/cidr`). */
export async function privateNetworkOf(
  system: LbSystem,
  hostname: string,
): Promise<{ address: string; network: string }> {
  const device = await system.metal<{
    ip_addresses: {
      address: string;
      public: boolean;
      management: boolean;
      address_family: number;
      parent_block?: { network: string; cidr: number };
    }[];
  }>(`/devices/${system.deviceIds[hostname]}?include=ip_addresses.parent_block,parent_block`);
  const ip = device.ip_addresses.find((a) => !a.public && a.management && a.address_family === 4)!;
  return { address: ip.address, network: `${ip.parent_block!.network}/${ip.parent_block!.cidr}` };
}

/** Checks the tags, details and metro of each live Service's elastic IP, and that no other one of ours exists. */
export async function checkReservations(
  system: LbSystem,
  live: UpService[],
  clusterId: string,
): Promise<void> {
  const ours = (await system.reservations()).filter((r) =>
    r.tags.includes("usage=cloud-provider-equinix-metal-auto")
  );
  equal(ours.length, live.length, `reservations: ${JSON.stringify(ours.map((r) => r.tags))}`);
  for (const svc of live) {
    const hash = await serviceHash(svc.namespace, svc.name);
    const r = ours.find((x) => x.tags.includes(`service=${hash}`));
    deepEqual(r?.tags, [
      "usage=cloud-provider-equinix-metal-auto",
      `service=${hash}`,
      `cluster=${clusterId}`,
    ]);
    equal(r?.address, svc.ip);
    equal(r?.cidr, 32);
    equal(r?.details, "Equinix Metal Kubernetes CCM auto-generated for Load Balancer");
    equal(r?.metro?.code, "sv");
  }
}

/** UID of `kube-system`: the cluster tag. */
export async function clusterIdOf(system: LbSystem): Promise<string> {
  return (await system.cluster.clients.core.readNamespace({ name: "kube-system" })).metadata!.uid!;
}

interface LoggedRequest {
  seq: number;
  method: string;
  path: string;
  status: number;
}

async function lastRequestSeq(system: LbSystem): Promise<number> {
  const res = await system.raw("GET", "/_fake/requests");
  const { requests } = await res.json() as { requests: LoggedRequest[] };
  return requests.at(-1)?.seq ?? 0;
}

async function requestsSince(
  system: LbSystem,
  since: number,
  pick: (r: LoggedRequest) => boolean,
): Promise<LoggedRequest[]> {
  const res = await system.raw("GET", `/_fake/requests?since=${since}`);
  return ((await res.json()) as { requests: LoggedRequest[] }).requests.filter(pick);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** JSON with object keys sorted and `undefined` fields dropped, for order-insensitive comparison. */
export function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(
          Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => a < b ? -1 : 1),
        )
        : v,
  );
}
