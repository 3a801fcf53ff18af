/**
 * Address allocation: aligned blocks out of fixed address ranges, never handing out an address that is held.
 *
 * The simulator's ranges look like Equinix Metal's: device public IPv4 /31s from 147.75.0.0/16 and
 * 139.178.0.0/16, elastic IPs from 145.40.64.0/18 and 86.109.0.0/18, global IPv4 from 147.28.0.0/18, load
 * balancer addresses from 145.40.128.0/20, private /25 management blocks from 10.64.0.0/10 and IPv6 /56 blocks
 * from 2604:1380:4640::/44.
 *
 * @module
 */
import { type AddressFamily, blockSize, familyBits, parseCidr } from "./ip_math.ts";

interface Range {
  start: bigint;
  end: bigint; // exclusive
}

/** Hands out aligned blocks (`/cidr`) from a list of ranges; held blocks are tracked in units of `/unitCidr`. */
export class RangeAllocator {
  readonly family: AddressFamily;
  readonly unitCidr: number;
  #unit: bigint;
  #ranges: Range[];
  #held = new Set<bigint>();
  #cursor: bigint;
  #totalUnits: bigint;

  constructor(options: { family: AddressFamily; ranges: string[]; unitCidr: number }) {
    this.family = options.family;
    this.unitCidr = options.unitCidr;
    this.#unit = blockSize(options.family, options.unitCidr);
    this.#ranges = options.ranges.map((text) => {
      const block = parseCidr(text);
      if (!block || block.family !== options.family) throw new TypeError(`Invalid range '${text}'`);
      return { start: block.network, end: block.network + blockSize(block.family, block.cidr) };
    }).sort((a, b) => (a.start < b.start ? -1 : 1));
    // Start in the first range as listed (the scan itself walks ranges in address order).
    this.#cursor = parseCidr(options.ranges[0]!)!.network;
    this.#totalUnits = this.#ranges.reduce((n, r) => n + (r.end - r.start) / this.#unit, 0n);
  }

  /** Where the next search starts (persisted so a restart does not immediately reuse released blocks). */
  get cursor(): bigint {
    return this.#cursor;
  }
  set cursor(value: bigint) {
    if (this.#ranges.some((r) => value >= r.start && value < r.end)) this.#cursor = value;
  }

  /** Number of units currently held. */
  get heldUnits(): number {
    return this.#held.size;
  }

  /** True when every unit is held (an O(1) check). */
  get full(): boolean {
    return BigInt(this.#held.size) >= this.#totalUnits;
  }

  /** Allocates a free aligned `/cidr` block and returns its network address, or `undefined` when full. */
  allocate(cidr: number): bigint | undefined {
    const size = this.#sizeOf(cidr);
    let candidate = alignUp(this.#cursor, size);
    let scanned = 0n;
    const limit = this.#totalUnits + size / this.#unit;
    while (scanned <= limit) {
      const range = this.#rangeFor(candidate, size);
      if (!range) {
        const next = this.#ranges.find((r) => r.start > candidate) ?? this.#ranges[0]!;
        candidate = alignUp(next.start, size);
        scanned += size / this.#unit;
        continue;
      }
      if (this.isFree(candidate, cidr)) {
        this.hold(candidate, cidr);
        this.#cursor = candidate + size;
        return candidate;
      }
      candidate += size;
      scanned += size / this.#unit;
    }
    return undefined;
  }

  /** True when no unit of the block is held and the block lies inside one range. */
  isFree(network: bigint, cidr: number): boolean {
    const size = this.#sizeOf(cidr);
    if (!this.#rangeFor(network, size)) return false;
    for (let a = network; a < network + size; a += this.#unit) if (this.#held.has(a)) return false;
    return true;
  }

  /** True when the block lies inside one of the ranges. */
  contains(network: bigint, cidr: number): boolean {
    return this.#rangeFor(network, blockSize(this.family, cidr)) !== undefined;
  }

  /** Marks a block as held (used when restoring state). */
  hold(network: bigint, cidr: number): void {
    const size = this.#sizeOf(cidr);
    for (let a = network; a < network + size; a += this.#unit) this.#held.add(a);
  }

  /** Returns a block to the pool. */
  release(network: bigint, cidr: number): void {
    const size = this.#sizeOf(cidr);
    for (let a = network; a < network + size; a += this.#unit) this.#held.delete(a);
  }

  #sizeOf(cidr: number): bigint {
    if (cidr < 0 || cidr > familyBits(this.family) || cidr > this.unitCidr) {
      throw new RangeError(`Cannot allocate a /${cidr} from a pool of /${this.unitCidr} units`);
    }
    return blockSize(this.family, cidr);
  }

  #rangeFor(network: bigint, size: bigint): Range | undefined {
    return this.#ranges.find((r) => network >= r.start && network + size <= r.end);
  }
}

function alignUp(value: bigint, size: bigint): bigint {
  return ((value + size - 1n) / size) * size;
}

/** The simulator's address ranges (see the module documentation). */
export const RANGES = {
  devicePublic: ["147.75.0.0/16", "139.178.0.0/16"],
  elastic: ["145.40.64.0/18", "86.109.0.0/18"],
  global: ["147.28.0.0/18"],
  loadBalancer: ["145.40.128.0/20"],
  privateBlocks: ["10.64.0.0/10"],
  ipv6Blocks: ["2604:1380:4640::/44"],
} as const;

/** Prefix lengths of the blocks the simulator creates. */
export const PREFIX = {
  devicePublic: 31,
  privateBlock: 25,
  privateDevice: 31,
  ipv6Block: 56,
  ipv6Device: 127,
} as const;

/** The global pools plus one allocator per management block (private /25, IPv6 /56) for device addresses. */
export class IpPools {
  readonly devicePublic = new RangeAllocator({ family: 4, ranges: [...RANGES.devicePublic], unitCidr: 31 });
  readonly elastic = new RangeAllocator({ family: 4, ranges: [...RANGES.elastic], unitCidr: 32 });
  readonly global = new RangeAllocator({ family: 4, ranges: [...RANGES.global], unitCidr: 32 });
  readonly loadBalancer = new RangeAllocator({ family: 4, ranges: [...RANGES.loadBalancer], unitCidr: 32 });
  readonly privateBlocks = new RangeAllocator({ family: 4, ranges: [...RANGES.privateBlocks], unitCidr: 25 });
  readonly ipv6Blocks = new RangeAllocator({ family: 6, ranges: [...RANGES.ipv6Blocks], unitCidr: 56 });
  #subnets = new Map<string, RangeAllocator>();

  /** The allocator for addresses inside the management block `network/cidr` (created on first use). */
  subnet(block: { family: AddressFamily; network: string; cidr: number }): RangeAllocator {
    const key = `${block.network}/${block.cidr}`;
    let allocator = this.#subnets.get(key);
    if (!allocator) {
      allocator = new RangeAllocator({
        family: block.family,
        ranges: [key],
        unitCidr: block.family === 4 ? PREFIX.privateDevice : PREFIX.ipv6Device,
      });
      this.#subnets.set(key, allocator);
    }
    return allocator;
  }

  /** Forgets a management block's allocator (when the block is deleted). */
  dropSubnet(block: { network: string; cidr: number }): void {
    this.#subnets.delete(`${block.network}/${block.cidr}`);
  }

  /** Search positions of the global pools, for the state file. */
  cursors(): Record<string, string> {
    return Object.fromEntries(this.#named().map(([name, a]) => [name, a.cursor.toString()]));
  }

  /** Restores search positions saved by {@linkcode IpPools.cursors}; unknown or invalid entries are ignored. */
  restoreCursors(saved: Record<string, string> | undefined): void {
    for (const [name, allocator] of this.#named()) {
      const value = saved?.[name];
      if (value !== undefined && /^\d+$/.test(value)) allocator.cursor = BigInt(value);
    }
  }

  #named(): [string, RangeAllocator][] {
    return [
      ["devicePublic", this.devicePublic],
      ["elastic", this.elastic],
      ["global", this.global],
      ["loadBalancer", this.loadBalancer],
      ["privateBlocks", this.privateBlocks],
      ["ipv6Blocks", this.ipv6Blocks],
    ];
  }
}
