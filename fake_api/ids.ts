/**
 * Identifiers the simulator hands out: Metal UUIDs and short ids, LBaaS prefixed ids, API keys.
 *
 * @module
 */

/** Hyphenated hex UUID (any version/variant, so seeds may use readable ids like `…-000000000001`). */
export const UUID_REGEXP = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` is a hyphenated hex UUID. */
export function isUuid(value: string): boolean {
  return UUID_REGEXP.test(value);
}

/** A new random (version 4) UUID. */
export function newUuid(): string {
  return crypto.randomUUID();
}

/** The 8-character short id Metal shows next to a device (the UUID's first group). */
export function shortId(uuid: string): string {
  return uuid.slice(0, 8);
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Random text from the URL-safe base64 alphabet. */
export function randomText(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 63];
  return out;
}

/** LBaaS object kinds and the id prefixes the real service uses (`loadpvd-…`, `lctnloc-…`, `loadprt-…`). */
export const LBAAS_PREFIX = {
  loadBalancer: "loadbal",
  port: "loadprt",
  pool: "loadpol",
  origin: "loadorg",
} as const;

/** A new opaque LBaaS id such as `loadbal-3zQ1b0e6Jf8kWlq2VYc7A`. */
export function newLbaasId(kind: keyof typeof LBAAS_PREFIX): string {
  return `${LBAAS_PREFIX[kind]}-${randomText(21)}`;
}

/** A new API key: 32 characters of base64url text, like the real service's. */
export function newApiKey(): string {
  return randomText(32);
}

/** A locally administered unicast MAC address (`1e:…`), random otherwise. */
export function newMac(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":");
}
