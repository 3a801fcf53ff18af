/**
 * The account around the projects: the one simulated user, SSH keys (the user's and projects'), the event feed
 * and hardware reservations.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { unprocessable } from "../api_error.ts";
import { choices, DEFAULT_METRO, DEFAULT_PLAN, FACILITIES, facilityInMetro, PLANS } from "../catalog.ts";
import { newUuid } from "../ids.ts";
import {
  type AssignmentRecord,
  type DeviceRecord,
  type HardwareReservationRecord,
  isoTime,
  type ReservationRecord,
  type SshKeyRecord,
} from "../model.ts";
import { href } from "../paths.ts";
import type { Store } from "../store.ts";

/** The user every API key belongs to. */
export const USER_ID = "5e4b0a5c-7c8e-4d32-9a57-0c6f3b1d2e90";

/** Key types Metal accepted, and the base64 blob after them (an optional comment may follow). */
const PUBLIC_KEY =
  /^(ssh-rsa|ssh-ed25519|ssh-dss|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) ([A-Za-z0-9+/]+={0,2})(?: .*)?$/;

/** The MD5 fingerprint of an OpenSSH public key line (`aa:bb:…`), or a 422 that says what a key looks like. */
export function fingerprintOf(key: string): string {
  const match = PUBLIC_KEY.exec(key.trim());
  const blob = match ? decodeBase64(match[2]!) : undefined;
  // The blob starts with the key type again, length-prefixed: a pasted private key or garbage fails here.
  const type = blob && blob.length > 4
    ? new TextDecoder().decode(blob.subarray(4, 4 + readUint32(blob)))
    : "";
  if (!match || type !== match[1]) {
    throw unprocessable(
      'Invalid key: it must be an OpenSSH public key line such as "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… me@host" ' +
        "(the contents of ~/.ssh/id_ed25519.pub)",
    );
  }
  return createHash("md5").update(blob!).digest("hex").match(/../g)!.join(":");
}

/** A fresh ed25519 public key line (random bytes: no private key exists for it), for seeds. */
export function generatedPublicKey(comment: string): string {
  const type = new TextEncoder().encode("ssh-ed25519");
  const blob = new Uint8Array(4 + type.length + 4 + 32);
  const view = new DataView(blob.buffer);
  view.setUint32(0, type.length);
  blob.set(type, 4);
  view.setUint32(4 + type.length, 32);
  crypto.getRandomValues(blob.subarray(8 + type.length));
  return `ssh-ed25519 ${btoa(String.fromCharCode(...blob))} ${comment}`;
}

/** Adds an SSH key, the user's or (with `projectId`) a project's. */
export function createSshKey(
  store: Store,
  spec: { label?: string; key: string; tags?: string[]; projectId?: string },
): SshKeyRecord {
  const key = spec.key.trim();
  const fingerprint = fingerprintOf(key);
  for (const other of store.sshKeys.values()) {
    if (other.fingerprint === fingerprint && other.projectId === spec.projectId) {
      throw unprocessable(`Key already exists: SSH key "${other.id}" (label "${other.label}") has this key`);
    }
  }
  const now = isoTime(store.clock.now());
  const record: SshKeyRecord = {
    id: newUuid(),
    label: spec.label ?? "",
    key,
    fingerprint,
    tags: spec.tags ?? [],
    createdAt: now,
    updatedAt: now,
  };
  if (spec.projectId !== undefined) record.projectId = spec.projectId;
  store.sshKeys.set(record.id, record);
  return record;
}

/** Changes an SSH key's label, key or tags. */
export function updateSshKey(
  store: Store,
  record: SshKeyRecord,
  update: { label?: string; key?: string; tags?: string[] },
): void {
  if (update.key !== undefined) {
    record.fingerprint = fingerprintOf(update.key);
    record.key = update.key.trim();
  }
  if (update.label !== undefined) record.label = update.label;
  if (update.tags !== undefined) record.tags = update.tags;
  record.updatedAt = isoTime(store.clock.now());
}

/** Records an API action in the event feed. */
export function recordEvent(
  store: Store,
  event: { type: string; text: string; projectId: string; deviceId?: string; relationships: string[] },
): void {
  store.addEvent({ id: newUuid(), createdAt: isoTime(store.clock.now()), ...event });
}

/** What the feed says of device actions: `instance.<action>` events. */
const DEVICE_EVENT_TEXT = {
  created: "Created",
  updated: "Updated",
  locked: "Locked",
  unlocked: "Unlocked",
  deleted: "Deleted",
  "power_on": "Powered on",
  "power_off": "Powered off",
  reboot: "Rebooted",
  rescue: "Started rescue mode on",
  reinstall: "Reinstalled",
} as const;

/** Records `instance.<action>` for a device. */
export function recordDeviceEvent(
  store: Store,
  d: DeviceRecord,
  action: keyof typeof DEVICE_EVENT_TEXT,
): void {
  recordEvent(store, {
    type: `instance.${action}`,
    text: `${DEVICE_EVENT_TEXT[action]} device ${d.hostname} (${d.id})`,
    projectId: d.projectId,
    deviceId: d.id,
    relationships: [href(`devices/${d.id}`)],
  });
}

/** Records `ip_reservation.created` / `.deleted` for a reservation. */
export function recordReservationEvent(
  store: Store,
  r: ReservationRecord,
  action: "created" | "deleted",
): void {
  recordEvent(store, {
    type: `ip_reservation.${action}`,
    text: `${action === "created" ? "Reserved" : "Released"} ${r.type} ${r.network}/${r.cidr}`,
    projectId: r.projectId,
    relationships: [href(`ips/${r.id}`)],
  });
}

/** Records `ip_assignment.created` / `.deleted`, on the device's feed too. */
export function recordAssignmentEvent(
  store: Store,
  a: AssignmentRecord,
  action: "created" | "deleted",
): void {
  const device = store.devices.get(a.deviceId);
  const block = store.reservations.get(a.reservationId);
  if (!device || !block) return;
  recordEvent(store, {
    type: `ip_assignment.${action}`,
    text: action === "created"
      ? `Assigned ${a.address}/${a.cidr} to device ${device.hostname} (${device.id})`
      : `Unassigned ${a.address}/${a.cidr} from device ${device.hostname} (${device.id})`,
    projectId: block.projectId,
    deviceId: device.id,
    relationships: [href(`ips/${a.id}`), href(`devices/${device.id}`)],
  });
}

/** Adds a hardware reservation of `plan` in `facility` (seeds). */
export function createHardwareReservation(
  store: Store,
  spec: { projectId: string; plan?: string; facility?: string },
): HardwareReservationRecord {
  const plan = spec.plan ?? DEFAULT_PLAN;
  const facility = spec.facility ?? facilityInMetro(DEFAULT_METRO).code;
  if (!PLANS.has(plan)) throw unprocessable(`Unknown plan "${plan}"; valid values are ${choices(PLANS)}`);
  if (!FACILITIES.has(facility)) {
    throw unprocessable(`Unknown facility "${facility}"; valid values are ${choices(FACILITIES)}`);
  }
  if (!store.projects.has(spec.projectId)) throw unprocessable(`Unknown project "${spec.projectId}"`);
  const record: HardwareReservationRecord = {
    id: newUuid(),
    projectId: spec.projectId,
    plan,
    facility,
    createdAt: isoTime(store.clock.now()),
  };
  store.hardwareReservations.set(record.id, record);
  return record;
}

function decodeBase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function readUint32(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
}
