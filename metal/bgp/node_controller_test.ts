import { deepEqual, equal, rejects } from "node:assert/strict";
import type { V1Node } from "@kubernetes/client-node";
import { FakeClock, flush, until } from "../../util/clock.ts";
import { RetryError } from "../../provider/mod.ts";
import { parseLabelSelector } from "../../util/label_selector.ts";
import { FakeInformer, FakeNodeWriter, RecordingRecorder } from "../../provider/testing/mod.ts";
import { makeNode, simulatedMetal } from "../testing.ts";
import type { AnnotationTemplates } from "./annotations.ts";
import { BgpNodeController } from "./node_controller.ts";
import { BgpNodeManager } from "./node_bgp.ts";

const templates: AnnotationTemplates = {
  localAsn: "metal.equinix.com/bgp-peers-{{n}}-node-asn",
  peerAsn: "metal.equinix.com/bgp-peers-{{n}}-peer-asn",
  peerIp: "metal.equinix.com/bgp-peers-{{n}}-peer-ip",
  srcIp: "metal.equinix.com/bgp-peers-{{n}}-src-ip",
  bgpPass: "metal.equinix.com/bgp-peers-{{n}}-bgp-pass",
  networkIpv4Private: "metal.equinix.com/network-4-private",
};

async function setup(selector = "") {
  const metal = await simulatedMetal({ hostnames: ["node-a", "node-b"], bgp: { asn: 65000 } });
  const informer = new FakeInformer<V1Node>([
    makeNode("node-a", metal.deviceIds["node-a"], { labels: { bgp: "yes" } }),
    makeNode("node-b", metal.deviceIds["node-b"], { labels: { bgp: "yes" } }),
  ]);
  const writer = new FakeNodeWriter(informer);
  const clock = new FakeClock(1_000_000);
  const recorder = new RecordingRecorder();
  const manager = new BgpNodeManager({
    client: metal.client,
    projectId: metal.projectId,
    nodes: writer,
    templates,
    includePassword: true,
    clock,
    recorder,
  });
  const controller = new BgpNodeController({
    manager,
    nodes: informer,
    selector: parseLabelSelector(selector),
    resyncMs: 60_000,
    clock,
  });
  const annotations = (name: string) => informer.get(name)?.metadata?.annotations ?? {};
  return { metal, informer, writer, clock, controller, annotations, recorder };
}

Deno.test("the controller enables BGP and annotates every selected node when it starts", async () => {
  const { metal, controller, annotations } = await setup();
  const stop = new AbortController();
  const run = controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
  await until(() =>
    annotations("node-a")["metal.equinix.com/bgp-peers-1-peer-ip"] !== undefined &&
    annotations("node-b")["metal.equinix.com/bgp-peers-1-peer-ip"] !== undefined
  );
  equal(metal.api.store.sessionsOf(metal.deviceIds["node-a"]!).length, 1);
  equal(metal.api.store.sessionsOf(metal.deviceIds["node-b"]!).length, 1);
  stop.abort();
  await run;
});

Deno.test("annotations follow neighbour changes at the next resync (upstream wrote them once: docs/upstream.md#node-annotations-kept-current), one patch per node, none when unchanged", async () => {
  const { metal, controller, annotations, writer, clock } = await setup();
  const stop = new AbortController();
  const run = controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
  await until(() => annotations("node-a")["metal.equinix.com/bgp-peers-0-node-asn"] === "65000");
  await until(() => annotations("node-b")["metal.equinix.com/bgp-peers-0-node-asn"] === "65000");
  const patchesBefore = writer.writes.filter((w) => w.verb === "patch").length;
  equal(patchesBefore, 2, "one patch per node");
  // Nothing changes: a resync writes nothing.
  await clock.advance(60_000);
  await until(() => clock.pendingSleeps > 0);
  equal(writer.writes.filter((w) => w.verb === "patch").length, 2);
  // The project's ASN changes: the next resync re-reads neighbours and patches each node once.
  metal.api.store.projects.get(metal.projectId)!.bgp!.asn = 65010;
  await clock.advance(60_000);
  await until(() =>
    annotations("node-a")["metal.equinix.com/bgp-peers-1-node-asn"] === "65010" &&
    annotations("node-b")["metal.equinix.com/bgp-peers-1-node-asn"] === "65010"
  );
  equal(writer.writes.filter((w) => w.verb === "patch").length, 4);
  stop.abort();
  await run;
});

