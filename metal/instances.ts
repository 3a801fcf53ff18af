/**
 * {@linkcode MetalInstances}: InstancesV2 for Equinix Metal — which device backs a Node, whether it still
 * exists or is shut down, and its metadata (providerID, plan, metro, facility, addresses).
 *
 * @module
 */
import type { V1Node, V1NodeAddress } from "@kubernetes/client-node";
import { getLogger, type Logger } from "@logtape/logtape";
import {
  ANNOTATION_PROVIDED_NODE_IP,
  type EventRecorder,
  type InstanceMetadata,
  InstanceNotFoundError,
  type InstancesV2,
  RetryError,
} from "../provider/mod.ts";
import { isDefinitelyNotFound, MetalRateLimitedError } from "./api/errors.ts";
import type { Device } from "./api/types.ts";
import { DeviceAddressError, deviceNodeAddresses } from "./device_addresses.ts";
import type { DeviceCache } from "./device_cache.ts";
import { deviceIdFromProviderId, PROVIDER_ID_PREFIX, providerIdFromDeviceId } from "./provider_id.ts";

/** Event reasons on Nodes; part of the user-facing contract (alerts may match them). */
export const NODE_EVENT_REASONS = Object.freeze({
  deviceNotFound: "DeviceNotFound",
  ambiguousDevice: "AmbiguousDevice",
});

/** Options of {@linkcode MetalInstances}. */
export interface MetalInstancesOptions {
  /** The shared device cache. */
  devices: DeviceCache;
  /** Project id, for messages. */
  projectId: string;
  /** Records Warning Events on Nodes for problems the user can fix; none when absent. */
  recorder?: EventRecorder;
  /** Default category `["ccm", "metal", "instances"]`. */
  logger?: Logger;
}

/**
 * InstancesV2 over the shared {@linkcode DeviceCache}.
 *
 * A Node's device is found by providerID; a Node without one is matched by hostname, then by any of its
 * addresses (status or kubelet `--node-ip`). `instanceExists` resolves `false` only when a fresh project list
 * lacks the device and the API answered 404 for it; every other failure rejects, so the Node is kept.
 */
export class MetalInstances implements InstancesV2 {
  #devices: DeviceCache;
  #projectId: string;
  #recorder: EventRecorder | undefined;
  #logger: Logger;

  constructor(options: MetalInstancesOptions) {
    this.#devices = options.devices;
    this.#projectId = options.projectId;
    this.#recorder = options.recorder;
    this.#logger = options.logger ?? getLogger(["ccm", "metal", "instances"]);
  }

  /**
   * Whether the Node's device exists (by providerID only, as upstream).
   *
   * @throws {NodeNotManagedError} For another provider's providerID.
   * @throws {Error} For an empty or malformed providerID, or any API failure other than a definite 404.
   */
  async instanceExists(node: V1Node, signal?: AbortSignal): Promise<boolean> {
    const deviceId = deviceIdOf(node);
    try {
      await this.#devices.getById(deviceId, { signal });
      return true;
    } catch (err) {
      if (isDefinitelyNotFound(err)) {
        this.#logger.info("Found no device for node", { node: nodeName(node), deviceId });
        return false;
      }
      throw retryLater(err);
    }
  }

  /**
   * Whether the Node's device is powered off (state `inactive`; `powering_off` and others are not).
   *
   * @throws {InstanceNotFoundError} When the device does not exist.
   */
  async instanceShutdown(node: V1Node, signal?: AbortSignal): Promise<boolean> {
    const device = await this.#byProviderId(node, signal);
    return device.state === "inactive";
  }

  /**
   * The Node's metadata: providerID, plan slug, metro (region), facility (zone) and addresses.
   *
   * @throws {InstanceNotFoundError} When no device matches the Node.
   * @throws {Error} When several devices match, or the device lacks a private or public IPv4.
   */
  async instanceMetadata(node: V1Node, signal?: AbortSignal): Promise<InstanceMetadata> {
    const device = await this.#deviceForNode(node, signal);
    let nodeAddresses: V1NodeAddress[];
    try {
      nodeAddresses = deviceNodeAddresses(device, node.metadata?.annotations?.[ANNOTATION_PROVIDED_NODE_IP]);
    } catch (err) {
      if (err instanceof DeviceAddressError) this.#recorder?.warn(node, err.reason, err.message);
      throw err;
    }
    return {
      providerID: providerIdFromDeviceId(device.id),
      instanceType: device.plan?.slug ?? "",
      region: device.metro?.code ?? device.facility?.metro?.code ?? "",
      zone: device.facility?.code ?? "",
      nodeAddresses,
    };
  }

