/**
 * The demo's system (test/demo_system.ts) with kwok heartbeating every second: kwok's status writes race
 * `ccm run`'s address patch on every Node, and the addresses end up what ccm sets from the (simulated) Metal
 * API — the device's hostname and IPv4 addresses — written by ccm alone.
 */
import assert from "node:assert/strict";
import type { V1Node, V1NodeAddress } from "@kubernetes/client-node";
import { KWOK_FIELD_MANAGER } from "./harness/kwok.ts";
import { waitFor } from "./harness/wait.ts";
import { DEMO_HOSTNAMES, DEMO_PROJECT_ID, startLocalSystem, UNINITIALIZED_TAINT } from "./demo_system.ts";

interface Device {
  hostname: string;
  "ip_addresses": { address: string; public: boolean; "address_family": number }[];
}

const ready = (node: V1Node) => node.status?.conditions?.find((c) => c.type === "Ready");
const heartbeat = (node: V1Node) => new Date(ready(node)?.lastHeartbeatTime ?? 0).getTime();

/** What ccm makes of a device (metal/device_addresses.ts): hostname, then IPv4s, public → ExternalIP. */
function metalAddresses(device: Device): V1NodeAddress[] {
  return [
    { type: "Hostname", address: device.hostname },
    ...device.ip_addresses.filter((ip) => ip.address_family === 4).map((ip) => ({
      type: ip.public ? "ExternalIP" : "InternalIP",
      address: ip.address,
    })),
  ];
}

/** Managers that own a field of `status.<field>`. */
function owners(node: V1Node, field: string): string[] {
  return (node.metadata?.managedFields ?? []).filter((m) => {
    const status = (m.fieldsV1 as Record<string, Record<string, unknown>> | undefined)?.["f:status"];
    return status !== undefined && `f:${field}` in status;
  }).map((m) => m.manager ?? "");
}

Deno.test("kwok's heartbeats and ccm's address patch converge on the addresses ccm sets from Metal", async () => {
  await using system = await startLocalSystem({ kwok: { statusReportMs: 1000, leaseDurationSeconds: 0 } });
  const core = system.cluster.clients.core;
  await system.registerNodes();

  const initialized = await waitFor(async () => {
    if (system.ccm.hasExited) throw new Error(`ccm exited:\n${await system.ccm.logTail(30)}`);
    await system.kwok.assertRunning();
    const nodes = (await core.listNode()).items;
    const done = nodes.filter((n) =>
      n.spec?.providerID && !n.spec.taints?.some((t) => t.key === UNINITIALIZED_TAINT) &&
      ready(n)?.status === "True"
    );
    return done.length === DEMO_HOSTNAMES.length ? nodes : undefined;
  }, { timeoutMs: 60_000, intervalMs: 200, message: "the demo's nodes initialized and Ready" });
  // Two more of kwok's heartbeats on every node after ccm's patch.
  const nodes = await waitFor(async () => {
    const nodes = (await core.listNode()).items;
    const later = nodes.every((n) =>
      heartbeat(n) >= heartbeat(initialized.find((o) => o.metadata?.name === n.metadata?.name)!) + 2000
    );
    return later ? nodes : undefined;
  }, { timeoutMs: 30_000, message: "kwok's heartbeats after initialization" });

  const res = await fetch(
    `${system.metalEnv.METAL_BASE_URL}/projects/${DEMO_PROJECT_ID}/devices?per_page=100`,
    {
      headers: { "X-Auth-Token": system.metalEnv.METAL_API_KEY! },
    },
  );
  assert.equal(res.status, 200);
  const devices = (await res.json() as { devices: Device[] }).devices;
  for (const node of nodes) {
    const name = node.metadata!.name!;
    const device = devices.find((d) => d.hostname === name);
    assert.ok(device, `device ${name}`);
    const addresses = (node.status?.addresses ?? []).map(({ type, address }) => ({ type, address }));
    assert.deepEqual(addresses, metalAddresses(device), `addresses of ${name}`);
    assert.ok(owners(node, "conditions").includes(KWOK_FIELD_MANAGER), `kwok wrote ${name}'s conditions`);
    assert.ok(
      !owners(node, "addresses").includes(KWOK_FIELD_MANAGER),
      `kwok never wrote ${name}'s addresses`,
    );
  }
});
