/**
 * The real MetalLB v0.12.1 controller (test/metallb_real.ts; built by test/install_metallb_v0_12.sh) judges what
 * ccm writes in ConfigMap mode (`metallb:///metallb-system/config`): MetalLB must load every configuration ccm
 * writes (pools and BGP peers) without an error, hold each LoadBalancer Service's address — exactly the Elastic
 * IP ccm reserved — in that Service's own pool (its allocator metrics), and release it when the Service is
 * deleted. While a deleted Service still exists (ccm's cleanup finalizer), MetalLB 0.12 keeps its address and
 * refuses any configuration without a pool for it, so ccm removes the pool only once the Service is gone.
 */
import { deepEqual, equal, notEqual } from "node:assert/strict";
import { ensureNamespace, waitFor } from "./harness/mod.ts";
import {
  assertServicesUntouched,
  createLbService,
  type LbSystem,
  startLbSystem,
} from "./loadbalancer_system.ts";
import {
  type MetalLbController,
  type MetalLbLogLine,
  startMetalLbConfigMapController,
} from "./metallb_real.ts";
import { parseConfigFile } from "../metal/loadbalancers/metallb/config_file.ts";

const NS = "metallb-system";
const CM = "config";
const TIMEOUT_MS = 45_000;
/** A user's own pool next to ccm's, as MetalLB 0.12 installations have. */
const USER_CONFIG = `address-pools:
- name: user-pool
  protocol: layer2
  addresses: [198.51.100.0/28]
`;

/** MetalLB's configuration errors: refused (`setConfig`) or unparsable (`configStale`) configurations. */
function configErrors(lines: MetalLbLogLine[]): MetalLbLogLine[] {
  return lines.filter((l) => l.level === "error" && (l.op === "setConfig" || l.event === "configStale"));
}

async function assertNoConfigErrors(metallb: MetalLbController): Promise<void> {
  deepEqual(
    configErrors(await metallb.log()),
    [],
    `MetalLB refused a configuration:\n${await metallb.process.logTail(60)}`,
  );
}

