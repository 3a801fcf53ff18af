/**
 * The framework's service controller driving {@linkcode ElasticIpLoadBalancer} (kube-vip mode) over fakes of
 * Kubernetes and the in-process Metal simulator: the whole Service lifecycle through the real controller code.
 */
import { deepEqual, equal, notEqual, rejects } from "node:assert/strict";
import type { V1Node } from "@kubernetes/client-node";
import { parseLabelSelector } from "../../util/label_selector.ts";
import { ServiceController } from "../../provider/mod.ts";
import {
  apiTime,
  FakeInformer,
  FakeNodeWriter,
  FakeServiceWriter,
  RecordingRecorder,
} from "../../provider/testing/mod.ts";
import { InstantClock } from "../api/testing.ts";
import { BgpNodeManager } from "../bgp/node_bgp.ts";
import { ElasticIps, LATE_RESERVE_RECHECK_MS } from "./eip.ts";
import { createExternalAnnouncerImplementation } from "./external_announcer.ts";
import { ReservationCache } from "./reservation_cache.ts";
import { KUBE_VIP_IPS_ANNOTATION } from "./service_ip.ts";
import { ElasticIpLoadBalancer } from "./elastic_ip_load_balancer.ts";
import { serviceTags } from "./tags.ts";
import { makeNode, makeService, simulatedMetal } from "../testing.ts";
import { FakeServicePatcher } from "./testing.ts";

const CLUSTER = "uid-cluster";

async function setup() {
  const metal = await simulatedMetal({ hostnames: ["node-a"], bgp: { asn: 65000 } });
  const nodes = new FakeInformer<V1Node>([makeNode("node-a", metal.deviceIds["node-a"])]);
  const patcher = new FakeServicePatcher();
  const clock = new InstantClock();
  const recorder = new RecordingRecorder();
  const balancer = new ElasticIpLoadBalancer({
    implementation: createExternalAnnouncerImplementation("kube-vip"),
    clusterId: CLUSTER,
    eips: new ElasticIps({
      reservations: new ReservationCache({ client: metal.client, projectId: metal.projectId, clock }),
      clusterId: CLUSTER,
      location: { annotationEipMetro: "m", annotationEipFacility: "f", metro: "sv", facility: "" },
      recorder,
    }),
    bgp: new BgpNodeManager({
      client: metal.client,
      projectId: metal.projectId,
      nodes: new FakeNodeWriter(nodes),
      templates: {
        localAsn: "a/{{n}}",
        peerAsn: "b/{{n}}",
        peerIp: "c/{{n}}",
        srcIp: "d/{{n}}",
        bgpPass: "e/{{n}}",
        networkIpv4Private: "f",
      },
      includePassword: true,
      clock,
    }),
    nodeSelector: parseLabelSelector(""),
    eipTag: "",
    exposure: "kube-vip",
    peers: false,
    services: patcher,
    recorder,
  });
  const controller = new ServiceController({
    balancer,
    services: patcher.informer,
    nodes,
    writer: new FakeServiceWriter(patcher.informer),
    recorder,
    clusterName: "kubernetes",
    workers: 1,
  });
  const ours = (name: string) =>
    [...metal.api.store.reservations.values()].filter((r) =>
      serviceTags("default", name, CLUSTER).every((t) => r.tags.includes(t))
    );
  return { metal, patcher, controller, recorder, ours };
}

