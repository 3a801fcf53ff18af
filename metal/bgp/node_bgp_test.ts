import { deepEqual, equal, match, rejects } from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { Registry } from "prom-client";
import type { V1Node } from "@kubernetes/client-node";
import { FakeInformer, FakeNodeWriter, RecordingRecorder } from "../../provider/testing/mod.ts";
import type { MetalClient } from "../api/client.ts";
import { InstantClock } from "../api/testing.ts";
import { makeNode, simulatedMetal } from "../testing.ts";
import type { AnnotationTemplates } from "./annotations.ts";
import { BGP_NODE_EVENT_REASONS, BgpNodeError, BgpNodeManager, privateNetworkOf } from "./node_bgp.ts";
import { ensureProjectBgp } from "./project.ts";
import { DeviceCache } from "../device_cache.ts";
import { errorMessage } from "../../util/errors.ts";

const templates: AnnotationTemplates = {
  localAsn: "metal.equinix.com/bgp-peers-{{n}}-node-asn",
  peerAsn: "metal.equinix.com/bgp-peers-{{n}}-peer-asn",
  peerIp: "metal.equinix.com/bgp-peers-{{n}}-peer-ip",
  srcIp: "metal.equinix.com/bgp-peers-{{n}}-src-ip",
  bgpPass: "metal.equinix.com/bgp-peers-{{n}}-bgp-pass",
  networkIpv4Private: "metal.equinix.com/network-4-private",
};

const logger = getLogger(["ccm", "test"]);

async function setup(
  options: {
    includePassword?: boolean;
    bgp?: boolean;
    md5?: string;
    deviceCache?: boolean;
    wrapClient?: (client: MetalClient) => MetalClient;
  } = {},
) {
  const metal = await simulatedMetal({
    hostnames: ["node-a", "node-b"],
    bgp: options.bgp === false ? undefined : { asn: 65000, md5: options.md5 },
  });
  const informer = new FakeInformer<V1Node>([
    makeNode("node-a", metal.deviceIds["node-a"]),
    makeNode("node-b", metal.deviceIds["node-b"]),
    makeNode("fresh", undefined),
  ]);
  const writer = new FakeNodeWriter(informer);
  const recorder = new RecordingRecorder();
  const registry = new Registry();
  const clock = new InstantClock();
  const devices = options.deviceCache
    ? new DeviceCache({ client: metal.client, projectId: metal.projectId, clock })
    : undefined;
  const manager = new BgpNodeManager({
    client: options.wrapClient?.(metal.client) ?? metal.client,
    devices,
    projectId: metal.projectId,
    nodes: writer,
    templates,
    includePassword: options.includePassword ?? true,
    recorder,
    metrics: registry,
    clock,
    ensureProjectBgp: async (signal) => {
      await ensureProjectBgp({
        client: metal.client,
        projectId: metal.projectId,
        localAsn: 65000,
        bgpPass: "",
        logger,
        signal,
      });
    },
  });
  return { metal, informer, writer, recorder, registry, clock, manager };
}

Deno.test("ensureNode() creates the session, annotates the node and returns its peers", async () => {
  const { metal, informer, manager, recorder } = await setup({ md5: "Secret123abc" });
  const peer = await manager.ensureNode(informer.get("node-a")!);
  const deviceId = metal.deviceIds["node-a"]!;
  const device = metal.api.store.devices.get(deviceId)!;
  equal(metal.api.store.sessionsOf(deviceId).length, 1);
  deepEqual(peer?.peerIPs, ["169.254.255.1", "169.254.255.2"]);
  equal(peer?.localASN, 65000);
  equal(peer?.peerASN, 65530);
  equal(peer?.password, "Secret123abc");
  equal(peer?.nodeName, "node-a");
  const annotations = informer.get("node-a")!.metadata!.annotations!;
  const privateIp = device.ipIds.map((id) => metal.api.store.assignments.get(id)!).find((a) =>
    metal.api.store.reservations.get(a.reservationId)!.type === "private_ipv4"
  )!;
  const block = metal.api.store.reservations.get(privateIp.reservationId)!;
  equal(annotations["metal.equinix.com/network-4-private"], `${block.network}/${block.cidr}`);
  equal(annotations["metal.equinix.com/bgp-peers-0-src-ip"], privateIp.address);
  equal(annotations["metal.equinix.com/bgp-peers-1-peer-ip"], "169.254.255.2");
  equal(annotations["metal.equinix.com/bgp-peers-0-bgp-pass"], btoa("Secret123abc"));
  equal(annotations["metal.equinix.com/bgp-peers-0-node-asn"], "65000");
  equal(annotations["metal.equinix.com/bgp-peers-0-peer-asn"], "65530");
  deepEqual(recorder.events, []);
});

Deno.test("a second ensureNode() makes no session POST, no API reads within the TTL, and no Node write", async () => {
  const { metal, informer, writer, manager } = await setup();
  await manager.ensureNode(informer.get("node-a")!);
  const writes = writer.writes.length;
  metal.mark();
  await manager.ensureNode(informer.get("node-a")!);
  deepEqual(metal.requests(), []);
  equal(writer.writes.length, writes);
});

