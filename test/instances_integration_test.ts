/**
 * Issue 5 end to end: a real kube-apiserver, a real `ccm fake-api` process seeded with 50 devices (plus two
 * that never get a Node and one whose Node registers late) and a real `ccm run --cloud-provider=equinixmetal`
 * process. Nodes registered as a kubelet with `--cloud-provider=external` would are initialized from their
 * devices with one device list; Nodes of deleted devices are deleted once NotReady and never while Ready;
 * powered-off devices taint their NotReady Nodes; an Elastic IP reaches its Node's addresses; and while the
 * simulator answers 503 to everything no Node is deleted, Warnings say why, and everything recovers after.
 */
import assert from "node:assert/strict";
import type { V1Node, V1NodeAddress } from "@kubernetes/client-node";
import { DEFAULT_FAILURE_HOLD_MS } from "../metal/device_cache.ts";
import { eventsFor } from "./ccm_in_process.ts";
import { createNode, setNodeReady, UNINITIALIZED_TAINT, waitFor } from "./harness/mod.ts";
import {
  type InstancesSystem,
  type MetalDevice,
  PROJECT_ID,
  startInstancesSystem,
} from "./instances_system.ts";

const SHUTDOWN_TAINT = "node.cloudprovider.kubernetes.io/shutdown";
const INSTANCE_CHECK_FAILED = "InstanceCheckFailed";
const NODE_COUNT = 50;
/** Its device exists from the start; its kubelet registers during the API outage. */
const LATE_NODE = "late-node";
const MONITOR_PERIOD_MS = 1_000;
const STATUS_UPDATE_FREQUENCY_MS = 2_000;
/** `METAL_DEVICE_CACHE_TTL`: short, so device changes show within seconds. */
const DEVICE_CACHE_TTL_MS = 5_000;

