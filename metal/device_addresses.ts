/**
 * The Node addresses of a device, upstream CPEM's rules: hostname, the kubelet-provided node IP, then the
 * device's IPv4 addresses (public → ExternalIP, otherwise InternalIP).
 *
 * @module
 */
import type { V1NodeAddress } from "@kubernetes/client-node";
import type { Device } from "./api/types.ts";

/** Why a device's addresses cannot make a Node; `reason` doubles as the Event reason. */
export class DeviceAddressError extends Error {
  readonly reason: "NoPrivateIPv4Address" | "NoPublicIPv4Address";
  constructor(reason: DeviceAddressError["reason"], message: string) {
    super(message);
    this.name = "DeviceAddressError";
    this.reason = reason;
  }
}

/**
 * Node addresses of `device`, first occurrence of an address wins:
 * 1. `Hostname` = the device hostname (when it has one);
 * 2. `InternalIP` for each address in `providedNodeIp` (kubelet `--node-ip`, comma-separated when dual-stack),
 *    verbatim — it counts as the private address;
 * 3. each IPv4 of the device in API order: public → `ExternalIP`, otherwise `InternalIP`. IPv6 is skipped.
 *
 * @throws {DeviceAddressError} When there is no private IPv4 (and no provided node IP), or no public IPv4.
 */
export function deviceNodeAddresses(device: Device, providedNodeIp?: string): V1NodeAddress[] {
  const addresses: V1NodeAddress[] = [];
  const seen = new Set<string>();
  const add = (type: string, address: string) => {
    if (seen.has(address)) return;
    seen.add(address);
    addresses.push({ type, address });
  };
  if (device.hostname) add("Hostname", device.hostname);
  const provided = (providedNodeIp ?? "").split(",").map((ip) => ip.trim()).filter((ip) => ip !== "");
  for (const ip of provided) add("InternalIP", ip);
  let privateFound = provided.length > 0;
  let publicFound = false;
  for (const ip of device.ipAddresses) {
    if (ip.addressFamily !== 4) continue;
    if (ip.public) {
      publicFound = true;
      add("ExternalIP", ip.address);
    } else {
      privateFound = true;
      add("InternalIP", ip.address);
    }
  }
  const which = `device '${device.id}' (hostname '${device.hostname}')`;
  if (!privateFound) {
    throw new DeviceAddressError(
      "NoPrivateIPv4Address",
      `could not get at least one private ip: ${which} has no private IPv4 address; give it one, or set the ` +
        "node IP with the kubelet flag --node-ip",
    );
  }
  if (!publicFound) {
    throw new DeviceAddressError(
      "NoPublicIPv4Address",
      `could not get at least one public ip: ${which} has no public IPv4 address; give it one`,
    );
  }
  return addresses;
}