Deno.test("service controller + kube-vip: LoadBalancer → ClusterIP → LoadBalancer releases and gets a fresh EIP (kubernetes-sigs/cloud-provider-equinix-metal#206)", async () => {
  const { patcher, controller, ours } = await setup();
  patcher.put(makeService("default", "web"));
  await controller.syncService("default/web");
  const [first] = ours("web");
  let svc = patcher.get("default", "web");
  deepEqual(svc.status?.loadBalancer?.ingress, [{ ip: first!.network }]);
  equal(svc.spec?.loadBalancerIP, first!.network);
  equal(svc.metadata?.finalizers?.includes("service.kubernetes.io/load-balancer-cleanup"), true);
  // The spec write triggers another sync: nothing changes.
  await controller.syncService("default/web");
  equal(ours("web").length, 1);

  patcher.put({ ...svc, spec: { ...svc.spec, type: "ClusterIP" } });
  await controller.syncService("default/web");
  svc = patcher.get("default", "web");
  equal(ours("web").length, 0);
  equal(svc.spec?.loadBalancerIP, undefined);
  equal(svc.metadata?.annotations?.[KUBE_VIP_IPS_ANNOTATION], undefined);
  equal(svc.metadata?.finalizers?.length ?? 0, 0);
  deepEqual(svc.status?.loadBalancer?.ingress ?? [], []);

  patcher.put({ ...svc, spec: { ...svc.spec, type: "LoadBalancer" } });
  await controller.syncService("default/web");
  const [second] = ours("web");
  notEqual(second!.id, first!.id);
  deepEqual(patcher.get("default", "web").status?.loadBalancer?.ingress, [{ ip: second!.network }]);
});

Deno.test("service controller: a BYO-IP Service gets a status (no 'nil status' retry loop, docs/upstream.md#byo-ip-services)", async () => {
  const { patcher, controller, ours, recorder } = await setup();
  patcher.put(makeService("default", "byo", { loadBalancerIP: "203.0.113.10" }));
  await controller.syncService("default/byo");
  deepEqual(patcher.get("default", "byo").status?.loadBalancer?.ingress, [{ ip: "203.0.113.10" }]);
  equal(ours("byo").length, 0);
  equal(recorder.reasons("default/byo").includes("SyncLoadBalancerFailed"), false);
});

Deno.test("service controller: a deleted Service keeps its finalizer until its EIP is released", async () => {
  const { patcher, controller, ours, metal } = await setup();
  patcher.put(makeService("default", "gone"));
  await controller.syncService("default/gone");
  equal(ours("gone").length, 1);
  const svc = patcher.get("default", "gone");
  patcher.put({ ...svc, metadata: { ...svc.metadata, deletionTimestamp: apiTime() } });
  // The client retries a DELETE 4 times: 5 failures fail one sync.
  metal.failNext({ method: "DELETE", path: "/ips/", status: 500, count: 5 });
  await controller.syncService("default/gone").catch(() => {});
  equal(patcher.get("default", "gone").metadata?.finalizers?.length, 1, "kept while the release fails");
  equal(ours("gone").length, 1);
  await controller.syncService("default/gone");
  equal(ours("gone").length, 0);
  equal(patcher.informer.get("default/gone"), undefined, "finalizer removed, object gone");
});

Deno.test("service controller: a reserve that failed with 5xx but landed after the retry is released on the recheck", async () => {
  const { patcher, controller, ours, metal } = await setup();
  patcher.put(makeService("default", "late"));
  metal.failNext({ method: "POST", path: `/projects/${metal.projectId}/ips`, status: 503 });
  await rejects(controller.syncService("default/late"), /Failed to reserve an elastic IP/);
  // The retry reserves: nothing is tagged for the Service yet. A recheck is asked for.
  equal(await controller.syncService("default/late"), LATE_RESERVE_RECHECK_MS);
  const [kept] = ours("late");
  // Now the failed request completes on the API's side.
  await metal.client.createIpReservation(metal.projectId, {
    type: "public_ipv4",
    quantity: 1,
    metro: "sv",
    tags: serviceTags("default", "late", CLUSTER),
  });
  equal(ours("late").length, 2);
  await controller.syncService("default/late");
  deepEqual(ours("late").map((r) => r.id), [kept!.id]);
  deepEqual(patcher.get("default", "late").status?.loadBalancer?.ingress, [{ ip: kept!.network }]);
});