Deno.test("an idle resync costs two project-level Metal calls however many nodes, none per node", async () => {
  const { metal, controller, annotations, clock } = await setup();
  const stop = new AbortController();
  const run = controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
  await until(() =>
    annotations("node-a")["metal.equinix.com/bgp-peers-1-peer-ip"] !== undefined &&
    annotations("node-b")["metal.equinix.com/bgp-peers-1-peer-ip"] !== undefined
  );
  await until(() => clock.pendingSleeps > 0);
  for (let period = 1; period <= 3; period++) {
    metal.mark();
    await clock.advance(60_000);
    await until(() => metal.requests().length >= 2 && clock.pendingSleeps > 0, { clock });
    await flush(undefined, 20);
    deepEqual(metal.requests().sort(), [
      `GET /projects/${metal.projectId}/bgp-config`,
      `GET /projects/${metal.projectId}/bgp/sessions`,
    ], `resync ${period}`);
  }
  stop.abort();
  await run;
});

Deno.test("a BGP session deleted behind our back is created again at the next resync", async () => {
  const { metal, controller, annotations, clock } = await setup();
  const stop = new AbortController();
  const run = controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
  const deviceId = metal.deviceIds["node-a"]!;
  await until(() => annotations("node-a")["metal.equinix.com/bgp-peers-1-peer-ip"] !== undefined);
  await until(() => clock.pendingSleeps > 0);
  metal.api.store.removeBgpSession(metal.api.store.sessionsOf(deviceId)[0]!);
  await clock.advance(60_000);
  await until(() => metal.api.store.sessionsOf(deviceId).length === 1, { clock });
  stop.abort();
  await run;
});

Deno.test("a node that stops matching METAL_BGP_NODE_SELECTOR loses its peer annotations", async () => {
  const { controller, annotations, informer } = await setup("bgp=yes");
  await controller.syncNode("node-a");
  equal(annotations("node-a")["metal.equinix.com/bgp-peers-0-peer-ip"], "169.254.255.1");
  const node = informer.get("node-a")!;
  informer.upsert({ ...node, metadata: { ...node.metadata, labels: { bgp: "no" } } });
  await controller.syncNode("node-a");
  deepEqual(Object.keys(annotations("node-a")), ["metal.equinix.com/network-4-private"]);
});

Deno.test("someone removing our annotations gets them back (level-triggered)", async () => {
  const { controller, annotations, informer } = await setup();
  await controller.syncNode("node-a");
  const node = informer.get("node-a")!;
  informer.upsert({ ...node, metadata: { ...node.metadata, annotations: {} } });
  await controller.syncNode("node-a");
  equal(annotations("node-a")["metal.equinix.com/bgp-peers-1-peer-ip"], "169.254.255.2");
});

Deno.test("nodes without providerID or of another provider are left alone; a session failure is an error (retried)", async () => {
  const { controller, informer, writer, metal } = await setup();
  informer.upsert(makeNode("fresh", undefined));
  const aws = makeNode("aws", undefined);
  aws.spec = { providerID: "aws:///zone/i-1" };
  informer.upsert(aws);
  await controller.syncNode("fresh");
  await controller.syncNode("aws");
  equal(writer.writes.length, 0);
  // BGP switched off on the project: the session request fails (runWorkers retries with backoff).
  metal.api.store.projects.get(metal.projectId)!.bgp = undefined;
  await rejects(controller.syncNode("node-a"), /Failed to enable BGP on device/);
});

Deno.test("no IPv4 neighbour yet: annotate the network and ask again later (RetryError)", async () => {
  const { metal, informer, writer } = await setup();
  const client = {
    createBgpSession: metal.client.createBgpSession.bind(metal.client),
    getDevice: metal.client.getDevice.bind(metal.client),
    getBgpNeighbors: () => Promise.resolve([]),
    getBgpConfig: metal.client.getBgpConfig.bind(metal.client),
    listProjectBgpSessions: metal.client.listProjectBgpSessions.bind(metal.client),
  };
  const manager = new BgpNodeManager({
    client,
    projectId: metal.projectId,
    nodes: writer,
    templates,
    includePassword: true,
  });
  const controller = new BgpNodeController({ manager, nodes: informer, selector: parseLabelSelector("") });
  await rejects(controller.syncNode("node-a"), RetryError);
  deepEqual(Object.keys(informer.get("node-a")!.metadata!.annotations!), [
    "metal.equinix.com/network-4-private",
  ]);
});