/** Prints a measurement next to the test's result. */
function report(line: string): void {
  // deno-lint-ignore no-console
  console.log(line);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readNode(sys: InstancesSystem, name: string): Promise<V1Node | undefined> {
  const list = await sys.cluster.clients.core.listNode({ fieldSelector: `metadata.name=${name}` });
  return list.items[0];
}

/** Node addresses of a device as upstream's metal/devices.go lists them: Hostname, then its IPv4s in API order. */
function expectedAddresses(device: MetalDevice): V1NodeAddress[] {
  return [
    { type: "Hostname", address: device.hostname },
    ...device.ip_addresses.filter((ip) => ip.address_family === 4).map((ip) => ({
      type: ip.public ? "ExternalIP" : "InternalIP",
      address: ip.address,
    })),
  ];
}

/** The node's addresses as plain objects (the client returns class instances). */
function addressesOf(node: V1Node): V1NodeAddress[] {
  return (node.status?.addresses ?? []).map(({ type, address }) => ({ type, address }));
}

function expectedLabels(device: MetalDevice): Record<string, string> {
  return {
    "node.kubernetes.io/instance-type": device.plan.slug,
    "beta.kubernetes.io/instance-type": device.plan.slug,
    "topology.kubernetes.io/region": device.metro.code,
    "failure-domain.beta.kubernetes.io/region": device.metro.code,
    "topology.kubernetes.io/zone": device.facility.code,
    "failure-domain.beta.kubernetes.io/zone": device.facility.code,
  };
}

/** Asserts providerID, the six topology/instance-type labels, addresses and no cloud taint. */
function assertInitializedFrom(node: V1Node, device: MetalDevice): void {
  const name = node.metadata?.name ?? "";
  assert.equal(node.spec?.providerID, `equinixmetal://${device.id}`, name);
  const labels = node.metadata?.labels ?? {};
  for (const [key, value] of Object.entries(expectedLabels(device))) {
    assert.equal(labels[key], value, `label ${key} of ${name}`);
  }
  assert.deepEqual(addressesOf(node), expectedAddresses(device), `addresses of ${name}`);
  assert.deepEqual(cloudTaints(node), [], `taints of ${name}`);
}

/** Taints ccm manages (admission adds `node.kubernetes.io/*` ones from conditions). */
function cloudTaints(node: V1Node): string[] {
  return (node.spec?.taints ?? []).map((t) => t.key).filter((key) => key.startsWith("node.cloudprovider."));
}

function isInitialized(node: V1Node | undefined): node is V1Node {
  return node !== undefined && node.spec?.providerID !== undefined && cloudTaints(node).length === 0;
}

/**
 * Registers a Node the way a kubelet with `--cloud-provider=external` does (NotReady until its CNI is up).
 * Hand-written rather than kwok (test/harness/kwok.ts): these tests make a kubelet stop reporting (Ready
 * `Unknown`) and come back, which kwok's stages cannot be told to do per node mid-test.
 */
async function registerKubeletNode(sys: InstancesSystem, hostname: string, ready = true): Promise<void> {
  await createNode(sys.cluster.clients, hostname, {
    labels: { "kubernetes.io/hostname": hostname, "kubernetes.io/os": "linux" },
    taints: [UNINITIALIZED_TAINT],
    addresses: [{ type: "Hostname", address: hostname }],
    ready,
  });
}

Deno.test("Metal instances end to end: 50 nodes, device deletion, power, address refresh, API brownout", async (t) => {
  const started = performance.now();
  await using sys = await startInstancesSystem({
    nodeCount: NODE_COUNT,
    extraHostnames: ["spare-0", "spare-1", LATE_NODE],
    args: [
      `--node-monitor-period=${MONITOR_PERIOD_MS / 1000}s`,
      `--node-status-update-frequency=${STATUS_UPDATE_FREQUENCY_MS / 1000}s`,
    ],
    env: { METAL_DEVICE_CACHE_TTL: String(DEVICE_CACHE_TTL_MS / 1000) },
  });
  const { clients } = sys.cluster;
  const hostnames = sys.devices.slice(0, NODE_COUNT).map((d) => d.hostname);
  const byHostname = new Map(sys.devices.map((d) => [d.hostname, d]));

  await t.step(
    "50 kubelet-registered nodes get providerID, labels, addresses, and lose the taint",
    async () => {
      const seq = await sys.lastRequestSeq();
      await Promise.all(hostnames.map((name) => registerKubeletNode(sys, name)));
      const nodes = await waitFor(async () => {
        await sys.assertRunning();
        const list = (await clients.core.listNode()).items;
        const done = list.filter(isInitialized);
        return done.length === NODE_COUNT ? list : undefined;
      }, { timeoutMs: 30_000, intervalMs: 200, message: `${NODE_COUNT} nodes to be initialized` });
      const calls = await sys.requests(seq);
      const requests = calls.filter((r) => r.path.includes("/devices"));

      for (const node of nodes) assertInitializedFrom(node, byHostname.get(node.metadata!.name!)!);
      const zones = new Set(nodes.map((n) => n.metadata!.labels!["topology.kubernetes.io/zone"]));
      assert.equal(zones.size, new Set(sys.devices.map((d) => d.facility.code)).size, "every facility");

      // The Metal API cost of 50 initializations: one paginated project list, not 50 device GETs.
      const lists = requests.filter((r) => r.method === "GET" && /\/projects\/[^/]+\/devices$/.test(r.path));
      const gets = requests.filter((r) => r.method === "GET" && /^\/metal\/v1\/devices\/[^/]+$/.test(r.path));
      report(
        `Metal API device calls for initializing ${NODE_COUNT} nodes: ${requests.length} ` +
          `(${lists.length} project list, ${gets.length} single-device GETs; ${calls.length} calls in all): ` +
          requests.map((r) => `${r.method} ${r.path}?${r.query}`).join(", "),
      );
      assert.ok(lists.length >= 1, "the devices were listed");
      assert.ok(requests.length <= 5, `at most 5 device calls, got ${requests.length}`);
      assert.equal(gets.length, 0, "no per-device GETs");
    },
  );

  await t.step("a deleted device's node is deleted once NotReady, never while Ready", async () => {
    const gone = "node-03";
    const deviceId = byHostname.get(gone)!.id;
    const seq = await sys.lastRequestSeq();
    await sys.admin("DELETE", `/devices/${deviceId}`);
    // The address refresh finds the device gone (a fresh list without it, then a 404 for it)...
    await waitFor(async () => {
      await sys.assertRunning();
      return (await sys.requests(seq)).some((r) =>
        r.path === `/metal/v1/devices/${deviceId}` && r.status === 404
      );
    }, {
      timeoutMs: DEVICE_CACHE_TTL_MS + 2 * STATUS_UPDATE_FREQUENCY_MS + 5_000,
      message: "a 404 for the device",
    });
    // ...but lifecycle passes go by and the node stays: it is Ready.
    await sleep(2 * MONITOR_PERIOD_MS);
    assert.ok(await readNode(sys, gone), "a Ready node is never deleted, even when its device is gone");

    await setNodeReady(clients, gone, false);
    await waitFor(async () => {
      await sys.assertRunning();
      return (await readNode(sys, gone)) === undefined;
    }, { timeoutMs: 15_000, intervalMs: 100, message: `node ${gone} to be deleted` });
    const events = await eventsFor(sys.cluster, "Node", gone);
    assert.ok(
      events.some((e) =>
        e.reason === "DeletingNode" && e.message?.includes("does not exist in the cloud provider")
      ),
      `DeletingNode Event: ${JSON.stringify(events.map((e) => e.reason))}`,
    );
    assert.equal((await clients.core.listNode()).items.length, NODE_COUNT - 1, "no other node was deleted");
  });

  await t.step(
    "powering a device off taints its NotReady node; powering on and Ready removes the taint",
    async () => {
      const name = "node-05";
      const device = byHostname.get(name)!;
      await sys.metal("POST", `/devices/${device.id}/actions`, { type: "power_off" });
      assert.equal((await sys.metal<MetalDevice>("GET", `/devices/${device.id}`)).state, "inactive");
      await setNodeReady(clients, name, "Unknown"); // the kubelet stops reporting
      await waitFor(async () => {
        await sys.assertRunning();
        return cloudTaints((await readNode(sys, name))!).includes(SHUTDOWN_TAINT);
      }, { timeoutMs: 15_000, intervalMs: 100, message: `shutdown taint on ${name}` });
      await sleep(2 * MONITOR_PERIOD_MS);
      const tainted = (await readNode(sys, name))!;
      assert.deepEqual(cloudTaints(tainted), [SHUTDOWN_TAINT], "shut down, not deleted");
      assert.equal(tainted.spec?.taints?.find((t) => t.key === SHUTDOWN_TAINT)?.effect, "NoSchedule");

      await sys.metal("POST", `/devices/${device.id}/actions`, { type: "power_on" });
      assert.equal((await sys.metal<MetalDevice>("GET", `/devices/${device.id}`)).state, "active");
      await setNodeReady(clients, name, true);
      await waitFor(async () => {
        await sys.assertRunning();
        return cloudTaints((await readNode(sys, name))!).length === 0;
      }, { timeoutMs: 15_000, intervalMs: 100, message: `shutdown taint removed from ${name}` });
    },
  );

  await t.step("an Elastic IP assigned to a device shows up as an ExternalIP of its node", async () => {
    const name = "node-07";
    const device = byHostname.get(name)!;
    const reservation = await sys.metal<{ address: string }>("POST", `/projects/${PROJECT_ID}/ips`, {
      type: "public_ipv4",
      quantity: 1,
      metro: device.metro.code,
    });
    await sys.metal("POST", `/devices/${device.id}/ips`, { address: reservation.address });
    const assigned = await sys.metal<MetalDevice>("GET", `/devices/${device.id}`);
    assert.ok(assigned.ip_addresses.some((ip) => ip.address === reservation.address));
    const started = performance.now();
    const node = await waitFor(async () => {
      await sys.assertRunning();
      const node = (await readNode(sys, name))!;
      return addressesOf(node).some((a) => a.address === reservation.address) ? node : undefined;
    }, {
      timeoutMs: DEVICE_CACHE_TTL_MS + 2 * STATUS_UPDATE_FREQUENCY_MS + 5_000,
      intervalMs: 100,
      message: `Elastic IP ${reservation.address} on node ${name}`,
    });
    report(`Elastic IP reached the node after ${Math.round(performance.now() - started)} ms`);
    assert.deepEqual(addressesOf(node), expectedAddresses(assigned));
  });

  await t.step(
    "with the API answering 503 to everything, no node is deleted; all recover after",
    async () => {
      const waiting = ["node-10", "node-11"]; // NotReady; their devices exist
      const goneDuringOutage = "node-12"; // NotReady; its device is deleted while the API is down
      await sys.admin("POST", "/faults/scripted", {
        path: "/",
        status: 503,
        count: 1_000_000,
        message: "Service Unavailable (simulated brownout)",
      });
      await sys.admin("DELETE", `/devices/${byHostname.get(goneDuringOutage)!.id}`);
      for (const name of [...waiting, goneDuringOutage]) await setNodeReady(clients, name, false);

      // Each NotReady node gets a Warning saying why it is kept.
      const notReady = [...waiting, goneDuringOutage];
      const warnings = await waitFor(async () => {
        await sys.assertRunning();
        const found = await Promise.all(
          notReady.map(async (name) =>
            (await eventsFor(sys.cluster, "Node", name)).find((e) =>
              e.type === "Warning" && e.reason === INSTANCE_CHECK_FAILED
            )
          ),
        );
        return found.every((e) => e !== undefined) ? found : undefined;
      }, { timeoutMs: 30_000, intervalMs: 200, message: `${INSTANCE_CHECK_FAILED} Warnings on ${notReady}` });
      for (const [i, event] of warnings.entries()) {
        assert.match(
          event!.message ?? "",
          new RegExp(`^Kept NotReady node ${notReady[i]}: .*503 Service Unavailable`),
        );
      }
      // The Warnings prove the cached device list has expired, so a node registering now cannot be
      // initialized from it: it has to wait for the API. It joins NotReady, so the lifecycle controller checks
      // it too, but warns nobody about a node that is still joining.
      await registerKubeletNode(sys, LATE_NODE, false);
      const seq = await sys.lastRequestSeq();
      // More failing passes: for the failure hold lookups fail at once with the last list's error, then ccm
      // lists again.
      const windowMs = DEFAULT_FAILURE_HOLD_MS + 2 * MONITOR_PERIOD_MS;
      await sleep(windowMs);
      const during = await sys.requests(seq);
      report(`Metal API calls in ${windowMs} ms of outage: ${during.length}`);
      assert.ok(during.length > 0, "ccm kept asking");
      assert.deepEqual(during.filter((r) => r.status !== 503), [], "the API answered only 503s");
      // One retried list (5 attempts) per failure hold, not one per node and pass (was ~2.5 requests/s).
      assert.ok(during.length <= 10, `at most two retried device lists, got ${during.length}`);
      const names = new Set((await clients.core.listNode()).items.map((n) => n.metadata!.name!));
      for (const name of notReady) assert.ok(names.has(name), `${name} kept during the outage`);
      assert.equal(names.size, NODE_COUNT, "no node deleted during the outage (49 + the late node)");
      assert.ok(!isInitialized(await readNode(sys, LATE_NODE)), "the late node waits for the API");

      await sys.admin("DELETE", "/faults/scripted");
      const recoveryStarted = performance.now();
      const lateNode = await waitFor(async () => {
        await sys.assertRunning();
        const node = await readNode(sys, LATE_NODE);
        return isInitialized(node) ? node : undefined;
      }, { timeoutMs: 30_000, intervalMs: 100, message: `${LATE_NODE} to be initialized after the outage` });
      await waitFor(async () => (await readNode(sys, goneDuringOutage)) === undefined, {
        timeoutMs: 15_000,
        intervalMs: 100,
        message: `${goneDuringOutage} (device deleted during the outage) to be deleted after it`,
      });
      report(`Recovered ${Math.round(performance.now() - recoveryStarted)} ms after the outage`);
      const lateDevice = byHostname.get(LATE_NODE)!;
      assert.equal(lateNode.spec?.providerID, `equinixmetal://${lateDevice.id}`);
      await sleep(2 * MONITOR_PERIOD_MS); // lifecycle passes with a working API
      for (const name of [...waiting, LATE_NODE]) {
        assert.ok(await readNode(sys, name), `${name} (device exists) kept after the outage`);
        await setNodeReady(clients, name, true);
      }

      // Nothing else was lost: every node still has its providerID, labels and addresses (node-07 with its
      // Elastic IP), and nothing reported the outage as a missing device.
      const devices = new Map(
        (await sys.metal<{ devices: MetalDevice[] }>("GET", `/projects/${PROJECT_ID}/devices?per_page=1000`))
          .devices.map((d) => [d.hostname, d]),
      );
      const nodes = (await clients.core.listNode()).items;
      assert.equal(nodes.length, NODE_COUNT - 1, "50 - node-03 - node-12 + the late node");
      for (const node of nodes) assertInitializedFrom(node, devices.get(node.metadata!.name!)!);
      // Every Warning is the outage's: an instance check that failed with the simulated 503, on a node that was
      // NotReady during it. The late node may have one too when a lifecycle pass checked it, just initialized,
      // while the last failed list's error was still held.
      // About Nodes only: the API server's own repair controller may warn about the `kubernetes` Service.
      const warningEvents = (await clients.core.listNamespacedEvent({
        namespace: "default",
        fieldSelector: "type=Warning,involvedObject.kind=Node",
      })).items;
      const described = JSON.stringify(
        warningEvents.map((e) => [e.involvedObject.name, e.reason, e.message, e.count]),
      );
      const warned = new Set(warningEvents.map((e) => e.involvedObject.name));
      for (const name of notReady) assert.ok(warned.has(name), `a Warning on ${name}; got ${described}`);
      for (const event of warningEvents) {
        assert.ok(
          event.reason === INSTANCE_CHECK_FAILED &&
            [...notReady, LATE_NODE].includes(event.involvedObject.name ?? "") &&
            / 503 Service Unavailable/.test(event.message ?? ""),
          `no Warning but the outage's, on the nodes NotReady during it; got ${described}`,
        );
      }
    },
  );
  report(`Whole test: ${Math.round(performance.now() - started)} ms`);
});
