/**
 * EMLB against the in-process simulator (LBaaS + token exchange); Service annotation patches are recorded by a
 * stub core client. The real-apiserver flow is in test/emlb_test.ts.
 */
import assert from "node:assert/strict";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { PATHS } from "../../fake_api/app.ts";
import { createTestApi, TEST_API_KEY, TEST_PROJECT_ID, type TestApi } from "../../fake_api/testing.ts";
import type { KubeClients } from "../../provider/kube/mod.ts";
import { RecordingRecorder } from "../../provider/testing/mod.ts";
import {
  createEMLBImplementation,
  type EMLBOptions,
  LOAD_BALANCER_ID_ANNOTATION,
  LOAD_BALANCER_METRO_ANNOTATION,
} from "./emlb.ts";
import { LbaasClient } from "../emlb/lbaas_client.ts";
import { ExchangeTokenSource } from "../emlb/token_source.ts";

const BASE = "http://fake.test";
const LB_NAME = "usage=cloud-provider-equinix-metal-auto:service=abc=:cluster=uid-1";

function node(name: string, ip: string): V1Node {
  return { metadata: { name }, status: { addresses: [{ type: "ExternalIP", address: ip }] } };
}

function service(ports: Array<[number, number]>, annotations: Record<string, string> = {}): V1Service {
  return {
    metadata: { name: "web", namespace: "default", annotations },
    spec: {
      type: "LoadBalancer",
      ports: ports.map(([port, nodePort]) => ({ port, nodePort, protocol: "TCP" })),
    },
  };
}

interface Patch {
  name: string;
  namespace: string;
  body: { metadata: { annotations: Record<string, string | null> } };
}

async function setup(overrides: Partial<EMLBOptions> = {}) {
  const api = await createTestApi();
  const patches: Patch[] = [];
  const kube = {
    core: {
      patchNamespacedService: (p: Patch) => {
        patches.push(structuredClone(p));
        return Promise.resolve({});
      },
    },
  } as unknown as KubeClients;
  const fetch = (req: Request) => Promise.resolve(api.app.fetch(req));
  const recorder = new RecordingRecorder();
  const registry = new Registry();
  const impl = createEMLBImplementation({
    kube,
    metro: "da",
    projectId: TEST_PROJECT_ID,
    apiKey: TEST_API_KEY,
    lbaasUrl: `${BASE}${PATHS.lbaas}`,
    tokenExchangeUrl: `${BASE}${PATHS.tokenExchange}`,
    recorder,
    metrics: registry,
    fetch,
    ...overrides,
  });
  return { api, impl, patches, recorder, registry, fetch };
}

/** Origins by port number: `{80: [[id, target:port], ...]}` from the simulator's store. */
function originsByPort(api: TestApi): Record<number, Array<[string, string]>> {
  const out: Record<number, Array<[string, string]>> = {};
  for (const port of api.store.lbPorts.values()) {
    out[port.number] = port.poolIds.flatMap((pid) =>
      (api.store.lbPools.get(pid)?.originIds ?? []).map((oid): [string, string] => {
        const o = api.store.lbOrigins.get(oid)!;
        return [o.id, `${o.target}:${o.portNumber}`];
      })
    ).sort((a, b) => a[1].localeCompare(b[1]));
  }
  return out;
}