Deno.test("an existing session (422 'already has session') counts as success", async () => {
  const { metal, informer, manager, registry } = await setup();
  const deviceId = metal.deviceIds["node-a"]!;
  await metal.client.createBgpSession(deviceId, "ipv4");
  const peer = await manager.ensureNode(informer.get("node-a")!);
  equal(peer?.nodeName, "node-a");
  equal(metal.api.store.sessionsOf(deviceId).length, 1);
  match(
    await registry.getSingleMetricAsString("ccm_equinixmetal_bgp_sessions_total"),
    /result="existing"} 1/,
  );
});

Deno.test("BGP disabled on the project: the session request re-enables project BGP and retries", async () => {
  const { metal, informer, manager } = await setup({ bgp: false });
  const peer = await manager.ensureNode(informer.get("node-b")!);
  equal(peer?.nodeName, "node-b");
  equal(metal.api.store.projects.get(metal.projectId)!.bgp?.status, "enabled");
});

Deno.test("a session failure is a BgpNodeError with a Warning Event on the Node (BGPSessionFailed)", async () => {
  const { metal, informer, manager, recorder } = await setup();
  metal.failNext({ method: "POST", path: `/devices/${metal.deviceIds["node-a"]}/bgp/sessions`, status: 403 });
  await rejects(
    manager.ensureNode(informer.get("node-a")!),
    (err) => err instanceof BgpNodeError && err.reason === BGP_NODE_EVENT_REASONS.sessionFailed,
  );
  deepEqual(recorder.reasons("node-a"), ["BGPSessionFailed"]);
  // Not cached as done: the next attempt asks again and succeeds.
  equal((await manager.ensureNode(informer.get("node-a")!))?.nodeName, "node-a");
});

Deno.test("a node without providerID is skipped with a BGPNodeSkipped Warning", async () => {
  const { informer, manager, recorder } = await setup();
  await rejects(manager.ensureNode(informer.get("fresh")!), /has no providerID yet/);
  deepEqual(recorder.reasons("fresh"), ["BGPNodeSkipped"]);
});

Deno.test("a node of another provider is ignored quietly", async () => {
  const { manager, recorder } = await setup();
  const node = makeNode("aws", undefined);
  node.spec = { providerID: "aws:///us-east-1a/i-123" };
  equal(await manager.ensureNode(node), undefined);
  deepEqual(recorder.events, []);
});

Deno.test("includePassword false: no bgp-pass annotation, and an old one is removed", async () => {
  const { informer, manager } = await setup({ includePassword: false, md5: "Secret123abc" });
  const node = informer.get("node-a")!;
  informer.upsert({
    ...node,
    metadata: { ...node.metadata, annotations: { "metal.equinix.com/bgp-peers-0-bgp-pass": "b2xk" } },
  });
  const peer = await manager.ensureNode(informer.get("node-a")!);
  equal(peer?.password, "Secret123abc", "implementations still get the password");
  const keys = Object.keys(informer.get("node-a")!.metadata!.annotations!);
  equal(keys.some((k) => k.endsWith("bgp-pass")), false, keys.join());
});

Deno.test("neighbour data is re-read after maxAgeMs, and a changed peer list rewrites annotations", async () => {
  const { metal, informer, manager, clock } = await setup();
  await manager.ensureNode(informer.get("node-a")!);
  metal.api.store.projects.get(metal.projectId)!.bgp!.asn = 65001;
  clock.advance(1000);
  await manager.ensureNode(informer.get("node-a")!, { maxAgeMs: 500 });
  equal(informer.get("node-a")!.metadata!.annotations!["metal.equinix.com/bgp-peers-0-node-asn"], "65001");
});

Deno.test("neighbours and private network stay cached for days; checkProject() re-reads neighbours only after a project change", async () => {
  const { metal, informer, manager, clock } = await setup({ md5: "Secret123abc" });
  await manager.checkProject();
  await manager.ensureNode(informer.get("node-a")!);
  metal.mark();
  clock.advance(3 * 24 * 3600_000);
  deepEqual(await manager.checkProject(), { configChanged: false, lostSessions: [] });
  await manager.ensureNode(informer.get("node-a")!);
  deepEqual(metal.requests().sort(), [
    `GET /projects/${metal.projectId}/bgp-config`,
    `GET /projects/${metal.projectId}/bgp/sessions`,
  ]);
  metal.api.store.projects.get(metal.projectId)!.bgp!.md5 = "Changed456def";
  metal.mark();
  deepEqual(await manager.checkProject(), { configChanged: true, lostSessions: [] });
  await manager.ensureNode(informer.get("node-a")!);
  deepEqual(metal.requests().filter((r) => r.includes("/devices/")), [
    `GET /devices/${metal.deviceIds["node-a"]}/bgp/neighbors`,
  ]);
  equal(
    informer.get("node-a")!.metadata!.annotations!["metal.equinix.com/bgp-peers-0-bgp-pass"],
    btoa("Changed456def"),
  );
});