  async #byProviderId(node: V1Node, signal: AbortSignal | undefined): Promise<Device> {
    const deviceId = deviceIdOf(node);
    try {
      return await this.#devices.getById(deviceId, { signal });
    } catch (err) {
      if (isDefinitelyNotFound(err)) {
        throw new InstanceNotFoundError(
          `instance not found: device '${deviceId}' of node '${nodeName(node)}' does not exist`,
          { cause: err },
        );
      }
      throw retryLater(err);
    }
  }

  /** The device behind `node`: by providerID, else by hostname, else by one of the node's addresses. */
  async #deviceForNode(node: V1Node, signal: AbortSignal | undefined): Promise<Device> {
    if (node.spec?.providerID) return await this.#byProviderId(node, signal);
    const name = nodeName(node);
    if (name === "") throw new Error("node name cannot be empty string");

    const byHostname = await this.#devices.findByHostname(name, { signal }).catch((err) => {
      throw retryLater(err);
    });
    if (byHostname.length === 1) return byHostname[0]!;
    if (byHostname.length > 1) throw this.#ambiguous(node, "hostname", byHostname);

    const addresses = nodeIps(node);
    const byAddress = await this.#devices.findByAddresses(addresses, { signal }).catch((err) => {
      throw retryLater(err);
    });
    if (byAddress.length === 1) {
      this.#logger.info("Matched node to device by address", {
        node: name,
        deviceId: byAddress[0]!.id,
        v: 2,
      });
      return byAddress[0]!;
    }
    if (byAddress.length > 1) throw this.#ambiguous(node, "address", byAddress);

    const tried = addresses.length > 0 ? ` or any of the node's addresses (${addresses.join(", ")})` : "";
    const message =
      `instance not found: no device in project '${this.#projectId}' has hostname '${name}'${tried}; ` +
      `name the node after its device, or set the kubelet flag --provider-id=${PROVIDER_ID_PREFIX}<device-id>`;
    this.#recorder?.warn(node, NODE_EVENT_REASONS.deviceNotFound, message);
    return Promise.reject(new InstanceNotFoundError(message));
  }

  #ambiguous(node: V1Node, by: "hostname" | "address", devices: Device[]): Error {
    const candidates = devices.map((d) => `'${d.id}' (hostname '${d.hostname}')`).join(", ");
    const message =
      `found ${devices.length} devices matching node '${nodeName(node)}' by ${by}: ${candidates}; ` +
      `set the kubelet flag --provider-id=${PROVIDER_ID_PREFIX}<device-id> to choose one`;
    this.#recorder?.warn(node, NODE_EVENT_REASONS.ambiguousDevice, message);
    return new Error(message);
  }
}

/** A rate-limited call becomes a `RetryError`, so the work queue waits as long as the API asked. */
function retryLater(err: unknown): unknown {
  if (!(err instanceof MetalRateLimitedError)) return err;
  return new RetryError(err.message, err.retryAfterMs, { cause: err });
}

function nodeName(node: V1Node): string {
  return node.metadata?.name ?? "";
}

/** The device id in the node's providerID; see {@linkcode deviceIdFromProviderId} for the errors. */
function deviceIdOf(node: V1Node): string {
  const providerId = node.spec?.providerID ?? "";
  const deviceId = deviceIdFromProviderId(providerId);
  if (deviceId === "") {
    throw new Error(
      `providerID '${providerId}' of node '${
        nodeName(node)
      }' has no device id; expected '${PROVIDER_ID_PREFIX}<device-id>'`,
    );
  }
  return deviceId;
}

/** The node's IP addresses: status InternalIP/ExternalIP and the kubelet-provided node IP(s). */
function nodeIps(node: V1Node): string[] {
  const ips = new Set<string>();
  for (const address of node.status?.addresses ?? []) {
    if ((address.type === "InternalIP" || address.type === "ExternalIP") && address.address) {
      ips.add(address.address);
    }
  }
  const provided = node.metadata?.annotations?.[ANNOTATION_PROVIDED_NODE_IP] ?? "";
  for (const ip of provided.split(",")) if (ip.trim()) ips.add(ip.trim());
  return [...ips];
}
