/**
 * The real MetalLB controller (test/metallb_real.ts) next to the control-plane EIP manager: MetalLB must leave
 * the external Service `kube-system/cloud-provider-equinix-metal-kubernetes-external` alone (its
 * `loadBalancerClass` is not MetalLB's), so its ingress stays the EIP and nobody rewrites it. Before the class,
 * MetalLB cleared the ingress and ccm wrote it back several times a second.
 */
import { deepEqual, equal } from "node:assert/strict";
import type { V1Service } from "@kubernetes/client-node";
import {
  EXTERNAL_SERVICE_LOAD_BALANCER_CLASS,
  EXTERNAL_SERVICE_NAME,
  EXTERNAL_SERVICE_NAMESPACE,
} from "../metal/control_plane/names.ts";
import { startScene } from "./control_plane_support.ts";
import { applyCRDs, ensureNamespace, waitFor } from "./harness/mod.ts";
import { metalLbCrds, startMetalLbController } from "./metallb_real.ts";

const NS = "metallb-system";
const KEY = `${EXTERNAL_SERVICE_NAMESPACE}/${EXTERNAL_SERVICE_NAME}`;

Deno.test({
  name: "real MetalLB controller leaves the control-plane Service and its EIP ingress alone",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const crds = await metalLbCrds();
    await using scene = await startScene();
    const kube = scene.kube;
    await applyCRDs(kube, crds);
    await ensureNamespace(kube, NS);
    // A pool like ccm's (one Service's /32, no auto-assign), so MetalLB has a configuration and handles
    // every Service it may take.
    await kube.custom.createNamespacedCustomObject({
      group: "metallb.io",
      version: "v1beta1",
      namespace: NS,
      plural: "ipaddresspools",
      body: {
        apiVersion: "metallb.io/v1beta1",
        kind: "IPAddressPool",
        metadata: { name: "default.web", namespace: NS },
        spec: { addresses: ["198.51.100.10/32"], autoAssign: false },
      },
    });
    const dir = await Deno.makeTempDir({ prefix: "ccm-metallb-cp-" });
    const metallb = await startMetalLbController({
      cluster: scene.cluster,
      namespace: NS,
      logPath: `${dir}/metallb-controller.log`,
    });
    try {
      await waitFor(
        async () => (await metallb.log()).some((l) => l.event === "config reloaded") || undefined,
        {
          timeoutMs: 30_000,
          message: "MetalLB to load its configuration",
        },
      );
      await scene.startController({});
      const read = () =>
        kube.core.readNamespacedService({
          namespace: EXTERNAL_SERVICE_NAMESPACE,
          name: EXTERNAL_SERVICE_NAME,
        });
      const ingressOf = (s: V1Service) => (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip);
      const first = await waitFor(async () => {
        const s = await read();
        return ingressOf(s).length > 0 ? s : undefined;
      }, { timeoutMs: 30_000, message: "the external Service with its ingress" });
      equal(first.spec?.loadBalancerClass, EXTERNAL_SERVICE_LOAD_BALANCER_CLASS);
      // MetalLB saw the Service and filtered it out by its class.
      await waitFor(
        async () =>
          (await metallb.log()).some((l) =>
            l.controller === "ServiceReconciler" && "filtered service" in l &&
            JSON.stringify(l["filtered service"]).includes(EXTERNAL_SERVICE_NAME)
          ) || undefined,
        { timeoutMs: 30_000, message: `MetalLB to filter out ${KEY}` },
      );
      // Five seconds later the ingress is still the EIP, written once, by ccm alone.
      await new Promise((r) => setTimeout(r, 5000));
      const later = await read();
      deepEqual(ingressOf(later), [scene.eip]);
      equal(later.metadata?.resourceVersion, first.metadata?.resourceVersion, "nobody rewrote the Service");
      const statusManagers = (later.metadata?.managedFields ?? [])
        .filter((f) => f.subresource === "status").map((f) => f.manager);
      deepEqual(statusManagers, ["cloud-provider-equinix-metal-auto"]);
      const events = await kube.core.listNamespacedEvent({
        namespace: EXTERNAL_SERVICE_NAMESPACE,
        fieldSelector: `involvedObject.name=${EXTERNAL_SERVICE_NAME}`,
      });
      deepEqual(
        events.items.filter((e) => e.source?.component === "metallb-controller").map((e) => e.reason),
        [],
      );
    } finally {
      await metallb.stop();
      if (Deno.env.get("CCM_TEST_KEEP_DIR") !== "1") {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }
  },
});
