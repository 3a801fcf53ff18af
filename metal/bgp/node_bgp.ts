/**
 * {@linkcode BgpNodeManager}: BGP for one Node's device — the IPv4 BGP session (upstream's metal/bgp.go), the
 * neighbour data the load balancer implementations peer with, and the Node's BGP annotations (upstream's
 * metal/bgp.go). Shared by the service load balancer (which needs the peers) and the BGP node controller
 * (which keeps annotations current), with caches so that N Services over M nodes do not cost N×M API calls,
 * and idle nodes cost no per-node calls at all:
 * - devices known to have a session are not asked again (until the project's session list or their neighbour
 *   data shows none);
 * - neighbour data and private networks are cached per device (single-flight) until something they derive
 *   from changes: {@linkcode BgpNodeManager.checkProject} reads the project's BGP configuration and session list
 *   (two calls, whatever the number of nodes) and drops what they show to be stale;
 * - a device's private network is read from the shared device list (which expands parent blocks), so a new
 *   node costs two calls: its session and its neighbour data;
 * - a Node is patched only when its annotations differ.
 *
 * Neighbour data is the project's ASN and MD5 password, the device's private address and the Metal routers'
 * (fixed) peers; a device's private network is the parent block of its management address, which it keeps for
 * its lifetime. Re-reading either per device on a timer cost 14 calls per node per hour for nothing.
 *
 * @module
 */
import type { V1Node } from "@kubernetes/client-node";
import { getLogger, type Logger } from "@logtape/logtape";
import { Counter, type Registry } from "prom-client";
import { type Clock, systemClock } from "../../util/clock.ts";
import {
  type EventRecorder,
  getOrCreateCounter,
  NodeNotManagedError,
  type NodeWriter,
} from "../../provider/mod.ts";
import { maskSecrets } from "../../util/log.ts";
import type { MetalClient, RequestPriority } from "../api/client.ts";
import { isInvalidWith } from "../api/errors.ts";
import type { BgpNeighbor, Device } from "../api/types.ts";
import type { BgpNodePeer } from "./peer.ts";
import { deviceIdFromProviderId } from "../provider_id.ts";
import {
  annotationPatch,
  type AnnotationTemplates,
  desiredBgpAnnotations,
  privateNetworkValue,
  removedBgpAnnotations,
} from "./annotations.ts";
import { errorMessage } from "../../util/errors.ts";

/**
 * BGP calls wait behind node initialization and Services at the shared Metal rate limiter: a join burst of
 * 1,000 nodes queues 2,000 BGP calls, and none of them should delay a node's providerID or a Service's address.
 */
export const BGP_PRIORITY: RequestPriority = "background";

/** Event reasons on Nodes; part of the user-facing contract (alerts may match them). */
export const BGP_NODE_EVENT_REASONS = Object.freeze({
  sessionFailed: "BGPSessionFailed",
  neighborsUnavailable: "BGPNeighborsUnavailable",
  privateNetworkUnavailable: "BGPPrivateNetworkUnavailable",
  annotationFailed: "BGPAnnotationFailed",
  nodeSkipped: "BGPNodeSkipped",
});

/**
 * Default time neighbour data is reused: until {@linkcode BgpNodeManager.checkProject} (or a missing neighbour)
 * invalidates it.
 */
export const DEFAULT_NEIGHBOR_TTL_MS = Infinity;
/** Default time a device's private network is reused: until its Node is deleted. */
export const DEFAULT_NETWORK_TTL_MS = Infinity;

/** `include` that expands the parent blocks of a device's addresses (upstream's string). */
export const PRIVATE_NETWORK_INCLUDE = ["ip_addresses.parent_block", "parent_block"];

/** A Node could not be set up for BGP; already reported as a Warning Event on the Node. */
export class BgpNodeError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BgpNodeError";
    this.reason = reason;
  }
}

