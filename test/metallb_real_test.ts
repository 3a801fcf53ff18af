/**
 * The real MetalLB controller (v0.15.2, MetalLB's own v0.16.2 CRDs; see test/metallb_real.ts for how it runs
 * out of cluster) judges what ccm writes in CR mode (`metallb:///metallb-system?crdConfiguration=true`):
 * MetalLB's validating webhooks (native BGP mode) must admit every IPAddressPool, BGPPeer and
 * BGPAdvertisement ccm writes, MetalLB must load them without an error, give each
 * LoadBalancer Service exactly the Elastic IP ccm reserved in the simulator (as MetalLB's own Service
 * annotation, pool status and log show), keep both while a node leaves and joins and while ccm is SIGKILLed and
 * restarted, and release it when the Service is deleted.
 */
import { deepEqual, equal, notEqual } from "node:assert/strict";
import { applyCRDs, createNode, ensureNamespace, waitFor } from "./harness/mod.ts";
import { METALLB_CR_MODE, METALLB_NS } from "./loadbalancer_metallb_cr_objects.ts";
import { assertServicesUntouched, createLbService, startLbSystem } from "./loadbalancer_system.ts";
import { metalLbCrds, startMetalLbController } from "./metallb_real.ts";
import {
  assertNoConfigErrors,
  countCrs,
  logged,
  pools,
  TIMEOUT_MS,
  waitMetalLbAllocated,
} from "./metallb_real_checks.ts";

