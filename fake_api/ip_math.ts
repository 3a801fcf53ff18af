/**
 * IPv4/IPv6 arithmetic on bigints: parse, format, netmasks, block containment.
 *
 * @module
 */

/** 4 or 6. */
export type AddressFamily = 4 | 6;

const V4_REGEXP = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Bits in an address of the family. */
export function familyBits(family: AddressFamily): number {
  return family === 4 ? 32 : 128;
}

/** Parses a dotted-quad IPv4 address; `undefined` when it is not one. */
export function parseIpv4(text: string): bigint | undefined {
  const m = V4_REGEXP.exec(text);
  if (!m) return undefined;
  let value = 0n;
  for (let i = 1; i <= 4; i++) {
    const part = Number(m[i]);
    if (part > 255 || (m[i]!.length > 1 && m[i]!.startsWith("0"))) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

/** Parses an IPv6 address (with `::` compression, without zone or embedded IPv4); `undefined` when invalid. */
export function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(text) || text.length < 2) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] === "" ? [] : halves[0]!.split(":");
  const tail = halves.length === 2 ? (halves[1] === "" ? [] : halves[1]!.split(":")) : [];
  const groups = halves.length === 2 ? head.length + tail.length : head.length;
  if (halves.length === 1 ? groups !== 8 : groups > 7) return undefined;
  const all = [...head, ...Array(8 - groups).fill("0"), ...tail];
  let value = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(parseInt(g, 16));
  }
  return value;
}

/** Parses an address of either family. */
export function parseIp(text: string): { family: AddressFamily; value: bigint } | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIpv6(text);
  if (v6 !== undefined) return { family: 6, value: v6 };
  return undefined;
}

/** Formats an address of the family (IPv6 in RFC 5952 compressed form). */
export function formatIp(family: AddressFamily, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join(".");
  }
  const groups: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(Number((value >> s) & 0xffffn));
  // Compress the longest run (length ≥ 2) of zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const left = hex.slice(0, bestStart).join(":");
  const right = hex.slice(bestStart + bestLen).join(":");
  return `${left}::${right}`;
}

/** The netmask of a prefix length (`255.255.255.254`, `ffff:ffff:ffff:ff00::`). */
export function netmask(family: AddressFamily, cidr: number): string {
  const bits = BigInt(familyBits(family));
  const mask = ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(cidr))) - 1n);
  return formatIp(family, mask);
}

/** Number of addresses in a block of the prefix length. */
export function blockSize(family: AddressFamily, cidr: number): bigint {
  return 1n << BigInt(familyBits(family) - cidr);
}

/** True when `value` lies inside the block `network/cidr`. */
export function blockContains(
  block: { family: AddressFamily; network: bigint; cidr: number },
  family: AddressFamily,
  value: bigint,
): boolean {
  return family === block.family && value >= block.network &&
    value < block.network + blockSize(block.family, block.cidr);
}

/** Parses `a.b.c.d/n` or `x::/n` into family, network value and prefix length. */
export function parseCidr(
  text: string,
): { family: AddressFamily; network: bigint; cidr: number } | undefined {
  const [addr, len, extra] = text.split("/");
  if (addr === undefined || len === undefined || extra !== undefined || !/^\d{1,3}$/.test(len)) {
    return undefined;
  }
  const ip = parseIp(addr);
  const cidr = Number(len);
  if (!ip || cidr > familyBits(ip.family)) return undefined;
  if (ip.value % blockSize(ip.family, cidr) !== 0n) return undefined;
  return { family: ip.family, network: ip.value, cidr };
}
