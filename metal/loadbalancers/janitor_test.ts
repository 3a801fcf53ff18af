import { deepEqual, equal, match } from "node:assert/strict";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { FakeInformer, RecordingRecorder } from "../../provider/testing/mod.ts";
import { InstantClock } from "../api/testing.ts";
import { ElasticIps } from "./eip.ts";
import type { LoadBalancerImplementation } from "./implementation.ts";
import { LoadBalancerJanitor } from "./janitor.ts";
import { ReservationCache } from "./reservation_cache.ts";
import { serviceTags } from "./tags.ts";
import { makeNode, makeService, simulatedMetal } from "../testing.ts";

const CLUSTER = "uid-cluster";
const INTERVAL = 60_000;

async function setup() {
  const metal = await simulatedMetal({ hostnames: ["node-a"] });
  const clock = new InstantClock();
  const registry = new Registry();
  const recorder = new RecordingRecorder();
  const reservations = new ReservationCache({ client: metal.client, projectId: metal.projectId, clock });
  const eips = new ElasticIps({
    reservations,
    clusterId: CLUSTER,
    location: { annotationEipMetro: "m", annotationEipFacility: "f", metro: "sv", facility: "" },
    metrics: registry,
  });
  const services = new FakeInformer<V1Service>();
  const nodes = new FakeInformer<V1Node>([makeNode("node-a", metal.deviceIds["node-a"])]);
  const gcCalls: { services: string[]; nodes: string[] }[] = [];
  let gcError: Error | undefined;
  const implementation: LoadBalancerImplementation = {
    name: "test",
    addService: () => Promise.resolve(undefined),
    updateService: () => Promise.resolve(),
    removeService: () => Promise.resolve(),
    garbageCollect: (live) => {
      gcCalls.push({
        services: live.services.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`),
        nodes: live.nodes.map((n) => n.metadata?.name ?? ""),
      });
      return gcError ? Promise.reject(gcError) : Promise.resolve();
    },
  };
  const janitor = new LoadBalancerJanitor({
    implementation,
    services,
    nodes,
    orphanSweep: true,
    eips,
    reservations,
    clusterId: CLUSTER,
    intervalMs: INTERVAL,
    recorder,
    metrics: registry,
    clock,
  });
  const reserve = async (tags: string[]) =>
    (await metal.client.createIpReservation(metal.projectId, {
      type: "public_ipv4",
      quantity: 1,
      metro: "sv",
      tags,
    }))
      .id;
  const exists = (id: string) => metal.api.store.reservations.has(id);
  return {
    metal,
    clock,
    registry,
    recorder,
    services,
    janitor,
    reserve,
    exists,
    gcCalls,
    setGcError: (e: Error) => gcError = e,
  };
}

Deno.test("orphan sweep: a reservation whose Service is gone is released on the second pass, others are kept", async () => {
  const { janitor, services, reserve, exists, clock, recorder } = await setup();
  services.upsert(makeService("default", "live"));
  const live = await reserve(serviceTags("default", "live", CLUSTER));
  const orphan = await reserve(serviceTags("default", "gone", CLUSTER));
  const otherCluster = await reserve(serviceTags("default", "gone", "another-cluster"));
  const untagged = await reserve(["cluster-api-provider-packet:cluster-id:x"]);
  await janitor.pass();
  equal(exists(orphan), true, "not on first sight");
  clock.advance(INTERVAL);
  await janitor.pass();
  equal(exists(orphan), false);
  equal(exists(live), true);
  equal(exists(otherCluster), true);
  equal(exists(untagged), true);
  deepEqual(recorder.reasons("kube-system"), ["EIPOrphanReleased"]);
});

Deno.test("orphan sweep: a Service that came back in between saves its reservation", async () => {
  const { janitor, services, reserve, exists, clock } = await setup();
  const id = await reserve(serviceTags("default", "flappy", CLUSTER));
  await janitor.pass();
  services.upsert(makeService("default", "flappy"));
  clock.advance(INTERVAL);
  await janitor.pass();
  services.remove("default/flappy");
  clock.advance(INTERVAL);
  await janitor.pass();
  equal(exists(id), true, "seen orphaned once since it came back; wait another pass");
  clock.advance(INTERVAL);
  await janitor.pass();
  equal(exists(id), false);
});

Deno.test("orphan sweep never releases on an API error (upstream-safe: ambiguity means skip)", async () => {
  const { janitor, reserve, exists, clock, metal, registry } = await setup();
  const id = await reserve(serviceTags("default", "gone", CLUSTER));
  await janitor.pass();
  clock.advance(INTERVAL);
  metal.failNext({ method: "GET", path: `/projects/${metal.projectId}/ips`, status: 503, count: 10 });
  await janitor.pass();
  equal(exists(id), true);
  match(
    await registry.getSingleMetricAsString("ccm_equinixmetal_eip_orphan_sweeps_total"),
    /result="error"} 1/,
  );
});

Deno.test("orphan sweep: nothing before the Service cache has synced", async () => {
  const { janitor, services, reserve, exists, clock, gcCalls } = await setup();
  const id = await reserve(serviceTags("default", "gone", CLUSTER));
  services.synced = false;
  await janitor.pass();
  clock.advance(INTERVAL);
  await janitor.pass();
  equal(exists(id), true);
  equal(gcCalls.length, 0);
});

Deno.test("orphan sweep: a Service no longer of type LoadBalancer without our finalizer counts as gone; with it, not", async () => {
  const { janitor, services, reserve, exists, clock } = await setup();
  services.upsert(makeService("default", "cip", { type: "ClusterIP" }));
  const cleaning = makeService("default", "cleaning", { type: "ClusterIP" });
  cleaning.metadata!.finalizers = ["service.kubernetes.io/load-balancer-cleanup"];
  services.upsert(cleaning);
  const a = await reserve(serviceTags("default", "cip", CLUSTER));
  const b = await reserve(serviceTags("default", "cleaning", CLUSTER));
  await janitor.pass();
  clock.advance(INTERVAL);
  await janitor.pass();
  equal(exists(a), false);
  equal(exists(b), true, "the service controller cleans it up through the finalizer");
});

Deno.test("garbage collection gets the live LoadBalancer Services and Nodes; its failure does not stop the sweep", async () => {
  const { janitor, services, gcCalls, setGcError, reserve, exists, clock } = await setup();
  services.upsert(makeService("default", "lb"));
  services.upsert(makeService("default", "cip", { type: "ClusterIP" }));
  const other = makeService("default", "other");
  other.spec!.loadBalancerClass = "example.com/other";
  services.upsert(other);
  setGcError(new Error("boom"));
  const id = await reserve(serviceTags("default", "gone", CLUSTER));
  await janitor.pass();
  clock.advance(INTERVAL);
  await janitor.pass();
  deepEqual(gcCalls[0], { services: ["default/lb"], nodes: ["node-a"] });
  equal(exists(id), false);
});
