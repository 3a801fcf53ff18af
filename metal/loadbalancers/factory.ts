/**
 * Chooses the load balancer implementation for `METAL_LOAD_BALANCER`. Every setting the configuration accepts
 * maps to a working implementation here; anything else was rejected when the configuration was loaded
 * (upstream accepted unknown schemes and crashed on the first Service, §12.4).
 *
 * @module
 */
import type { Registry } from "prom-client";
import type { Clock } from "../../util/clock.ts";
import type { EventRecorder } from "../../provider/mod.ts";
import type { KubeClients } from "../../provider/kube/mod.ts";
import type { LoadBalancerConfig } from "../load_balancer_config.ts";
import { createEmptyImplementation } from "./empty.ts";
import { createEMLBImplementation } from "./emlb.ts";
import type { LoadBalancerImplementation } from "./implementation.ts";
import { createKubeVipImplementation } from "./kube_vip.ts";
import { createMetalLBConfigMapImplementation } from "./metallb/configmap.ts";
import { createMetalLBCRImplementation } from "./metallb/cr.ts";
import type { ExposureMode } from "./service_ip.ts";

/** What the implementations need. */
export interface ImplementationDeps {
  kube: KubeClients;
  projectId: string;
  /** Metal API key (EMLB exchanges it for LBaaS tokens). Never logged. */
  apiKey: string;
  lbaasUrl?: string;
  tokenExchangeUrl?: string;
  recorder?: EventRecorder;
  metrics?: Registry;
  userAgent?: string;
  /** MetalLB CR mode: keep the BGP password in this Secret instead of BGPPeer specs. */
  metalLbPasswordSecret?: string;
  /** Injected for tests (EMLB). */
  fetch?: (request: Request) => Promise<Response>;
  clock?: Clock;
}

/**
 * The implementation for `config`, or `undefined` when load balancers are disabled (`""`): the provider then
 * reports no load balancer support and the service controller does not start.
 */
export function createLoadBalancerImplementation(
  config: LoadBalancerConfig,
  deps: ImplementationDeps,
): LoadBalancerImplementation | undefined {
  switch (config.kind) {
    case "disabled":
      return undefined;
    case "kube-vip":
      return createKubeVipImplementation();
    case "empty":
      return createEmptyImplementation();
    case "metallb-configmap":
      return createMetalLBConfigMapImplementation({
        kube: deps.kube,
        namespace: config.namespace,
        configMapName: config.configMapName,
        recorder: deps.recorder,
        metrics: deps.metrics,
      });
    case "metallb-crd":
      return createMetalLBCRImplementation({
        kube: deps.kube,
        namespace: config.namespace,
        recorder: deps.recorder,
        metrics: deps.metrics,
        passwordSecretName: deps.metalLbPasswordSecret || undefined,
      });
    case "emlb":
      return createEMLBImplementation({
        kube: deps.kube,
        metro: config.metro,
        projectId: deps.projectId,
        apiKey: deps.apiKey,
        lbaasUrl: deps.lbaasUrl,
        tokenExchangeUrl: deps.tokenExchangeUrl,
        recorder: deps.recorder,
        metrics: deps.metrics,
        userAgent: deps.userAgent,
        fetch: deps.fetch,
        clock: deps.clock,
      });
  }
}

/** How the Service address is made visible in each mode (see `service_ip.ts`). */
export function exposureModeOf(config: LoadBalancerConfig): ExposureMode {
  switch (config.kind) {
    case "kube-vip":
      return "kube-vip";
    case "metallb-configmap":
      return "metallb-configmap";
    case "metallb-crd":
      return "metallb-crd";
    default:
      return "none";
  }
}

/** Whether the mode announces elastic IPs with BGP (so project BGP, sessions and annotations are managed). */
export function usesBgp(config: LoadBalancerConfig): boolean {
  return config.kind === "kube-vip" || config.kind === "empty" || config.kind === "metallb-configmap" ||
    config.kind === "metallb-crd";
}