/** `metallb_allocator_addresses_in_use_total` by pool. */
async function inUse(metallb: MetalLbController): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await metallb.metrics()).split("\n")) {
    const m = line.match(/^metallb_allocator_addresses_in_use_total\{pool="([^"]*)"\} (\S+)$/);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

async function poolNames(system: LbSystem): Promise<string[]> {
  const cm = await system.cluster.clients.core.readNamespacedConfigMap({ name: CM, namespace: NS });
  return (parseConfigFile(cm.data?.config ?? "").addressPools ?? []).map((p) => p.name);
}

/**
 * MetalLB loaded the ConfigMap's current configuration: its metrics say the configuration is loaded and not
 * stale, the last ConfigMap line of its log is a load, and it never refused one.
 */
async function waitConfigLoaded(metallb: MetalLbController, what: string): Promise<void> {
  await waitFor(async () => {
    const metrics = await metallb.metrics();
    if (!/^metallb_k8s_client_config_loaded_bool 1$/m.test(metrics)) return false;
    if (!/^metallb_k8s_client_config_stale_bool 0$/m.test(metrics)) return false;
    return (await metallb.log()).findLast((l) => l.configmap !== undefined)?.event === "configLoaded";
  }, { timeoutMs: TIMEOUT_MS, message: `MetalLB to load ${what}` });
  await assertNoConfigErrors(metallb);
}

Deno.test({
  name:
    "real MetalLB 0.12 controller: loads ccm's ConfigMap configuration, holds and releases each Elastic IP",
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
    const metallb = await startMetalLbConfigMapController({
      cluster: system.cluster,
      namespace: NS,
      configMap: CM,
      logPath: `${system.dir}/metallb-controller.log`,
    });
    try {
      await waitFor(async () => (await metallb.log()).some((l) => l.event === "stateSynced") || undefined, {
        timeoutMs: TIMEOUT_MS,
        message: "the MetalLB controller to sync",
      });
      await waitConfigLoaded(metallb, "the user's configuration");
      await system.startCcm();

      const live: { namespace: string; name: string; ip: string }[] = [];
      await t.step("MetalLB holds each Service's Elastic IP in the Service's own pool", async () => {
        await system.cluster.clients.core.createNamespace({ body: { metadata: { name: "shop" } } });
        await createLbService(system.cluster, "default", "web");
        await createLbService(system.cluster, "shop", "api");
        for (const [namespace, name] of [["default", "web"], ["shop", "api"]] as const) {
          // MetalLB may first hand out an address of the user's auto-assign pool, before ccm named the
          // Service's own pool; it must end up with exactly the reserved Elastic IP.
          const ip = await waitFor(async () => {
            const reserved = await system.reservationsOf(namespace, name);
            const svc = await system.service(namespace, name);
            const ingress = (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip);
            return reserved.length === 1 && ingress.length === 1 && ingress[0] === reserved[0]!.address
              ? reserved[0]!.address
              : undefined;
          }, {
            timeoutMs: TIMEOUT_MS,
            message: `the Elastic IP of ${namespace}/${name} as its only ingress`,
          });
          live.push({ namespace, name, ip });
        }
        notEqual(live[0]!.ip, live[1]!.ip);
        await waitFor(async () => {
          const used = await inUse(metallb);
          return used["default/web"] === 1 && used["shop/api"] === 1 || undefined;
        }, { timeoutMs: TIMEOUT_MS, message: "MetalLB to hold one address in each Service's pool" });
        await waitConfigLoaded(metallb, "ccm's pools and peers");
        // MetalLB never cleared the addresses ccm reported (it would when its configuration has no pool for
        // them), and the ingress is still exactly the Elastic IP.
        const cleared = (await metallb.log()).filter((l) => l.event === "clearAssignment" && l.error);
        deepEqual(cleared, []);
        for (const s of live) {
          const svc = await system.service(s.namespace, s.name);
          deepEqual(svc?.status?.loadBalancer?.ingress?.map((i) => i.ip), [s.ip]);
        }
        const cm = await system.cluster.clients.core.readNamespacedConfigMap({ name: CM, namespace: NS });
        const peers = parseConfigFile(cm.data?.config ?? "").peers ?? [];
        equal(peers.length, 4, "one peer per node × router in the configuration MetalLB loaded");
      });

      await t.step("the allocation is stable: nobody rewrites the Services' status", async () => {
        await assertServicesUntouched(system, live);
      });

      await t.step(
        "deleting a Service: MetalLB releases its address, then ccm removes its pool; no config refused",
        async () => {
          const [web, api] = live as [typeof live[0], typeof live[0]];
          await system.deleteService(web.namespace, web.name, TIMEOUT_MS);
          deepEqual(await system.reservationsOf(web.namespace, web.name), []);
          await waitFor(
            async () => (await metallb.log()).some((l) => l.event === "serviceDeleted") || undefined,
            { timeoutMs: TIMEOUT_MS, message: "MetalLB to release default/web" },
          );
          await waitFor(async () => !(await poolNames(system)).includes("default/web"), {
            timeoutMs: TIMEOUT_MS,
            message: "ccm to remove pool default/web",
          });
          await waitConfigLoaded(metallb, "the configuration without default/web");
          await waitFor(async () => (await inUse(metallb))["shop/api"] === 1 || undefined, {
            timeoutMs: TIMEOUT_MS,
            message: "MetalLB to keep shop/api's address",
          });
          equal((await inUse(metallb))["default/web"], undefined, "the pool is gone from MetalLB too");
          const svc = await system.service(api.namespace, api.name);
          deepEqual(svc?.status?.loadBalancer?.ingress?.map((i) => i.ip), [api.ip]);

          await system.deleteService(api.namespace, api.name, TIMEOUT_MS);
          deepEqual(await system.reservationsOf(api.namespace, api.name), []);
          await waitFor(async () => deepEqualBool(await poolNames(system), ["user-pool"]), {
            timeoutMs: TIMEOUT_MS,
            message: "ccm to remove the last pool of its own",
          });
          await waitConfigLoaded(metallb, "the user's configuration again");
          equal((await inUse(metallb))["shop/api"], undefined);
          await assertNoConfigErrors(metallb);
        },
      );
    } finally {
      await metallb.stop();
    }
  },
});

function deepEqualBool(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