Deno.test("EMLB: create, update by diff, remove cleans everything; one token exchange", async () => {
  const { api, impl, patches, registry } = await setup();
  const nodes = [node("a", "147.0.0.1"), node("b", "147.0.0.2")];
  const svc = service([[80, 30080], [443, 30443]]);
  const status = await impl.addService({
    service: svc,
    ipCidr: "",
    peers: [],
    nodes,
    loadBalancerName: LB_NAME,
  });

  assert.equal(api.store.loadBalancers.size, 1);
  const lb = [...api.store.loadBalancers.values()][0]!;
  assert.equal(lb.name, LB_NAME);
  assert.equal(lb.locationId, "lctnloc--uxs0GLeAELHKV8GxO_AI");
  assert.deepEqual(status, { ingress: lb.ips.map((ip) => ({ ip })) });
  assert.deepEqual(patches, [{
    name: "web",
    namespace: "default",
    body: {
      metadata: {
        annotations: { [LOAD_BALANCER_ID_ANNOTATION]: lb.id, [LOAD_BALANCER_METRO_ANNOTATION]: "da" },
      },
    },
  }]);
  assert.deepEqual(svc.metadata?.annotations, {}, "the caller's Service object is not modified");
  const first = originsByPort(api);
  assert.deepEqual(Object.fromEntries(Object.entries(first).map(([k, v]) => [k, v.map((o) => o[1])])), {
    80: ["147.0.0.1:30080", "147.0.0.2:30080"],
    443: ["147.0.0.1:30443", "147.0.0.2:30443"],
  });
  const names = [...api.store.lbPools.values()].map((p) => p.name).sort();
  assert.deepEqual(names, [`${LB_NAME}-pool-443`, `${LB_NAME}-pool-80`]);

  // Node b replaced by c: a's origins keep their ids (no delete-and-recreate, docs/upstream.md#emlb).
  const annotated = service([[80, 30080], [443, 30443]], {
    [LOAD_BALANCER_ID_ANNOTATION]: lb.id,
    [LOAD_BALANCER_METRO_ANNOTATION]: "da",
  });
  await impl.updateService({
    service: annotated,
    ipCidr: "",
    peers: [],
    nodes: [node("a", "147.0.0.1"), node("c", "147.0.0.3")],
    loadBalancerName: LB_NAME,
  });
  const second = originsByPort(api);
  for (const port of [80, 443]) {
    assert.deepEqual(second[port]?.[0], first[port]?.[0], `port ${port}: node a's origin kept`);
    assert.match(second[port]?.[1]?.[1] ?? "", /^147\.0\.0\.3:/);
    assert.equal(second[port]?.length, 2);
  }
  assert.equal(patches.length, 1, "annotations already current: no patch");

  // Port 443 dropped, 8080 added.
  await impl.updateService({
    service: service([[80, 30080], [8080, 30808]], annotated.metadata?.annotations),
    ipCidr: "",
    peers: [],
    nodes: [node("a", "147.0.0.1")],
    loadBalancerName: LB_NAME,
  });
  assert.deepEqual(Object.keys(originsByPort(api)).sort(), ["80", "8080"]);
  assert.equal(api.store.lbPools.size, 2);
  // Updates use the real load balancer name (upstream passed "", docs/upstream.md#emlb).
  const added = [...api.store.lbPorts.values()].find((p) => p.number === 8080)!;
  assert.equal(added.name, `${LB_NAME}-port-8080`);
  assert.equal(api.store.lbPools.get(added.poolIds[0]!)?.name, `${LB_NAME}-pool-8080`);

  await impl.removeService({ service: annotated, ipCidr: "", loadBalancerName: LB_NAME });
  assert.equal(api.store.loadBalancers.size, 0);
  assert.equal(api.store.lbPorts.size, 0);
  assert.equal(api.store.lbPools.size, 0);
  assert.equal(api.store.lbOrigins.size, 0);
  assert.deepEqual(patches.at(-1)?.body, {
    metadata: {
      annotations: { [LOAD_BALANCER_ID_ANNOTATION]: null, [LOAD_BALANCER_METRO_ANNOTATION]: null },
    },
  });
  const exchanges = await registry.getSingleMetric("ccm_emlb_token_exchanges_total")?.get();
  assert.deepEqual(exchanges?.values.map((v) => [v.labels.result, v.value]), [["ok", 1]]);
});

Deno.test("EMLB adopts a load balancer whose id never reached the annotation (crash after create)", async () => {
  const { api, impl, fetch } = await setup();
  const client = new LbaasClient({
    baseUrl: `${BASE}${PATHS.lbaas}`,
    projectId: TEST_PROJECT_ID,
    tokens: new ExchangeTokenSource({ url: `${BASE}${PATHS.tokenExchange}`, apiKey: TEST_API_KEY, fetch }),
    fetch,
  });
  const id = await client.createLoadBalancer({
    name: LB_NAME,
    locationId: "lctnloc--uxs0GLeAELHKV8GxO_AI",
    providerId: "loadpvd-gOB_-byp5ebFo7A3LHv2B",
  });
  const orphanPool = await client.createPool(`${LB_NAME}-pool-80`);
  await impl.addService({
    service: service([[80, 30080]]),
    ipCidr: "",
    peers: [],
    nodes: [node("a", "147.0.0.1")],
    loadBalancerName: LB_NAME,
  });
  assert.deepEqual([...api.store.loadBalancers.keys()], [id]);
  assert.deepEqual([...api.store.lbPools.keys()], [orphanPool], "the unattached pool was reused");
  assert.deepEqual([...api.store.lbPorts.values()].map((p) => p.poolIds), [[orphanPool]]);
});

Deno.test("EMLB removeService without an id or name makes no API call", async () => {
  const { api, impl } = await setup();
  await impl.removeService({ service: service([[80, 30080]]), ipCidr: "" });
  assert.deepEqual(api.requestLog.list(), []);
});

Deno.test("EMLB: unknown metro fails with the valid values and a Warning Event", async () => {
  const { impl, recorder } = await setup({ metro: "am" });
  await assert.rejects(
    impl.addService({
      service: service([[80, 30080]]),
      ipCidr: "",
      peers: [],
      nodes: [],
      loadBalancerName: LB_NAME,
    }),
    /metro "am"; valid values are "da", "ny", "sv"/,
  );
  assert.deepEqual(recorder.reasons("default/web"), ["EMLBUnknownMetro"]);
});

Deno.test("EMLB: a wrong API key fails with a Warning Event and no secret in it", async () => {
  const { impl, recorder } = await setup({ apiKey: "wrong-key-xyz" });
  await assert.rejects(
    impl.addService({
      service: service([[80, 30080]]),
      ipCidr: "",
      peers: [],
      nodes: [],
      loadBalancerName: LB_NAME,
    }),
    /status 401/,
  );
  assert.deepEqual(recorder.reasons(), ["EMLBAuthenticationFailed"]);
  assert.doesNotMatch(recorder.events[0]?.message ?? "", /wrong-key-xyz/);
});

Deno.test("EMLB getLoadBalancer: no annotation or a deleted load balancer → does not exist", async () => {
  const { impl } = await setup();
  assert.deepEqual(await impl.getLoadBalancer?.(service([[80, 30080]])), { exists: false });
  assert.deepEqual(
    await impl.getLoadBalancer?.(
      service([[80, 30080]], { [LOAD_BALANCER_ID_ANNOTATION]: "loadbal-missing" }),
    ),
    { exists: false },
  );
});