Deno.test("with the device list, a node's BGP setup costs two calls (session, neighbours) and one list for all", async () => {
  const { metal, informer, manager } = await setup({ md5: "Secret123abc", deviceCache: true });
  metal.mark();
  await manager.ensureNode(informer.get("node-a")!);
  await manager.ensureNode(informer.get("node-b")!);
  const [a, b] = [metal.deviceIds["node-a"], metal.deviceIds["node-b"]];
  deepEqual(
    metal.requests().sort(),
    [
      `GET /devices/${a}/bgp/neighbors`,
      `GET /devices/${b}/bgp/neighbors`,
      `GET /projects/${metal.projectId}/devices?include=ip_addresses.parent_block&page=1&per_page=1000`,
      `POST /devices/${a}/bgp/sessions`,
      `POST /devices/${b}/bgp/sessions`,
    ].sort(),
  );
  const device = metal.api.store.devices.get(a!)!;
  const block = device.ipIds.map((id) => metal.api.store.assignments.get(id)!)
    .map((x) => metal.api.store.reservations.get(x.reservationId)!).find((r) => r.type === "private_ipv4")!;
  equal(
    informer.get("node-a")!.metadata!.annotations!["metal.equinix.com/network-4-private"],
    `${block.network}/${block.cidr}`,
  );
});

Deno.test("every BGP call waits behind node initialization and Services at the rate limiter (background priority)", async () => {
  const priorities: string[] = [];
  const { informer, manager } = await setup({
    wrapClient: (client) =>
      new Proxy(client, {
        get(target, name, receiver) {
          const value = Reflect.get(target, name, receiver);
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            const options = args.at(-1) as { priority?: string } | undefined;
            priorities.push(`${String(name)}:${options?.priority ?? "normal"}`);
            return value.apply(target, args);
          };
        },
      }),
  });
  await manager.checkProject();
  await manager.ensureNode(informer.get("node-a")!);
  deepEqual(priorities.sort(), [
    "createBgpSession:background",
    "getBgpConfig:background",
    "getBgpNeighbors:background",
    "getDevice:background",
    "listProjectBgpSessions:background",
  ]);
});

Deno.test("checkProject() reports a device whose session is gone, and ensureNode() creates it again", async () => {
  const { metal, informer, manager, clock } = await setup();
  const deviceId = metal.deviceIds["node-a"]!;
  await manager.ensureNode(informer.get("node-a")!);
  clock.advance(1000);
  metal.api.store.removeBgpSession(metal.api.store.sessionsOf(deviceId)[0]!);
  deepEqual(await manager.checkProject(), { configChanged: false, lostSessions: [deviceId] });
  await manager.ensureNode(informer.get("node-a")!);
  equal(metal.api.store.sessionsOf(deviceId).length, 1);
});

Deno.test("after checkProject() a restarted manager asks no session for devices that have one", async () => {
  const { metal, informer, manager } = await setup();
  await manager.ensureNode(informer.get("node-a")!);
  const restarted = new BgpNodeManager({
    client: metal.client,
    projectId: metal.projectId,
    nodes: new FakeNodeWriter(informer),
    templates,
    includePassword: true,
    clock: new InstantClock(),
  });
  await restarted.checkProject();
  metal.mark();
  await restarted.ensureNode(informer.get("node-a")!);
  deepEqual(metal.requests().filter((r) => r.startsWith("POST")), []);
});

Deno.test("clearNode() removes peer annotations but keeps the private network", async () => {
  const { informer, manager } = await setup();
  await manager.ensureNode(informer.get("node-a")!);
  await manager.clearNode(informer.get("node-a")!);
  deepEqual(Object.keys(informer.get("node-a")!.metadata!.annotations!), [
    "metal.equinix.com/network-4-private",
  ]);
});

Deno.test("privateNetworkOf() needs the parent block of the management private IPv4", () => {
  const base = { id: "d1" };
  const ip = {
    id: undefined,
    address: "10.0.0.5",
    addressFamily: 4,
    cidr: 31,
    network: undefined,
    netmask: undefined,
    gateway: undefined,
    public: false,
    management: true,
    parentBlock: { network: "10.0.0.0", cidr: 25, netmask: undefined },
    assignedTo: undefined,
  };
  equal(privateNetworkOf({ ...base, ipAddresses: [{ ...ip, public: true }, ip] }), "10.0.0.0/25");
  let err = "";
  try {
    privateNetworkOf({ ...base, ipAddresses: [{ ...ip, parentBlock: undefined }] });
  } catch (e) {
    err = errorMessage(e);
  }
  equal(err, "no network information provided for private address 10.0.0.5");
  try {
    privateNetworkOf({ ...base, ipAddresses: [] });
  } catch (e) {
    err = errorMessage(e);
  }
  match(err, /has no private management IPv4/);
});
