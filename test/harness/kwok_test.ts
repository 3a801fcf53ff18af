/**
 * kwok as the kubelets (test/harness/kwok.ts): it reports the Nodes it manages Ready, heartbeats them and
 * renews their Leases, leaves every other Node alone, and never writes addresses, so its status writes and
 * ccm's address patch converge on ccm's addresses.
 */
import assert from "node:assert/strict";
import type { V1Node } from "@kubernetes/client-node";
import type { JsonLease } from "../../provider/kube/json_types.ts";
import { parse } from "yaml";
import { FakeProvider } from "../../provider/testing/fake_provider.ts";
import { startInProcessCcm } from "../ccm_in_process.ts";
import { createNode, startTestCluster, UNINITIALIZED_TAINT, waitFor } from "./mod.ts";
import { KWOK_FIELD_MANAGER, KWOK_NODE_ANNOTATION, kwokConfig, startKwok } from "./kwok.ts";

const ready = (node: V1Node) => node.status?.conditions?.find((c) => c.type === "Ready");
const heartbeat = (node: V1Node) => new Date(ready(node)?.lastHeartbeatTime ?? 0).getTime();

/** Managers that own some field of `status.addresses`. */
function addressOwners(node: V1Node): string[] {
  return (node.metadata?.managedFields ?? []).filter((m) => {
    const status = (m.fieldsV1 as Record<string, Record<string, unknown>> | undefined)?.["f:status"];
    return status !== undefined && "f:addresses" in status;
  }).map((m) => m.manager ?? "");
}

/** Managers that own some field of `status.conditions`. */
function conditionOwners(node: V1Node): string[] {
  return (node.metadata?.managedFields ?? []).filter((m) => {
    const status = (m.fieldsV1 as Record<string, Record<string, unknown>> | undefined)?.["f:status"];
    return status !== undefined && "f:conditions" in status;
  }).map((m) => m.manager ?? "");
}

Deno.test("kwok's stages write the kubelet's conditions and nothing else", () => {
  const docs = kwokConfig({ statusReportMs: 1000, readyAfterMs: 50 }).split(/^---$/m).map((d) => parse(d));
  assert.deepEqual(docs.map((d) => d.kind), ["KwokConfiguration", "Stage", "Stage"]);
  assert.equal(docs[0].options.manageNodesWithAnnotationSelector, `${KWOK_NODE_ANNOTATION}=fake`);
  for (const stage of docs.slice(1)) {
    assert.deepEqual(Object.keys(stage.spec.next), ["statusTemplate"], stage.metadata.name);
    assert.doesNotMatch(stage.spec.next.statusTemplate, /addresses/, stage.metadata.name);
  }
  assert.equal(docs[1].spec.delay.durationMilliseconds, 50);
  assert.deepEqual(docs[2].spec.delay, { durationMilliseconds: 1000, jitterDurationMilliseconds: 1100 });
  // A heartbeat within the second of the last would change nothing, and end the heartbeats.
  assert.throws(() => kwokConfig({ statusReportMs: 999 }), RangeError);
});

