/** The control-plane pool sync against the in-process simulator's LBaaS. */
import assert from "node:assert/strict";
import { PATHS } from "../../fake_api/app.ts";
import { createTestApi, TEST_API_KEY, TEST_PROJECT_ID, type TestApi } from "../../fake_api/testing.ts";
import { LBAAS_PROVIDER_ID, locationIdFor } from "../emlb/locations.ts";
import { createLbaasClient } from "../emlb/client_factory.ts";
import { syncControlPlanePool } from "./load_balancer_pool.ts";

async function setup() {
  const api = await createTestApi();
  const client = createLbaasClient({
    projectId: TEST_PROJECT_ID,
    apiKey: TEST_API_KEY,
    lbaasUrl: `http://fake.test${PATHS.lbaas}`,
    tokenExchangeUrl: `http://fake.test${PATHS.tokenExchange}`,
    fetch: (req) => Promise.resolve(api.app.fetch(req)),
  });
  const id = await client.createLoadBalancer({
    name: "cp-lb",
    locationId: locationIdFor("da"),
    providerId: LBAAS_PROVIDER_ID,
  });
  return { api, client, id };
}

/** `port -> ["id target:port", ...]` from the simulator's store. */
function origins(api: TestApi): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  for (const port of api.store.lbPorts.values()) {
    out[port.number] = port.poolIds.flatMap((pid) =>
      (api.store.lbPools.get(pid)?.originIds ?? []).map((oid) => {
        const o = api.store.lbOrigins.get(oid)!;
        return `${o.id} ${o.target}:${o.portNumber}`;
      })
    );
  }
  return out;
}

const targets = (api: TestApi, port: number) => (origins(api)[port] ?? []).map((o) => o.split(" ")[1]).sort();

Deno.test("syncControlPlanePool creates the port and pool, then follows the healthy set by diff", async () => {
  const { api, client, id } = await setup();
  const first = await syncControlPlanePool({
    client,
    loadBalancerId: id,
    port: 6443,
    addresses: ["10.0.0.1", "10.0.0.2"],
  });
  assert.equal(first.createdPort, true);
  assert.deepEqual(targets(api, 6443), ["10.0.0.1:6443", "10.0.0.2:6443"]);
  const kept = origins(api)[6443]!.find((o) => o.endsWith("10.0.0.1:6443"));

  const second = await syncControlPlanePool({
    client,
    loadBalancerId: id,
    port: 6443,
    addresses: ["10.0.0.1", "10.0.0.3"],
  });
  assert.deepEqual([second.createdPort, second.added, second.removed], [false, ["10.0.0.3"], ["10.0.0.2"]]);
  assert.deepEqual(targets(api, 6443), ["10.0.0.1:6443", "10.0.0.3:6443"]);
  assert.ok(origins(api)[6443]!.includes(kept!), "an unchanged origin keeps its id");

  const third = await syncControlPlanePool({
    client,
    loadBalancerId: id,
    port: 6443,
    addresses: ["10.0.0.3", "10.0.0.1"],
  });
  assert.deepEqual([third.added, third.removed], [[], []], "nothing to do is nothing done");
  assert.equal(api.store.lbPorts.size, 1);
});

Deno.test("syncControlPlanePool leaves other ports alone and reuses a pool left behind by a crash", async () => {
  const { api, client, id } = await setup();
  const other = await client.createPool("something-else");
  await client.createPort(id, { name: "https", number: 443, poolIds: [other] });
  await client.createOrigin({ poolId: other, name: "o", target: "192.0.2.1", portNumber: 30443 });
  const orphan = await client.createPool("cp-lb-pool-6443");

  await syncControlPlanePool({ client, loadBalancerId: id, port: 6443, addresses: ["10.0.0.1"] });
  assert.deepEqual(targets(api, 443), ["192.0.2.1:30443"]);
  assert.deepEqual(targets(api, 6443), ["10.0.0.1:6443"]);
  const port = [...api.store.lbPorts.values()].find((p) => p.number === 6443)!;
  assert.deepEqual(port.poolIds, [orphan]);
  assert.equal(api.store.lbPools.size, 2);
});
