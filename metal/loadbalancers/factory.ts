/**
 * Builds the load balancer implementation for `METAL_LOAD_BALANCER`. Every setting the configuration accepts
 * maps to a working implementation here; anything else was rejected when the configuration was loaded
 * (upstream accepted unknown schemes and crashed on the first Service, docs/upstream.md#unknown-lb-scheme).
 * What the setting means beyond the implementation is `loadBalancerModeOf`'s
 * (`metal/load_balancer_config.ts`).
 *
 * @module
 */
import type { Registry } from "prom-client";
import type { Clock } from "../../util/clock.ts";
import type { MetalLbBgpType } from "./metallb/cr_peer_layout.ts";
import type { EventRecorder } from "../../provider/mod.ts";
import type { KubeClients } from "../../provider/kube/mod.ts";
import type { ElasticIpLoadBalancerConfig, EmlbLoadBalancerConfig } from "../load_balancer_config.ts";
import { createEMLBImplementation } from "./emlb.ts";
import { createExternalAnnouncerImplementation } from "./external_announcer.ts";
import type { IngressOwningImplementation, LoadBalancerImplementation } from "./implementation.ts";
import { createMetalLBConfigMapImplementation } from "./metallb/configmap.ts";
import { createMetalLBCRImplementation } from "./metallb/cr.ts";

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
  /** MetalLB CR mode: `METAL_METALLB_BGP_TYPE`. @default "auto" */
  metalLbBgpType?: MetalLbBgpType;
  /** Injected for tests (EMLB). */
  fetch?: (request: Request) => Promise<Response>;
  clock?: Clock;
}

/** The implementation for an elastic IP mode (kube-vip, empty, MetalLB ConfigMap or CRs). */
export function createElasticIpImplementation(
  config: ElasticIpLoadBalancerConfig,
  deps: ImplementationDeps,
): LoadBalancerImplementation {
  switch (config.kind) {
    case "kube-vip":
    case "empty":
      return createExternalAnnouncerImplementation(config.kind);
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
        bgpType: deps.metalLbBgpType,
        clock: deps.clock,
      });
  }
}

/** The EMLB implementation for `emlb:///<metro>`. */
export function createEmlbImplementation(
  config: EmlbLoadBalancerConfig,
  deps: ImplementationDeps,
): IngressOwningImplementation {
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
