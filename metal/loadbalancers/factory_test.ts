import { deepEqual, equal } from "node:assert/strict";
import type { KubeClients } from "../../provider/kube/mod.ts";
import { apiError } from "../../provider/testing/mod.ts";
import {
  type LoadBalancerConfig,
  loadBalancerModeOf,
  parseLoadBalancerSetting,
} from "../load_balancer_config.ts";
import { createElasticIpImplementation, createEmlbImplementation } from "./factory.ts";
import { makeService } from "../testing.ts";

/** Kubernetes clients that record MetalLB and Secret writes (no objects exist). */
function recordingKube() {
  const created: { kind: string; body: Record<string, unknown> }[] = [];
  const kube = {
    custom: {
      listNamespacedCustomObject: () => Promise.resolve({ items: [] }),
      createNamespacedCustomObject: (req: { plural: string; body: Record<string, unknown> }) => {
        created.push({ kind: req.plural, body: req.body });
        return Promise.resolve(req.body);
      },
    },
    core: {
      readNamespacedSecret: () => Promise.reject(apiError(404, "not found")),
      createNamespacedSecret: (req: { body: Record<string, unknown> }) => {
        created.push({ kind: "secrets", body: req.body });
        return Promise.resolve(req.body);
      },
    },
  } as unknown as KubeClients;
  return { kube, created };
}

const deps = (kube: KubeClients, secret?: string) => ({
  kube,
  projectId: "p",
  apiKey: "k",
  metalLbPasswordSecret: secret,
});

/** The implementation the mode of `config` builds, or `undefined` when load balancers are disabled. */
function implementationFor(config: LoadBalancerConfig, secret?: string) {
  const { kube } = recordingKube();
  const mode = loadBalancerModeOf(config);
  if (mode === undefined) return undefined;
  return mode.kind === "emlb"
    ? createEmlbImplementation(mode.implementation, deps(kube, secret))
    : createElasticIpImplementation(mode.implementation, deps(kube, secret));
}

Deno.test("every accepted METAL_LOAD_BALANCER maps to an implementation; '' to none", () => {
  const cases: [string, string | undefined, string, boolean][] = [
    ["", undefined, "none", false],
    ["kube-vip://", "kube-vip", "kube-vip", true],
    ["empty://", "empty", "none", true],
    ["metallb:///metallb-system/config", "metallb-configmap", "metallb-configmap", true],
    ["metallb:///metallb-system?crdConfiguration=true", "metallb-crd", "metallb-crd", true],
    ["emlb:///da", "emlb", "none", false],
  ];
  for (const [setting, name, exposure, bgp] of cases) {
    const config = parseLoadBalancerSetting(setting);
    const mode = loadBalancerModeOf(config);
    equal(implementationFor(config)?.name, name, setting);
    equal(mode?.kind === "elastic-ip" ? mode.exposure : "none", exposure, setting);
    equal(mode?.kind === "elastic-ip", bgp, setting);
  }
});

Deno.test("the MetalLB password Secret option (METAL_METALLB_PASSWORD_SECRET) reaches the CR implementation: peers reference the Secret", async () => {
  const { kube, created } = recordingKube();
  const mode = loadBalancerModeOf(
    parseLoadBalancerSetting("metallb:///metallb-system?crdConfiguration=true"),
  );
  if (mode?.kind !== "elastic-ip") throw new Error("expected an elastic IP mode");
  const impl = createElasticIpImplementation(mode.implementation, deps(kube, "bgp-password"));
  await impl.addService({
    service: makeService("default", "web"),
    ipCidr: "147.75.0.1/32",
    peers: [{
      nodeName: "n1",
      sourceIP: "10.0.0.1",
      localASN: 65000,
      peerASN: 65530,
      peerIPs: ["169.254.255.1"],
      password: "Secret123abc",
    }],
    nodes: [{ metadata: { name: "n1" } }],
    loadBalancerName: "lb",
  });
  const peer = created.find((c) => c.kind === "bgppeers")!.body as { spec: Record<string, unknown> };
  deepEqual(peer.spec.passwordSecret, { name: "bgp-password", namespace: "metallb-system" });
  equal(peer.spec.password, undefined);
  equal(created.some((c) => c.kind === "secrets"), true);
});

Deno.test("METAL_METALLB_BGP_TYPE reaches the CR implementation: frr writes one shared peer per address", async () => {
  const { kube, created } = recordingKube();
  const mode = loadBalancerModeOf(
    parseLoadBalancerSetting("metallb:///metallb-system?crdConfiguration=true"),
  );
  if (mode?.kind !== "elastic-ip") throw new Error("expected an elastic IP mode");
  const impl = createElasticIpImplementation(mode.implementation, {
    ...deps(kube),
    metalLbBgpType: "frr",
  });
  const peer = (nodeName: string) => ({
    nodeName,
    sourceIP: "10.0.0.1",
    localASN: 65000,
    peerASN: 65530,
    peerIPs: ["169.254.255.1"],
    password: "",
  });
  await impl.addService({
    service: makeService("default", "web"),
    ipCidr: "",
    peers: [peer("n1"), peer("n2")],
    nodes: [{ metadata: { name: "n1" } }, { metadata: { name: "n2" } }],
    loadBalancerName: "lb",
  });
  const peers = created.filter((c) => c.kind === "bgppeers").map((c) =>
    c.body as { metadata: { name: string } }
  );
  deepEqual(peers.map((p) => p.metadata.name), ["equinix-metal.169.254.255.1"]);
});
