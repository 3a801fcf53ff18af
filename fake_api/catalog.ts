/**
 * The simulator's fixed catalogue: metros, facilities, plans and operating systems (a small, realistic subset
 * of what Equinix Metal offered). Ids are stable across runs so seeds and tests can name them.
 *
 * @module
 */

/** A metro (`/locations/metros`). */
export interface MetroInfo {
  id: string;
  code: string;
  name: string;
  country: string;
}

/** A facility (data centre) inside a metro. */
export interface FacilityInfo {
  id: string;
  code: string;
  name: string;
  metro: string;
  address: { address: string; city: string; state: string; "zip_code": string; country: string };
  coordinates: { latitude: string; longitude: string };
}

/** A server plan. */
export interface PlanInfo {
  id: string;
  slug: string;
  name: string;
  description: string;
  hourly: number;
  cpu: { count: number; type: string };
  memory: string;
  drives: { count: number; type: string; size: string; category: string }[];
  nics: { count: number; type: string }[];
}

/** An operating system image. */
export interface OsInfo {
  id: string;
  slug: string;
  name: string;
  distro: string;
  version: string;
  distroLabel: string;
}

/** Metros by code. */
export const METROS: ReadonlyMap<string, MetroInfo> = byKey("code", [
  { id: "2aff579b-c169-4a5c-95f6-e451e3a11fa6", code: "am", name: "Amsterdam", country: "NL" },
  { id: "4edbb522-c7a0-4b64-b992-4fe0c5689f4f", code: "da", name: "Dallas", country: "US" },
  { id: "08e6741e-a5c7-4536-869e-ba48c9e26a2b", code: "dc", name: "Washington DC", country: "US" },
  { id: "5e2fa8e7-08ca-4b57-8ebb-9726467926a8", code: "ny", name: "New York", country: "US" },
  { id: "bcd28771-7108-4654-9fde-92e02f188740", code: "sg", name: "Singapore", country: "SG" },
  { id: "39c357c9-156d-4463-ae72-c0d97c563325", code: "sv", name: "Silicon Valley", country: "US" },
]);

/** Facilities by code. */
export const FACILITIES: ReadonlyMap<string, FacilityInfo> = byKey("code", [
  facility("d791f7ac-5da8-4376-acde-4c2096ea265a", "am6", "Amsterdam, NL", "am", {
    address: "Science Park 610",
    city: "Amsterdam",
    state: "",
    zip_code: "1098 XH",
    country: "NL",
  }, ["52.356", "4.955"]),
  facility("1a79b7f1-929f-4c3e-89f2-bcf70bc718ff", "da11", "Dallas, TX", "da", {
    address: "1950 N Stemmons Fwy",
    city: "Dallas",
    state: "TX",
    zip_code: "75207",
    country: "US",
  }, ["32.800", "-96.820"]),
  facility("fd4ee4f6-1fb5-4b0b-89a0-6335a879e145", "dc13", "Ashburn, VA", "dc", {
    address: "21701 Filigree Ct",
    city: "Ashburn",
    state: "VA",
    zip_code: "20147",
    country: "US",
  }, ["39.016", "-77.459"]),
  facility("58158db6-06a8-4fe2-9ceb-70d465161bd9", "ny5", "New York, NY", "ny", {
    address: "800 Secaucus Rd",
    city: "Secaucus",
    state: "NJ",
    zip_code: "07094",
    country: "US",
  }, ["40.779", "-74.072"]),
  facility("cb8a037d-4c85-4e9f-b5e4-aafee2beae7e", "sg1", "Singapore", "sg", {
    address: "20 Ayer Rajah Crescent",
    city: "Singapore",
    state: "",
    zip_code: "139964",
    country: "SG",
  }, ["1.295", "103.787"]),
  facility("bae88763-5e14-43d6-ba5d-63a312ffa657", "sv15", "Silicon Valley, CA", "sv", {
    address: "11 Great Oaks Blvd",
    city: "San Jose",
    state: "CA",
    zip_code: "95119",
    country: "US",
  }, ["37.243", "-121.781"]),
]);

