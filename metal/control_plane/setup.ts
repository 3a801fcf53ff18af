/**
 * Builds the control-plane endpoint loop from the configuration: {@linkcode createControlPlaneController} is
 * `undefined` when neither `METAL_EIP_TAG` nor `METAL_LOAD_BALANCER_ID` is set.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { CloudInitContext } from "../../provider/mod.ts";
import type { MetalConfig } from "../config.ts";
import { ControlPlaneEndpointController, type ControlPlaneTiming } from "./controller.ts";
import type { EipMetal } from "./eip_manager.ts";
import type { HealthProber } from "./health_probe.ts";
import { kubeControlPlaneWriter } from "./kube_writer.ts";
import { createLbaasClient } from "../emlb/client_factory.ts";
import type { ControlPlaneLbaas } from "./load_balancer_pool.ts";

/** Input of {@linkcode createControlPlaneController}. */
export interface ControlPlaneSetup {
  config: Pick<
    MetalConfig,
    | "eipTag"
    | "loadBalancerId"
    | "apiServerPort"
    | "eipHealthCheckUseHostIp"
    | "controlPlaneCheckPeriod"
    | "controlPlaneFailureThreshold"
    | "projectId"
    | "apiKey"
    | "lbaasUrl"
    | "tokenExchangeUrl"
  >;
  /** The provider's shared Metal API client. */
  metal: EipMetal;
  ctx: CloudInitContext;
  /** User agent of LBaaS calls. */
  userAgent?: string;
  /** Replaces the LBaaS client (tests). */
  lbaas?: ControlPlaneLbaas;
  /** Replaces `fetch` for LBaaS calls (tests). */
  fetch?: (request: Request) => Promise<Response>;
  /** Replaces the HTTPS API server health check (tests, the local demo's simulated network). */
  prober?: HealthProber;
  /** Overrides the timing the configuration gives (tests). */
  timing?: Partial<ControlPlaneTiming>;
}

/**
 * The control-plane endpoint loop for `config`, or `undefined` when neither `METAL_EIP_TAG` nor
 * `METAL_LOAD_BALANCER_ID` is set. Call it in the provider's `initialize` (it creates the informers it needs,
 * which the framework then waits for) and return it among the `controllers` it returns.
 */
export function createControlPlaneController(
  setup: ControlPlaneSetup,
): ControlPlaneEndpointController | undefined {
  const { config, ctx } = setup;
  if (!config.eipTag && !config.loadBalancerId) return undefined;
  return new ControlPlaneEndpointController({
    eip: config.eipTag
      ? {
        tag: config.eipTag,
        projectId: config.projectId,
        useHostIp: config.eipHealthCheckUseHostIp,
        metal: setup.metal,
      }
      : undefined,
    loadBalancer: config.loadBalancerId
      ? {
        id: config.loadBalancerId,
        client: setup.lbaas ?? createLbaasClient({
          projectId: config.projectId,
          apiKey: config.apiKey,
          lbaasUrl: config.lbaasUrl,
          tokenExchangeUrl: config.tokenExchangeUrl,
          metrics: ctx.metrics,
          userAgent: setup.userAgent,
          fetch: setup.fetch,
        }),
      }
      : undefined,
    apiServerPort: config.apiServerPort,
    informers: ctx.informers,
    kube: kubeControlPlaneWriter(ctx.kube),
    kubeConfig: ctx.kube.config,
    prober: setup.prober,
    recorder: ctx.recorder,
    metrics: ctx.metrics,
    logger: getLogger([...ctx.logger.category, "control-plane"]),
    timing: {
      // 0 (a configuration without these settings) keeps the defaults.
      ...(config.controlPlaneCheckPeriod > 0 ? { periodMs: config.controlPlaneCheckPeriod * 1000 } : {}),
      ...(config.controlPlaneFailureThreshold > 0
        ? { failureThreshold: config.controlPlaneFailureThreshold }
        : {}),
      ...setup.timing,
    },
  });
}