Deno.test("kwok reports its Nodes Ready, heartbeats them and renews their Leases; other Nodes are left alone", async () => {
  await using cluster = await startTestCluster();
  await using kwok = await startKwok(cluster, {
    statusReportMs: 1000,
    leaseDurationSeconds: 4,
    niceness: 10,
  });
  // Niced: the process is kwok itself (nice execs it) at niceness 10.
  await waitFor(async () => (await Deno.readTextFile(`/proc/${kwok.process.pid}/comm`)).trim() === "kwok", {
    timeoutMs: 10_000,
    message: "kwok to be exec'd",
  });
  const stat = await Deno.readTextFile(`/proc/${kwok.process.pid}/stat`);
  assert.equal(
    stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16],
    "10",
    "field 19 of /proc/<pid>/stat: nice",
  );
  const registered = await kwok.registerNode("kwok-node");
  assert.equal(ready(registered)?.status, "False", "registered NotReady, as a kubelet before its CNI");
  // The API server adds node.kubernetes.io/not-ready for a NotReady Node; kube-controller-manager (not running
  // here) would take it off once Ready.
  assert.deepEqual(registered.spec?.taints?.[0], UNINITIALIZED_TAINT);
  await createNode(cluster.clients, "own-node", { ready: false });

  const core = cluster.clients.core;
  const first = await waitFor(async () => {
    await kwok.assertRunning();
    const node = await core.readNode({ name: "kwok-node" });
    return ready(node)?.status === "True" ? node : undefined;
  }, { timeoutMs: 20_000, message: "kwok to report kwok-node Ready" });
  assert.equal(ready(first)?.reason, "KubeletReady");
  // Heartbeats: lastHeartbeatTime moves on, lastTransitionTime stays.
  await waitFor(async () => {
    const node = await core.readNode({ name: "kwok-node" });
    return heartbeat(node) >= heartbeat(first) + 1000 ? node : undefined;
  }, { timeoutMs: 20_000, message: "two heartbeats (the times have 1 s resolution)" }).then((node) => {
    assert.equal(String(ready(node)?.lastTransitionTime), String(ready(first)?.lastTransitionTime));
    assert.deepEqual(node.status?.addresses, [{ type: "Hostname", address: "kwok-node" }]);
  });
  // The Lease: named after and owned by the node, renewed every second (a quarter of 4 s). kwok holds it as
  // itself (a kubelet holds it as its node name).
  const leaseOf = async (): Promise<JsonLease | undefined> =>
    await cluster.clients.coordination.readNamespacedLease({
      name: "kwok-node",
      namespace: "kube-node-lease",
    })
      .catch(() => undefined);
  const held = await waitFor(leaseOf, { timeoutMs: 20_000, message: "the Lease of kwok-node" });
  assert.match(held.spec?.holderIdentity ?? "", /\S/);
  assert.equal(held.spec?.leaseDurationSeconds, 4);
  assert.equal(held.metadata?.ownerReferences?.[0]?.name, "kwok-node");
  await waitFor(async () => {
    const renewed = await leaseOf();
    const time = (lease?: JsonLease) => new Date(lease?.spec?.renewTime ?? 0).getTime();
    return time(renewed) > time(held);
  }, { timeoutMs: 10_000, message: "the Lease to be renewed" });

  const own = await core.readNode({ name: "own-node" });
  assert.equal(ready(own)?.status, "False", "a Node without the annotation is not kwok's");
  const ownLease = await cluster.clients.coordination.readNamespacedLease({
    name: "own-node",
    namespace: "kube-node-lease",
  }).then(() => true, () => false);
  assert.equal(ownLease, false, "and has no Lease");
  assert.ok(
    conditionOwners(first).includes(KWOK_FIELD_MANAGER),
    `kwok's field manager: ${conditionOwners(first)}`,
  );
});

Deno.test("kwok's status writes and ccm's address patch converge on ccm's addresses", async () => {
  await using cluster = await startTestCluster();
  // Heartbeats every 1-1.1 s: kwok's status patches race ccm's address patch on every node.
  await using kwok = await startKwok(cluster, { statusReportMs: 1000, leaseDurationSeconds: 0 });
  const provider = new FakeProvider();
  const names = Array.from({ length: 20 }, (_, i) => `node-${String(i).padStart(2, "0")}`);
  const cloudAddresses = (i: number) => [
    { type: "InternalIP", address: `10.0.0.${i + 10}` },
    { type: "ExternalIP", address: `147.75.0.${i + 10}` },
  ];
  for (const [i, name] of names.entries()) {
    provider.setInstance(name, { instanceType: "c3.small.x86", region: "da", addresses: cloudAddresses(i) });
  }
  await using _ccm = startInProcessCcm(cluster, { provider, args: ["--controllers=cloud-node"] });
  await kwok.registerNodes(names);

  const initialized = await waitFor(async () => {
    await kwok.assertRunning();
    const nodes = (await cluster.clients.core.listNode()).items;
    const done = nodes.filter((n) =>
      n.spec?.providerID && !n.spec.taints?.some((t) => t.key === UNINITIALIZED_TAINT.key) &&
      ready(n)?.status === "True"
    );
    return done.length === names.length ? nodes : undefined;
  }, { timeoutMs: 30_000, intervalMs: 100, message: "20 nodes initialized and Ready" });
  // Two more heartbeats on every node after ccm's patch.
  await waitFor(async () => {
    const nodes = (await cluster.clients.core.listNode()).items;
    return nodes.every((n) =>
      heartbeat(n) >= heartbeat(initialized.find((o) => o.metadata?.name === n.metadata?.name)!) + 2000
    );
  }, { timeoutMs: 20_000, message: "heartbeats after initialization" });

  for (const node of (await cluster.clients.core.listNode()).items) {
    const name = node.metadata!.name!;
    assert.deepEqual(
      node.status?.addresses,
      [...cloudAddresses(names.indexOf(name)), { type: "Hostname", address: name }],
      `${name}: the cloud's addresses, then the kubelet's Hostname`,
    );
    assert.ok(conditionOwners(node).includes(KWOK_FIELD_MANAGER), `${name}: kwok wrote the conditions`);
    assert.ok(!addressOwners(node).includes(KWOK_FIELD_MANAGER), `${name}: kwok never wrote addresses`);
  }
});
