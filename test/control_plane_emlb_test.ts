/**
 * The control-plane load balancer (`METAL_LOAD_BALANCER_ID`) against a real kube-apiserver and the simulated
 * LBaaS on loopback: its pool follows the control-plane nodes whose stand-in API servers answer.
 */
import assert from "node:assert/strict";
import { PATHS } from "../fake_api/app.ts";
import { TEST_API_KEY, TEST_PROJECT_ID } from "../fake_api/testing.ts";
import { createLbaasClient } from "../metal/emlb/client_factory.ts";
import { LBAAS_PROVIDER_ID, locationIdFor } from "../metal/emlb/locations.ts";
import { patchOptions } from "../provider/kube/patch.ts";
import { NODES, startScene } from "./control_plane_support.ts";
import { waitFor } from "./harness/mod.ts";

const PERIOD = 1000;
const [CP1, CP2, CP3] = NODES;

Deno.test("control-plane load balancer pool follows the healthy control-plane nodes", async (t) => {
  await using scene = await startScene();
  const client = createLbaasClient({
    projectId: TEST_PROJECT_ID,
    apiKey: TEST_API_KEY,
    lbaasUrl: `${scene.fakeApi.url}${PATHS.lbaas}`,
    tokenExchangeUrl: `${scene.fakeApi.url}${PATHS.tokenExchange}`,
  });
  const id = await client.createLoadBalancer({
    name: "control-plane",
    locationId: locationIdFor("sv"),
    providerId: LBAAS_PROVIDER_ID,
  });
  const port = scene.servers.port;
  const origins = async () => {
    const lb = await client.getLoadBalancer(id);
    const i = (lb.ports ?? []).findIndex((p) => p.number === port);
    const pools = i < 0 ? [] : lb.pools?.[i] ?? [];
    const all = await Promise.all(pools.map((p) => client.listOrigins(p.id)));
    return all.flat().map((o) => `${o.target}:${o.port_number}`).sort();
  };
  const pool = (...names: string[]) =>
    names.map((n) => `${NODES.find((x) => x.name === n)!.address}:${port}`).sort();
  const expectPool = (want: string[], timeoutMs = 2 * PERIOD + 1000) =>
    waitFor(async () => (await origins()).join(",") === want.join(","), {
      timeoutMs,
      message: `pool ${want.join(",")}`,
    });
  const cp = await scene.startController({ eip: undefined, loadBalancer: { id, client } });

  await t.step(
    "the pool is created with every healthy control-plane node at the API server port",
    async () => {
      await expectPool(pool(CP1.name, CP2.name, CP3.name), 10_000);
    },
  );

  await t.step(
    "a failing node leaves the pool within two check periods and comes back when it answers",
    async () => {
      scene.servers.set(CP2.address, 500);
      await expectPool(pool(CP1.name, CP3.name));
      scene.servers.set(CP2.address, 200);
      await expectPool(pool(CP1.name, CP2.name, CP3.name));
    },
  );

  await t.step("cordoned and deleted nodes leave the pool", async () => {
    await scene.kube.core.patchNode(
      { name: CP1.name, body: { spec: { unschedulable: true } } },
      patchOptions("merge"),
    );
    await expectPool(pool(CP2.name, CP3.name));
    await scene.kube.core.deleteNode({ name: CP3.name });
    await expectPool(pool(CP2.name));
  });

  await t.step("with no healthy node the pool is left as it is", async () => {
    for (const n of NODES) scene.servers.set(n.address, 503);
    await new Promise((resolve) => setTimeout(resolve, 3 * PERIOD));
    assert.deepEqual(await origins(), pool(CP2.name));
  });

  await t.step("no external Service is made for the load balancer", async () => {
    const services = await scene.kube.core.listNamespacedService({ namespace: "kube-system" });
    assert.deepEqual(services.items.map((s) => s.metadata?.name), []);
  });
  await cp.stop();
});