/** Options of {@linkcode BgpNodeManager}. */
export interface BgpNodeManagerOptions {
  client: Pick<
    MetalClient,
    "createBgpSession" | "getBgpNeighbors" | "getDevice" | "getBgpConfig" | "listProjectBgpSessions"
  >;
  /** Project of the nodes' devices, read by {@linkcode BgpNodeManager.checkProject}. */
  projectId: string;
  /** Writes Node annotations (JSON merge patch). */
  nodes: Pick<NodeWriter, "patch">;
  templates: AnnotationTemplates;
  /** Write `bgp-pass` annotations (`METAL_BGP_PASSWORD_IN_ANNOTATIONS`). */
  includePassword: boolean;
  recorder?: EventRecorder;
  metrics?: Registry;
  clock?: Clock;
  /** Default category `["ccm", "metal", "bgp"]`. */
  logger?: Logger;
  neighborTtlMs?: number;
  networkTtlMs?: number;
  /**
   * The project's devices as already listed (the shared device cache): a node's private network is read from
   * there, with a device GET only when the cached device lacks its parent block.
   */
  devices?: { getById(deviceId: string, options?: { signal?: AbortSignal }): Promise<Device> };
  /**
   * Called when the API refuses a session because BGP is not enabled on the project (someone disabled it);
   * should enable it again. The session is then tried once more.
   */
  ensureProjectBgp?: (signal?: AbortSignal) => Promise<void>;
}

/** Options of {@linkcode BgpNodeManager.ensureNode}. */
export interface EnsureNodeOptions {
  signal?: AbortSignal;
  /** Re-read neighbour data older than this (the controller's periodic refresh). */
  maxAgeMs?: number;
}

interface Cached<T> {
  value: T;
  fetchedAt: number;
}

/** IPv4 neighbour data of a device, or `undefined` when the API lists none (yet). */
type Neighbor = BgpNeighbor | undefined;

/** What {@linkcode BgpNodeManager.checkProject} found. */
export interface ProjectCheck {
  /** The project's BGP configuration (status, ASN, MD5) changed since the last check: neighbours re-read. */
  configChanged: boolean;
  /** Devices we had a session for that the project's session list no longer shows: set up again. */
  lostSessions: string[];
}

/** See the module documentation. */
export class BgpNodeManager {
  #o: BgpNodeManagerOptions;
  #clock: Clock;
  #logger: Logger;
  /** Devices known to have an IPv4 session, with when that was confirmed. */
  #sessions = new Map<string, number>();
  /** Status, ASN and MD5 of the project's BGP configuration at the last {@linkcode checkProject}. */
  #projectFingerprint: string | undefined;
  #neighbors = new TtlCache<Neighbor>();
  #networks = new TtlCache<string>();
  #sessionsTotal: Counter<"result"> | undefined;
  #patchesTotal: Counter<"result"> | undefined;

