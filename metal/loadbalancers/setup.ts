/**
 * Builds the Service load balancer side of the provider at initialize (upstream Initialize steps 4–5,
 * upstream's metal/cloud.go): reads the cluster id, makes sure project BGP is enabled when the mode announces
 * with BGP, and wires the shared logic, the chosen implementation and the provider loops (BGP node
 * controller, janitor).
 *
 * BGP enablement policy: project BGP is ensured only in the modes that announce with BGP (kube-vip, empty,
 * MetalLB); with load balancers disabled (`""`) or with EMLB the project's BGP settings are left alone.
 * Upstream enabled BGP on every start (docs/upstream.md#bgp-at-every-start), which
 * kubernetes-sigs/cloud-provider-equinix-metal#200 users did not want from a CCM told to do nothing. Failing
 * to enable it in a BGP mode is fatal, as upstream.
 *
 * @module
 */
import { type CloudInitContext, type Controller, coreV1NodeWriter } from "../../provider/mod.ts";
import { errorMessage } from "../../util/errors.ts";
import type { MetalClient } from "../api/client.ts";
import { BGP_NODE_CONTROLLER, BgpNodeController } from "../bgp/node_controller.ts";
import { BgpNodeManager } from "../bgp/node_bgp.ts";
import { ensureProjectBgp } from "../bgp/project.ts";
import type { MetalConfig } from "../config.ts";
import type { DeviceCache } from "../device_cache.ts";
import {
  formatLoadBalancerSetting,
  type LoadBalancerMode,
  loadBalancerModeOf,
} from "../load_balancer_config.ts";
import { ElasticIps } from "./eip.ts";
import { coreV1ServicePatcher, ElasticIpLoadBalancer } from "./elastic_ip_load_balancer.ts";
import { EmlbLoadBalancer } from "./emlb_load_balancer.ts";
import {
  createElasticIpImplementation,
  createEmlbImplementation,
  type ImplementationDeps,
} from "./factory.ts";
import { LoadBalancerJanitor } from "./janitor.ts";
import type { LoadBalancerImplementation } from "./implementation.ts";
import { ReservationCache } from "./reservation_cache.ts";
import type { MetalLoadBalancerOptions } from "./service_lb.ts";

/** What {@linkcode setupLoadBalancers} built. */
export interface LoadBalancerSetup {
  loadBalancer: ElasticIpLoadBalancer | EmlbLoadBalancer;
  /** Provider loops to run on the leader. */
  controllers: Controller[];
}

/** Input of {@linkcode setupLoadBalancers}. */
export interface SetupLoadBalancersOptions {
  ctx: CloudInitContext;
  config: MetalConfig;
  client: MetalClient;
  /** The shared device list; BGP reads the nodes' private networks from it. */
  devices?: DeviceCache;
  version: string;
  /** Replaces `fetch` for LBaaS calls; for tests. */
  fetch?: (request: Request) => Promise<Response>;
}

/**
 * Builds the load balancer, or returns `undefined` when `METAL_LOAD_BALANCER` is empty.
 *
 * @throws {Error} When the `kube-system` namespace cannot be read, or BGP cannot be enabled in a BGP mode.
 */
export async function setupLoadBalancers(
  options: SetupLoadBalancersOptions,
): Promise<LoadBalancerSetup | undefined> {
  const { ctx, config } = options;
  const logger = ctx.logger;
  const mode = loadBalancerModeOf(config.loadBalancer);
  if (mode === undefined) {
    logger.info(
      "Service load balancers are disabled (METAL_LOAD_BALANCER is empty); project BGP is left alone",
    );
    return undefined;
  }
  const clusterId = await readClusterId(ctx);
  const deps: ImplementationDeps = {
    kube: ctx.kube,
    projectId: config.projectId,
    apiKey: config.apiKey,
    lbaasUrl: config.lbaasUrl,
    tokenExchangeUrl: config.tokenExchangeUrl,
    recorder: ctx.recorder,
    metrics: ctx.metrics,
    userAgent: `cloud-provider-equinix-metal/${options.version}`,
    metalLbPasswordSecret: config.metallbPasswordSecret,
    metalLbBgpType: config.metallbBgpType,
    fetch: options.fetch,
  };
  const common: SharedOptions = {
    clusterId,
    nodeSelector: config.bgpNodeSelector,
    eipTag: config.eipTag,
    controlPlaneLoadBalancerId: config.loadBalancerId,
  };
  const built: BuiltLoadBalancer = mode.kind === "elastic-ip"
    ? await setupElasticIps(options, mode, deps, common)
    : {
      loadBalancer: new EmlbLoadBalancer({
        ...common,
        implementation: createEmlbImplementation(mode.implementation, deps),
      }),
      controllers: [],
    };
  const { loadBalancer, eips, reservations } = built;
  const orphanSweep = config.eipOrphanSweep && eips !== undefined;
  const controllers: Controller[] = [
    ...built.controllers,
    new LoadBalancerJanitor({
      implementation: loadBalancer.implementation,
      services: ctx.informers.services(),
      nodes: ctx.informers.nodes(),
      orphanSweep,
      eips,
      reservations,
      clusterId,
      recorder: ctx.recorder,
      metrics: ctx.metrics,
    }),
  ];
  logger.info("Set up Service load balancers", {
    loadBalancer: formatLoadBalancerSetting(config.loadBalancer),
    implementation: loadBalancer.implementation.name,
    clusterId,
    bgp: mode.kind === "elastic-ip",
    orphanSweep,
  });
  return { loadBalancer, controllers };
}

