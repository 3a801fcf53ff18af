/**
 * EMLB against a real kube-apiserver (Services, NodePorts, annotations) and the simulator served over HTTP on
 * loopback (LBaaS + token exchange): create, update after a node change (origins diffed, unchanged ones keep
 * their ids), port change, removal cleaning everything.
 */
import assert from "node:assert/strict";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { PATHS } from "../fake_api/app.ts";
import { createTestApi, TEST_API_KEY, TEST_PROJECT_ID } from "../fake_api/testing.ts";
import type { KubeClients } from "../provider/kube/client.ts";
import { RecordingRecorder } from "../provider/testing/recording_recorder.ts";
import {
  createEMLBImplementation,
  LOAD_BALANCER_ID_ANNOTATION,
  LOAD_BALANCER_METRO_ANNOTATION,
} from "../metal/loadbalancers/emlb.ts";
import { createNode, createService, startTestCluster } from "./harness/mod.ts";

const LB_NAME = "usage=cloud-provider-equinix-metal-auto:service=d2ViCg==:cluster=test-cluster";

async function readService(kube: KubeClients, name: string): Promise<V1Service> {
  return await kube.core.readNamespacedService({ name, namespace: "default" });
}

Deno.test("EMLB against a real API server and the simulator over HTTP", async (t) => {
  await using cluster = await startTestCluster();
  const kube = cluster.clients;
  const api = await createTestApi();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, api.app.fetch);
  await using _server = { [Symbol.asyncDispose]: () => server.shutdown() };
  const base = `http://127.0.0.1:${server.addr.port}`;
  const registry = new Registry();
  const recorder = new RecordingRecorder();
  const impl = createEMLBImplementation({
    kube,
    metro: "sv",
    projectId: TEST_PROJECT_ID,
    apiKey: TEST_API_KEY,
    lbaasUrl: `${base}${PATHS.lbaas}`,
    tokenExchangeUrl: `${base}${PATHS.tokenExchange}`,
    recorder,
    metrics: registry,
  });
  const node = (name: string, ip: string) =>
    createNode(kube, name, {
      addresses: [{ type: "InternalIP", address: `10.0.0.${ip.split(".").at(-1)}` }, {
        type: "ExternalIP",
        address: ip,
      }],
    });
  const [a, b, c] = [
    await node("a", "147.0.0.1"),
    await node("b", "147.0.0.2"),
    await node("c", "147.0.0.3"),
  ];
  await createService(kube, {
    name: "web",
    ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }, {
      name: "https",
      port: 443,
      targetPort: 8443,
      protocol: "TCP",
    }],
  });
  const svc = await readService(kube, "web");
  const nodePort = (s: V1Service, port: number) =>
    s.spec?.ports?.find((p) => p.port === port)?.nodePort as number;
  const origins = () =>
    Object.fromEntries(
      [...api.store.lbPorts.values()].map((port) => [
        port.number,
        port.poolIds.flatMap((pid) => api.store.lbPools.get(pid)?.originIds ?? [])
          .map((id) => api.store.lbOrigins.get(id)!)
          .map((o) => ({ id: o.id, target: `${o.target}:${o.portNumber}` }))
          .sort((x, y) => x.target.localeCompare(y.target)),
      ]),
    );
  const update = async (nodes: V1Node[]) =>
    await impl.updateService({
      service: await readService(kube, "web"),
      ipCidr: "",
      peers: [],
      nodes,
      loadBalancerName: LB_NAME,
    });

  let first: ReturnType<typeof origins> = {};
  await t.step("create: load balancer, ports, pools, origins, annotations, ingress", async () => {
    const status = await impl.addService({
      service: svc,
      ipCidr: "",
      peers: [],
      nodes: [a, b],
      loadBalancerName: LB_NAME,
    });
    assert.equal(api.store.loadBalancers.size, 1);
    const lb = [...api.store.loadBalancers.values()][0]!;
    assert.equal(lb.locationId, "lctnloc-H5rl2M2VL5dcFmdxhbEKx");
    assert.ok(lb.ips.length > 0);
    assert.deepEqual(status, { ingress: lb.ips.map((ip) => ({ ip })) });
    const annotations = (await readService(kube, "web")).metadata?.annotations;
    assert.equal(annotations?.[LOAD_BALANCER_ID_ANNOTATION], lb.id);
    assert.equal(annotations?.[LOAD_BALANCER_METRO_ANNOTATION], "sv");
    first = origins();
    const [p80, p443] = [nodePort(svc, 80), nodePort(svc, 443)];
    assert.deepEqual(
      Object.fromEntries(Object.entries(first).map(([k, v]) => [k, v.map((o) => o.target)])),
      { 80: [`147.0.0.1:${p80}`, `147.0.0.2:${p80}`], 443: [`147.0.0.1:${p443}`, `147.0.0.2:${p443}`] },
    );
    const lookup = await impl.getLoadBalancer?.(await readService(kube, "web"));
    assert.deepEqual(lookup, { exists: true, status });
  });

  await t.step("node change: unchanged origins keep their ids, only the difference is written", async () => {
    const before = api.requestLog.list().length;
    await update([a, c]);
    const now = origins();
    for (const port of ["80", "443"]) {
      assert.deepEqual(now[port]?.[0], first[port]?.[0], `port ${port}: a's origin untouched`);
      assert.match(now[port]?.[1]?.target ?? "", /^147\.0\.0\.3:/);
      assert.equal(now[port]?.length, 2);
    }
    const writes = api.requestLog.list().slice(before).filter((e) => e.method !== "GET").map((e) => e.method);
    assert.deepEqual(
      writes.sort(),
      ["DELETE", "DELETE", "POST", "POST"],
      "one create and one delete per port",
    );
  });

  await t.step("an unchanged update writes nothing", async () => {
    const before = api.requestLog.list().length;
    await update([a, c]);
    assert.deepEqual(api.requestLog.list().slice(before).filter((e) => e.method !== "GET"), []);
  });

  await t.step("port removed from the Service: its port and pool go", async () => {
    await kube.core.replaceNamespacedService({
      name: "web",
      namespace: "default",
      body: {
        ...(await readService(kube, "web")),
        spec: { ...svc.spec, ports: svc.spec?.ports?.filter((p) => p.port === 80) },
      },
    });
    await update([a, c]);
    assert.deepEqual(Object.keys(origins()), ["80"]);
    assert.equal(api.store.lbPools.size, 1);
  });

  await t.step("remove cleans the load balancer, ports, pools, origins and annotations", async () => {
    await impl.removeService({
      service: await readService(kube, "web"),
      ipCidr: "",
      loadBalancerName: LB_NAME,
    });
    assert.equal(api.store.loadBalancers.size, 0);
    assert.equal(api.store.lbPorts.size, 0);
    assert.equal(api.store.lbPools.size, 0);
    assert.equal(api.store.lbOrigins.size, 0);
    const annotations = (await readService(kube, "web")).metadata?.annotations ?? {};
    assert.equal(LOAD_BALANCER_ID_ANNOTATION in annotations, false);
    assert.equal(LOAD_BALANCER_METRO_ANNOTATION in annotations, false);
    assert.deepEqual(recorder.events, []);
  });

  await t.step("the token was exchanged once for the whole run", async () => {
    const exchanges = await registry.getSingleMetric("ccm_emlb_token_exchanges_total")?.get();
    assert.deepEqual(exchanges?.values.map((v) => [v.labels.result, v.value]), [["ok", 1]]);
  });
});