/** Plans by slug. */
export const PLANS: ReadonlyMap<string, PlanInfo> = byKey("slug", [
  plan("66293104-e120-4728-bce8-7fec05fefdb7", "c3.small.x86", "c3.small.x86", 0.75, {
    cpu: { count: 1, type: "Intel Xeon E-2278G 8-Core Processor @ 3.40GHz" },
    memory: "32GB",
    drives: [{ count: 2, type: "SSD", size: "480GB", category: "boot" }],
    nics: [{ count: 2, type: "10Gbps" }],
  }),
  plan("845757f5-53e5-4666-b38f-5bfc49891629", "c3.medium.x86", "c3.medium.x86", 1.5, {
    cpu: { count: 1, type: "AMD EPYC 7402P 24-Core Processor @ 2.8GHz" },
    memory: "64GB",
    drives: [{ count: 2, type: "SSD", size: "240GB", category: "boot" }, {
      count: 2,
      type: "SSD",
      size: "480GB",
      category: "storage",
    }],
    nics: [{ count: 2, type: "10Gbps" }],
  }),
  plan("eff3006d-110b-4934-b752-9fffc23302d7", "m3.small.x86", "m3.small.x86", 1.05, {
    cpu: { count: 1, type: "Intel Xeon E-2378G 8-Core Processor @ 2.80GHz" },
    memory: "64GB",
    drives: [{ count: 2, type: "SSD", size: "480GB", category: "boot" }],
    nics: [{ count: 2, type: "25Gbps" }],
  }),
  plan("7d0d472a-afa2-4d7a-b045-adad96b74e6e", "m3.large.x86", "m3.large.x86", 3.1, {
    cpu: { count: 1, type: "AMD EPYC 7502P 32-Core Processor @ 2.5GHz" },
    memory: "256GB",
    drives: [{ count: 2, type: "NVMe", size: "3.8TB", category: "storage" }],
    nics: [{ count: 2, type: "25Gbps" }],
  }),
  plan("d876ba23-977a-48a1-9ec0-4d60894e7f5c", "s3.xlarge.x86", "s3.xlarge.x86", 2.95, {
    cpu: { count: 2, type: "Intel Xeon Silver 4214 12-Core Processor @ 2.20GHz" },
    memory: "192GB",
    drives: [{ count: 12, type: "HDD", size: "8TB", category: "storage" }],
    nics: [{ count: 2, type: "25Gbps" }],
  }),
]);

/** Operating systems by slug. */
export const OPERATING_SYSTEMS: ReadonlyMap<string, OsInfo> = byKey("slug", [
  os("b14a0e11-cdaa-469a-b05d-521bd395d3d9", "ubuntu_22_04", "Ubuntu 22.04 LTS", "ubuntu", "22.04", "Ubuntu"),
  os("deadb25f-e95e-4b81-a0ec-94ac9c214ee1", "ubuntu_24_04", "Ubuntu 24.04 LTS", "ubuntu", "24.04", "Ubuntu"),
  os("13937c7a-3a56-49c6-96e5-52262c30518f", "debian_12", "Debian 12", "debian", "12", "Debian"),
  os(
    "3006e9a5-7cb9-4909-8f87-d6bb08181cb8",
    "flatcar_stable",
    "Flatcar Container Linux (Stable)",
    "flatcar",
    "stable",
    "Flatcar",
  ),
  os("9814ee51-b9b7-460f-9ea8-cb72af842173", "rocky_9", "Rocky Linux 9", "rocky", "9", "Rocky Linux"),
]);

/** Plan used when a seed device names none. */
export const DEFAULT_PLAN = "c3.small.x86";
/** Metro used when a seed device names neither metro nor facility. */
export const DEFAULT_METRO = "sv";
/** Operating system used when a seed device names none. */
export const DEFAULT_OS = "ubuntu_24_04";

/** The first facility of a metro (devices created "in a metro" land there). */
export function facilityInMetro(metroCode: string): FacilityInfo {
  for (const f of FACILITIES.values()) if (f.metro === metroCode) return f;
  throw new RangeError(`No facility in metro '${metroCode}'`);
}

/** Comma-separated list of the keys of a catalogue map, for error messages. */
export function choices(map: ReadonlyMap<string, unknown>): string {
  return [...map.keys()].map((k) => `"${k}"`).join(", ");
}

function byKey<K extends string, T extends Record<K, string>>(key: K, items: T[]): ReadonlyMap<string, T> {
  return new Map(items.map((item) => [item[key], item]));
}

function facility(
  id: string,
  code: string,
  name: string,
  metro: string,
  address: FacilityInfo["address"],
  [latitude, longitude]: [string, string],
): FacilityInfo {
  return { id, code, name, metro, address, coordinates: { latitude, longitude } };
}

function plan(
  id: string,
  slug: string,
  name: string,
  hourly: number,
  specs: Pick<PlanInfo, "cpu" | "memory" | "drives" | "nics">,
): PlanInfo {
  return { id, slug, name, description: `${name} on-demand server`, hourly, ...specs };
}

function os(
  id: string,
  slug: string,
  name: string,
  distro: string,
  version: string,
  distroLabel: string,
): OsInfo {
  return { id, slug, name, distro, version, distroLabel };
}