/** The options both load balancers take, but the implementation. */
type SharedOptions = Omit<MetalLoadBalancerOptions<LoadBalancerImplementation>, "implementation">;

/** The load balancer with what the janitor needs, and the mode's own loops. */
interface BuiltLoadBalancer {
  loadBalancer: ElasticIpLoadBalancer | EmlbLoadBalancer;
  controllers: Controller[];
  /** Elastic IP modes only. */
  eips?: ElasticIps;
  reservations?: ReservationCache;
}

/**
 * The elastic IP modes: project BGP (ensured now, and again by the BGP node manager when a node finds it
 * off), the BGP node controller, the reservations and the load balancer.
 */
async function setupElasticIps(
  options: SetupLoadBalancersOptions,
  mode: Extract<LoadBalancerMode, { kind: "elastic-ip" }>,
  deps: ImplementationDeps,
  common: SharedOptions,
): Promise<BuiltLoadBalancer> {
  const { ctx, config, client } = options;
  const ensureBgp = async (signal?: AbortSignal) => {
    await ensureProjectBgp({
      client,
      projectId: config.projectId,
      localAsn: config.localAsn,
      bgpPass: config.bgpPass,
      logger: ctx.logger,
      signal: signal ?? ctx.signal,
    });
  };
  await ensureBgp();
  const implementation = createElasticIpImplementation(mode.implementation, deps);
  const reservations = new ReservationCache({ client, projectId: config.projectId, metrics: ctx.metrics });
  const eips = new ElasticIps({
    reservations,
    clusterId: common.clusterId,
    location: config,
    recorder: ctx.recorder,
    metrics: ctx.metrics,
  });
  const bgp = new BgpNodeManager({
    client,
    devices: options.devices,
    projectId: config.projectId,
    // Annotating every joining node is bulk work: on a client of its own, the Services' writes never wait
    // behind it.
    nodes: coreV1NodeWriter((ctx.kubeFor?.(BGP_NODE_CONTROLLER) ?? ctx.kube).core),
    templates: {
      localAsn: config.annotationLocalAsn,
      peerAsn: config.annotationPeerAsn,
      peerIp: config.annotationPeerIp,
      srcIp: config.annotationSrcIp,
      bgpPass: config.annotationBgpPass,
      networkIpv4Private: config.annotationNetworkIpv4Private,
    },
    includePassword: config.bgpPasswordInAnnotations,
    recorder: ctx.recorder,
    metrics: ctx.metrics,
    ensureProjectBgp: ensureBgp,
  });
  const controller = new BgpNodeController({
    manager: bgp,
    nodes: ctx.informers.nodes(),
    selector: config.bgpNodeSelector,
    registry: ctx.metrics,
  });
  const loadBalancer = new ElasticIpLoadBalancer({
    ...common,
    implementation,
    eips,
    bgp,
    exposure: mode.exposure,
    peers: mode.peers,
    services: coreV1ServicePatcher(ctx.kube.core),
    recorder: ctx.recorder,
  });
  return { loadBalancer, controllers: [controller], eips, reservations };
}

/** UID of the `kube-system` namespace: the cluster id in reservation tags (upstream). */
async function readClusterId(ctx: CloudInitContext): Promise<string> {
  let uid: string | undefined;
  try {
    uid = (await ctx.kube.core.readNamespace({ name: "kube-system" })).metadata?.uid;
  } catch (err) {
    throw new Error(
      `Failed to read namespace 'kube-system', whose UID tags this cluster's elastic IPs: ${
        errorMessage(err)
      }; ` +
        "check that the CCM may 'get' namespaces",
      { cause: err },
    );
  }
  if (!uid) throw new Error("Namespace 'kube-system' has no UID; cannot tag this cluster's elastic IPs");
  return uid;
}
