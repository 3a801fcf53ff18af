/**
 * Renders devices. Facility, metro, plan, operating system, IP addresses and network ports are inline by
 * default; the project and IP parent blocks are hrefs unless included.
 *
 * @module
 */
import { FACILITIES, OPERATING_SYSTEMS } from "../catalog.ts";
import type { DeviceRecord, DeviceState } from "../model.ts";
import type { Store } from "../store.ts";
import { facilityAttr, metroAttr, osAttr, planAttr, projectAttr } from "./catalog.ts";
import type { Expand } from "./expand.ts";
import { renderAssignment } from "./ip.ts";
import { href, hrefTo } from "../paths.ts";

const ACTIONS: Partial<Record<DeviceState, { type: string; name: string }[]>> = {
  active: [
    { type: "power_off", name: "Power Off" },
    { type: "reboot", name: "Reboot" },
    { type: "rescue", name: "Rescue" },
    { type: "reinstall", name: "Reinstall" },
  ],
  inactive: [{ type: "power_on", name: "Power On" }, { type: "reinstall", name: "Reinstall" }],
  failed: [{ type: "reinstall", name: "Reinstall" }],
};

/** A device (`Device`). Call `applyTransitions` first so `state` is current. */
export function renderDevice(store: Store, d: DeviceRecord, ex: Expand): Record<string, unknown> {
  const shortId = d.id.slice(0, 8);
  const out: Record<string, unknown> = {
    id: d.id,
    "short_id": shortId,
    hostname: d.hostname,
    state: d.state,
    tags: d.tags,
    "billing_cycle": d.billingCycle,
    user: "root",
    iqn: `iqn.${d.createdAt.slice(0, 7)}.net.packet:device.${shortId}`,
    locked: d.locked,
    "bonding_mode": 4,
    "created_at": d.createdAt,
    "updated_at": d.updatedAt,
    "always_pxe": d.alwaysPxe,
    userdata: d.userdata,
    customdata: d.customdata,
    "switch_uuid": d.switchUuid,
    "network_frozen": false,
    "spot_instance": false,
    sos: `${shortId}@sos.${d.facility}.platformequinix.com`,
    actions: ACTIONS[d.state] ?? [],
    "operating_system": osAttr(d.os, ex.full("operating_system", true)),
    facility: facilityAttr(d.facility, ex),
    metro: metroAttr(d.metro, ex.full("metro", true)),
    plan: planAttr(d.plan, ex.full("plan", true)),
    project: projectAttr(store, d.projectId, ex),
    "project_lite": hrefTo(`projects/${d.projectId}`),
    "ssh_keys": [],
    volumes: [],
    "ip_addresses": ex.full("ip_addresses", true)
      ? d.ipIds.map((id) => renderAssignment(store, store.assignments.get(id)!, ex.child("ip_addresses")))
      : d.ipIds.map((id) => hrefTo(`ips/${id}`)),
    "network_ports": ex.full("network_ports", true)
      ? renderPorts(d)
      : d.portIds.map((id) => hrefTo(`ports/${id}`)),
    href: href(`devices/${d.id}`),
  };
  if (d.description !== undefined) out.description = d.description;
  if (d.ipxeScriptUrl !== undefined) out.ipxe_script_url = d.ipxeScriptUrl;
  if (d.state === "queued" || d.state === "provisioning") {
    out.provisioning_percentage = d.state === "queued" ? 0 : 50;
  }
  return out;
}

function renderPorts(d: DeviceRecord): Record<string, unknown>[] {
  const [bondId, eth0Id, eth1Id] = d.portIds as [string, string, string];
  const bond = {
    id: bondId,
    type: "NetworkBondPort",
    name: "bond0",
    data: { bonded: true },
    "network_type": "layer3",
    "disbond_operation_supported": true,
    "virtual_networks": [],
    href: href(`ports/${bondId}`),
  };
  const eth = (id: string, name: string, mac: string) => ({
    id,
    type: "NetworkPort",
    name,
    data: { mac, bonded: true },
    bond: { id: bondId, name: "bond0" },
    disbond_operation_supported: true,
    virtual_networks: [],
    href: href(`ports/${id}`),
  });
  return [bond, eth(eth0Id, "eth0", d.macs[0]!), eth(eth1Id, "eth1", d.macs[1]!)];
}

const jsonCache = new WeakMap<DeviceRecord, { key: string; json: string }>();

/**
 * The device as JSON text. Default renderings (no include/exclude) are cached until the store changes or a
 * pending transition applies, which keeps GETs and large list pages cheap.
 */
export function deviceJson(store: Store, d: DeviceRecord, ex: Expand): string {
  if (!ex.isDefault) return JSON.stringify(renderDevice(store, d, ex));
  const key = `${store.generation}/${d.state}/${d.transitions.length}`;
  const cached = jsonCache.get(d);
  if (cached?.key === key) return cached.json;
  const json = JSON.stringify(renderDevice(store, d, ex));
  jsonCache.set(d, { key, json });
  return json;
}

/** True when the device matches the free-text `search` (hostname, description, short id, tags, plan, facility, OS, addresses). */
export function deviceMatchesSearch(store: Store, d: DeviceRecord, needle: string): boolean {
  const n = needle.toLowerCase();
  const f = FACILITIES.get(d.facility)!;
  const o = OPERATING_SYSTEMS.get(d.os)!;
  const fields = [d.hostname, d.description ?? "", d.id.slice(0, 8), d.plan, f.code, f.name, o.name, o.slug];
  if (fields.some((s) => s.toLowerCase().includes(n))) return true;
  if (d.tags.some((t) => t.toLowerCase().includes(n))) return true;
  return d.ipIds.some((id) => store.assignments.get(id)?.address.toLowerCase().includes(n));
}