  constructor(options: BgpNodeManagerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? getLogger(["ccm", "metal", "bgp"]);
    if (options.metrics) {
      this.#sessionsTotal = getOrCreateCounter(options.metrics, {
        name: "ccm_equinixmetal_bgp_sessions_total",
        help: "BGP session requests for devices, by result (created, existing or error)",
        labelNames: ["result"] as const,
      });
      this.#patchesTotal = getOrCreateCounter(options.metrics, {
        name: "ccm_equinixmetal_bgp_node_annotation_patches_total",
        help: "Node BGP annotation patches, by result (success or error)",
        labelNames: ["result"] as const,
      });
    }
  }

  /**
   * Sets up BGP for `node`: session, neighbour data, annotations. Returns the node's peers, or `undefined` when
   * the API has no IPv4 neighbour data for it yet, or it belongs to another provider.
   *
   * @throws {BgpNodeError} When a step failed; a Warning Event on the Node says which and why.
   */
  async ensureNode(node: V1Node, options: EnsureNodeOptions = {}): Promise<BgpNodePeer | undefined> {
    const { signal } = options;
    const name = node.metadata?.name ?? "";
    const providerId = node.spec?.providerID ?? "";
    if (providerId === "") {
      throw this.#fail(
        node,
        BGP_NODE_EVENT_REASONS.nodeSkipped,
        `Skipped BGP setup for node "${name}": it has no providerID yet (the cloud node controller sets it)`,
      );
    }
    let deviceId: string;
    try {
      deviceId = deviceIdFromProviderId(providerId);
    } catch (err) {
      if (err instanceof NodeNotManagedError) return undefined;
      throw this.#fail(
        node,
        BGP_NODE_EVENT_REASONS.nodeSkipped,
        `Skipped BGP setup for node "${name}": ${errorMessage(err)}`,
        err,
      );
    }
    try {
      await this.#ensureSession(deviceId, signal);
    } catch (err) {
      throw this.#fail(
        node,
        BGP_NODE_EVENT_REASONS.sessionFailed,
        `Failed to enable BGP on device '${deviceId}' of node "${name}": ${errorMessage(err)}`,
        err,
      );
    }
    let neighbor: Neighbor;
    try {
      neighbor = await this.#neighbors.get(
        deviceId,
        () => this.#readNeighbor(deviceId, signal),
        this.#maxAge(options.maxAgeMs, this.#o.neighborTtlMs ?? DEFAULT_NEIGHBOR_TTL_MS),
        this.#clock,
      );
    } catch (err) {
      throw this.#fail(
        node,
        BGP_NODE_EVENT_REASONS.neighborsUnavailable,
        `Failed to read BGP neighbours of device '${deviceId}' of node "${name}": ${errorMessage(err)}`,
        err,
      );
    }
    if (neighbor === undefined) {
      // A session deleted behind our back shows up as no neighbour: ask for it again next time.
      this.#sessions.delete(deviceId);
      this.#neighbors.delete(deviceId);
    }
    let network: string | undefined;
    try {
      network = await this.#networks.get(
        deviceId,
        () => this.#readPrivateNetwork(deviceId, signal),
        this.#o.networkTtlMs ?? DEFAULT_NETWORK_TTL_MS,
        this.#clock,
      );
    } catch (err) {
      this.#o.recorder?.warn(
        node,
        BGP_NODE_EVENT_REASONS.privateNetworkUnavailable,
        maskSecrets(`Cannot annotate node "${name}" with its private network: ${errorMessage(err)}`),
      );
    }
    const peerIps = neighbor?.peerIps ?? [];
    const data = neighbor && peerIps.length > 0
      ? {
        localAsn: neighbor.customerAs ?? 0,
        peerAsn: neighbor.peerAs ?? 0,
        sourceIp: neighbor.customerIp ?? "",
        peerIps,
        password: neighbor.md5Password ?? "",
      }
      : undefined;
    await this.#patch(
      node,
      desiredBgpAnnotations(node.metadata?.annotations, {
        templates: this.#o.templates,
        bgp: data,
        privateNetwork: network,
        includePassword: this.#o.includePassword,
      }),
      signal,
    );
    if (data === undefined) {
      this.#o.recorder?.warn(
        node,
        BGP_NODE_EVENT_REASONS.neighborsUnavailable,
        `The Metal API lists no IPv4 BGP neighbour for device '${deviceId}' of node "${name}" yet; ` +
          "its BGP peers are not configured until it does",
      );
      return undefined;
    }
    return {
      nodeName: name,
      sourceIP: data.sourceIp,
      localASN: data.localAsn,
      peerASN: data.peerAsn,
      peerIPs: [...data.peerIps].sort(),
      password: data.password,
    };
  }

  /**
   * Looks for changes that make cached data stale, with two project-level calls: a changed project BGP
   * configuration drops every device's neighbour data; a device missing from the project's session list loses
   * its cached session and neighbour data, so the next {@linkcode ensureNode} sets it up again; devices the list
   * shows with a session need no session request. Call it at start and once per resync period, before ensuring
   * the nodes.
   *
   * @throws {Error} When either call fails (nothing is invalidated then).
   */
  async checkProject(signal?: AbortSignal): Promise<ProjectCheck> {
    const started = this.#clock.now();
    const [config, sessions] = await Promise.all([
      this.#o.client.getBgpConfig(this.#o.projectId, { signal, priority: BGP_PRIORITY }),
      this.#o.client.listProjectBgpSessions(this.#o.projectId, { signal, priority: BGP_PRIORITY }),
    ]);
    const fingerprint = JSON.stringify([config.status ?? "", config.asn ?? 0, config.md5 ?? ""]);
    const configChanged = this.#projectFingerprint !== undefined && fingerprint !== this.#projectFingerprint;
    this.#projectFingerprint = fingerprint;
    if (configChanged) {
      this.#neighbors.clear();
      this.#logger.info("Project BGP configuration changed; re-reading BGP neighbours of every node");
    }
    const live = new Set(sessions.filter((s) => s.addressFamily === "ipv4").map((s) => s.deviceId));
    const lostSessions: string[] = [];
    for (const [deviceId, confirmedAt] of this.#sessions) {
      // A session confirmed after the list was requested may simply be missing from it.
      if (live.has(deviceId) || confirmedAt >= started) continue;
      lostSessions.push(deviceId);
      this.#sessions.delete(deviceId);
      this.#neighbors.delete(deviceId);
    }
    if (lostSessions.length > 0) {
      this.#logger.warn("BGP sessions of devices disappeared; creating them again", {
        deviceIds: lostSessions,
      });
    }
    // Sessions that exist already (a restart) need no request.
    const now = this.#clock.now();
    for (const deviceId of live) {
      if (deviceId && !this.#sessions.has(deviceId)) this.#sessions.set(deviceId, now);
    }
    return { configChanged, lostSessions };
  }

  /** Removes the per-peer BGP annotations of a Node that is no longer selected for BGP. */
  async clearNode(node: V1Node, signal?: AbortSignal): Promise<void> {
    await this.#patch(node, removedBgpAnnotations(node.metadata?.annotations, this.#o.templates), signal);
  }

  /** Forgets what is cached about a device (its Node was deleted). */
  forgetDevice(deviceId: string): void {
    this.#sessions.delete(deviceId);
    this.#neighbors.delete(deviceId);
    this.#networks.delete(deviceId);
  }

  /** Records a Warning Event on the Node (and logs it) and returns the error to throw. */
  #fail(node: V1Node, reason: string, message: string, cause?: unknown): BgpNodeError {
    const text = maskSecrets(message);
    if (this.#o.recorder) this.#o.recorder.warn(node, reason, text);
    else this.#logger.warn(text, { node: node.metadata?.name, reason });
    return new BgpNodeError(reason, text, { cause });
  }

  #maxAge(requested: number | undefined, ttl: number): number {
    return Math.min(requested ?? ttl, ttl);
  }

  async #patch(node: V1Node, wanted: Record<string, string | null>, signal?: AbortSignal): Promise<void> {
    const name = node.metadata?.name ?? "";
    const patch = annotationPatch(node.metadata?.annotations, wanted);
    if (patch === undefined) return;
    signal?.throwIfAborted();
    try {
      await this.#o.nodes.patch(name, patch, "merge");
    } catch (err) {
      this.#patchesTotal?.inc({ result: "error" });
      throw this.#fail(
        node,
        BGP_NODE_EVENT_REASONS.annotationFailed,
        `Failed to write BGP annotations on node "${name}": ${errorMessage(err)}`,
        err,
      );
    }
    this.#patchesTotal?.inc({ result: "success" });
    this.#logger.info("Updated node BGP annotations", {
      v: 2,
      node: name,
      keys: Object.keys(patch.metadata.annotations).length,
    });
  }

  async #ensureSession(deviceId: string, signal?: AbortSignal): Promise<void> {
    if (this.#sessions.has(deviceId)) return;
    for (let attempt = 1;; attempt++) {
      try {
        await this.#o.client.createBgpSession(deviceId, "ipv4", { signal, priority: BGP_PRIORITY });
        this.#sessionsTotal?.inc({ result: "created" });
        this.#logger.info("Created BGP session", { v: 2, deviceId });
      } catch (err) {
        if (isInvalidWith(err, "already has session")) {
          this.#sessionsTotal?.inc({ result: "existing" });
        } else if (attempt === 1 && isInvalidWith(err, "not enabled") && this.#o.ensureProjectBgp) {
          this.#logger.warn("BGP is not enabled on the project; enabling it again", { deviceId });
          await this.#o.ensureProjectBgp(signal);
          continue;
        } else {
          this.#sessionsTotal?.inc({ result: "error" });
          throw err;
        }
      }
      this.#sessions.set(deviceId, this.#clock.now());
      return;
    }
  }

  async #readNeighbor(deviceId: string, signal?: AbortSignal): Promise<Neighbor> {
    const neighbors = await this.#o.client.getBgpNeighbors(deviceId, { signal, priority: BGP_PRIORITY });
    return neighbors.find((n) => n.addressFamily === 4);
  }

  async #readPrivateNetwork(deviceId: string, signal?: AbortSignal): Promise<string> {
    const listed = await this.#o.devices?.getById(deviceId, { signal }).catch(() => undefined);
    if (listed !== undefined && hasPrivateNetwork(listed)) return privateNetworkOf(listed);
    const device = await this.#o.client.getDevice(deviceId, {
      include: PRIVATE_NETWORK_INCLUDE,
      signal,
      priority: BGP_PRIORITY,
    });
    return privateNetworkOf(device);
  }
}