const BGP_PASS = "Secret123abc";
Deno.test({
  name: "real MetalLB controller: loads ccm's CR-mode configuration and assigns each Service its Elastic IP",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const crds = await metalLbCrds();
    await using system = await startLbSystem({
      loadBalancer: METALLB_CR_MODE,
      env: { METAL_BGP_PASS: BGP_PASS },
      async prepare(cluster) {
        await applyCRDs(cluster.clients, crds);
        await ensureNamespace(cluster.clients, METALLB_NS);
      },
    });
    const metallb = await startMetalLbController({
      cluster: system.cluster,
      namespace: METALLB_NS,
      logPath: `${system.dir}/metallb-controller.log`,
      webhooks: { bgpType: "native" },
    });
    try {
      await system.startCcm();
      // MetalLB started and read the (still empty) configuration.
      await waitFor(async () => logged(await metallb.log(), { msg: "Starting Manager" }) || undefined, {
        timeoutMs: TIMEOUT_MS,
        message: "the MetalLB controller to start",
      });

      const live: { namespace: string; name: string; ip: string }[] = [];
      await t.step("MetalLB allocates each Service exactly the Elastic IP ccm reserved", async () => {
        await system.cluster.clients.core.createNamespace({ body: { metadata: { name: "shop" } } });
        await createLbService(system.cluster, "default", "web");
        await createLbService(system.cluster, "shop", "api");
        for (const [namespace, name] of [["default", "web"], ["shop", "api"]] as const) {
          const [ip] = await system.ingress(namespace, name, TIMEOUT_MS);
          const reserved = await system.reservationsOf(namespace, name);
          equal(reserved.length, 1, `one Elastic IP reserved for ${namespace}/${name}`);
          equal(ip, reserved[0]!.address, "ingress is the reserved Elastic IP");
          await waitMetalLbAllocated(system, namespace, name, ip!);
          live.push({ namespace, name, ip: ip! });
        }
        notEqual(live[0]!.ip, live[1]!.ip);
      });

      await t.step(
        "MetalLB loaded ccm's pools without an error; MetalLB's CRDs accept ccm's BGP objects",
        async () => {
          await waitFor(async () => {
            const lines = await metallb.log();
            // The last configuration MetalLB rendered (debug log) holds both pools.
            const rendered = lines.filter((l) => l.controller === "PoolReconciler" && "rendered config" in l);
            const last = String(rendered.at(-1)?.["rendered config"] ?? "");
            return live.every((s) => last.includes(`"${s.namespace}.${s.name}"`));
          }, { timeoutMs: TIMEOUT_MS, message: "MetalLB to render a configuration with ccm's pools" });
          const lines = await metallb.log();
          equal(logged(lines, { controller: "PoolReconciler", event: "config reloaded" }), true);
          // MetalLB's configuration errors ("failed to parse the configuration", "reload failed").
          await assertNoConfigErrors(metallb);
          // The controller does not read BGPPeers (the speaker does), but the API server validated ccm's
          // peers and advertisement against MetalLB's own schema, and MetalLB's webhooks admitted each one.
          await waitFor(async () => await countCrs(system, "bgppeers", "v1beta2") === 4, {
            timeoutMs: TIMEOUT_MS,
            message: "ccm's four BGPPeers",
          });
          equal(await countCrs(system, "bgpadvertisements"), 1);
          const judged = await metallb.log();
          for (const webhook of ["ipaddresspool", "bgppeer", "bgpadvertisement"]) {
            equal(
              logged(judged, { webhook, action: "create" }),
              true,
              `MetalLB's ${webhook} webhook was asked`,
            );
          }
          deepEqual(judged.filter((l) => l.webhook !== undefined && l.level === "error"), []);
          // Once both Services are allocated, MetalLB has nothing to complain about: no Warning Event on them
          // (AllocationFailed, LoadBalancerFailed...) newer than its allocation, and no error line after it.
          const allocatedAt = lines.findLastIndex((l) =>
            l.event === "ipAllocated" || l.event === "serviceUpdated"
          );
          deepEqual(lines.slice(allocatedAt + 1).filter((l) => l.level === "error"), []);
          for (const s of live) {
            const svc = await system.service(s.namespace, s.name);
            const events = await system.cluster.clients.core.listNamespacedEvent({
              namespace: s.namespace,
              fieldSelector: `involvedObject.name=${s.name},involvedObject.uid=${svc?.metadata?.uid}`,
            });
            const warnings = events.items.filter((e) =>
              e.source?.component === "metallb-controller" && e.type === "Warning" &&
              e.reason !== "AllocationFailed"
            );
            deepEqual(warnings.map((e) => `${e.reason}: ${e.message}`), []);
            // MetalLB ≥ 0.14.9's pool key (it warns about metallb.universe.tf/ on every update).
            deepEqual(svc?.metadata?.annotations?.["metallb.io/address-pool"], `${s.namespace}.${s.name}`);
            deepEqual(svc?.metadata?.annotations?.["metallb.universe.tf/address-pool"], undefined);
          }
          // Not even once, not even for an AllocationFailed before ccm's pool existed.
          deepEqual((await metallb.log()).filter((l) => l.event === "deprecatedAnnotation"), []);
          const deprecated = await system.cluster.clients.core.listEventForAllNamespaces({
            fieldSelector: "reason=deprecatedAnnotation",
          });
          deepEqual(deprecated.items.map((e) => e.message), []);
        },
      );

      await t.step("the allocation is stable: nobody rewrites the Services' status", async () => {
        await assertServicesUntouched(system, live);
      });

      await t.step(
        "a node leaves and joins, ccm is SIGKILLed and restarted: MetalLB keeps a valid configuration and both allocations",
        async () => {
          const peers = () => countCrs(system, "bgppeers", "v1beta2");
          const gone = await system.node("lb-node-b");
          await system.cluster.clients.core.deleteNode({ name: "lb-node-b" });
          await waitFor(async () => await peers() === 2, {
            timeoutMs: TIMEOUT_MS,
            message: "ccm to remove the BGPPeers of the node that left",
          });
          await createNode(system.cluster.clients, "lb-node-b", {
            labels: gone.metadata?.labels,
            providerID: gone.spec?.providerID,
            addresses: gone.status?.addresses,
          });
          await waitFor(async () => await peers() === 4, {
            timeoutMs: TIMEOUT_MS,
            message: "ccm to give the node that joined its BGPPeers again",
          });
          for (const s of live) await waitMetalLbAllocated(system, s.namespace, s.name, s.ip);

          await system.killCcm();
          await system.startCcm();
          // The restarted ccm resyncs every Service: nothing is reserved twice, no object changes.
          const poolsBefore = JSON.stringify((await pools(system)).map((p) => [p.metadata.name, p.spec]));
          await new Promise((r) => setTimeout(r, 5000));
          equal(JSON.stringify((await pools(system)).map((p) => [p.metadata.name, p.spec])), poolsBefore);
          equal(await peers(), 4);
          for (const s of live) {
            equal((await system.reservationsOf(s.namespace, s.name)).length, 1, `${s.namespace}/${s.name}`);
            await waitMetalLbAllocated(system, s.namespace, s.name, s.ip);
          }
          await assertNoConfigErrors(metallb);
          const judged = await metallb.log();
          deepEqual(judged.filter((l) => l.webhook !== undefined && l.level === "error"), []);
        },
      );

      await t.step(
        "deleting a Service: MetalLB releases its address, ccm its Elastic IP and pool",
        async () => {
          const [web, api] = live as [typeof live[0], typeof live[0]];
          await system.deleteService(web.namespace, web.name, TIMEOUT_MS);
          deepEqual(await system.reservationsOf(web.namespace, web.name), []);
          await waitFor(async () => {
            const lines = await metallb.log();
            return lines.some((l) => l["processing deletion on service"] === "default/web") || undefined;
          }, { timeoutMs: TIMEOUT_MS, message: "MetalLB to release default/web" });
          await waitFor(async () => {
            const names = (await pools(system)).map((p) => p.metadata.name);
            return !names.includes("default.web") && names.includes("shop.api");
          }, { timeoutMs: TIMEOUT_MS, message: "ccm to remove pool default.web" });
          // The other Service keeps its address with MetalLB.
          await waitMetalLbAllocated(system, api.namespace, api.name, api.ip);
          await system.deleteService(api.namespace, api.name, TIMEOUT_MS);
          deepEqual(await system.reservationsOf(api.namespace, api.name), []);
          await waitFor(async () => (await pools(system)).length === 0, {
            timeoutMs: TIMEOUT_MS,
            message: "ccm to remove the last pool",
          });
          await assertNoConfigErrors(metallb);
        },
      );
    } finally {
      await metallb.stop();
    }
  },
});
