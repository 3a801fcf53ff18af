/**
 * Node `spec.providerID` for Equinix Metal devices: `equinixmetal://<device-uuid>`.
 *
 * @module
 */
import { NodeNotManagedError } from "../provider/mod.ts";

/**
 * Prefix of the providerIDs we write. Never change it: every existing Node stores it in `spec.providerID`
 * (which is immutable once set), so a new prefix would orphan them all.
 */
export const PROVIDER_ID_PREFIX = "equinixmetal://";

/**
 * Provider names accepted when reading a providerID: ours, and `packet` from the CCM's earlier name (nodes
 * initialized by packet-ccm still carry `packet://<uuid>`).
 */
const ACCEPTED_PROVIDER_NAMES: readonly string[] = ["equinixmetal", "packet"];

/** The providerID of a device. */
export function providerIdFromDeviceId(deviceId: string): string {
  return `${PROVIDER_ID_PREFIX}${deviceId}`;
}

/**
 * The device id in a providerID, upstream `deviceIDFromProviderID`. Accepts `equinixmetal://<id>`,
 * `packet://<id>` and a bare `<id>`.
 *
 * @throws {NodeNotManagedError} When the providerID names another provider (`aws://...`): the node is not ours.
 * @throws {Error} When the providerID is empty or malformed.
 */
export function deviceIdFromProviderId(providerId: string): string {
  if (providerId === "") throw new Error("providerID cannot be empty string");
  const parts = providerId.split("://");
  if (parts.length === 1) return providerId;
  if (parts.length > 2) {
    throw new Error(
      `unexpected providerID format: ${providerId}, format should be: 'device-id' or 'equinixmetal://device-id'`,
    );
  }
  const [name = "", deviceId = ""] = parts;
  if (!ACCEPTED_PROVIDER_NAMES.includes(name)) {
    throw new NodeNotManagedError(`provider name from providerID should be equinixmetal, was ${name}`);
  }
  return deviceId;
}

/**
 * The device id in `providerId`, or `undefined` when there is none: no providerID yet, another provider's
 * node, or a malformed providerID (which the cloud node controller reports). For code that only acts on our
 * devices.
 */
export function ownDeviceId(providerId: string | undefined): string | undefined {
  if (!providerId) return undefined;
  try {
    return deviceIdFromProviderId(providerId) || undefined;
  } catch {
    return undefined;
  }
}