/**
 * `"<network>/<cidr>"` of the parent block of the device's management private IPv4 (upstream's rule).
 *
 * @throws {Error} When the device has no such address, or its parent block was not expanded.
 */
export function privateNetworkOf(device: Pick<Device, "id" | "ipAddresses">): string {
  const ip = device.ipAddresses.find((a) => !a.public && a.management && a.addressFamily === 4);
  if (ip === undefined) {
    throw new Error(`device '${device.id}' has no private management IPv4 address`);
  }
  const block = ip.parentBlock;
  if (!block?.network || !block.cidr) {
    throw new Error(`no network information provided for private address ${ip.address}`);
  }
  return privateNetworkValue(block.network, block.cidr);
}

/** Whether {@linkcode privateNetworkOf} can answer from `device` (its parent block was expanded). */
function hasPrivateNetwork(device: Pick<Device, "ipAddresses">): boolean {
  const ip = device.ipAddresses.find((a) => !a.public && a.management && a.addressFamily === 4);
  return Boolean(ip?.parentBlock?.network && ip.parentBlock.cidr);
}

/** Per-key cache with single-flight reads; failed reads are not cached. */
class TtlCache<T> {
  #values = new Map<string, Cached<T>>();
  #inflight = new Map<string, Promise<T>>();

  get(key: string, read: () => Promise<T>, maxAgeMs: number, clock: Clock): Promise<T> {
    const cached = this.#values.get(key);
    if (cached && clock.now() - cached.fetchedAt < maxAgeMs) return Promise.resolve(cached.value);
    const running = this.#inflight.get(key);
    if (running) return running;
    const started = clock.now();
    const promise = read().then((value) => {
      if (this.#inflight.get(key) === promise) this.#values.set(key, { value, fetchedAt: started });
      return value;
    }).finally(() => {
      if (this.#inflight.get(key) === promise) this.#inflight.delete(key);
    });
    this.#inflight.set(key, promise);
    return promise;
  }

  delete(key: string): void {
    this.#values.delete(key);
    this.#inflight.delete(key);
  }

  /** Forgets every value (reads in flight are not stored). */
  clear(): void {
    this.#values.clear();
    this.#inflight.clear();
  }
}
