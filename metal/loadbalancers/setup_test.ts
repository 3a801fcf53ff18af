import { deepEqual, equal, match, rejects, throws } from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { Registry } from "prom-client";
import { type CloudInitContext, ConfigError } from "../../provider/mod.ts";
import type { KubeClients } from "../../provider/kube/mod.ts";
import { apiError, FakeInformerFactory, RecordingRecorder } from "../../provider/testing/mod.ts";
import { TEST_API_KEY } from "../../fake_api/testing.ts";
import { createMetalCloud, loadMetalConfig, MetalCloud } from "../mod.ts";
import { ElasticIpLoadBalancer } from "./elastic_ip_load_balancer.ts";
import { EmlbLoadBalancer } from "./emlb_load_balancer.ts";
import { simulatedMetal } from "../testing.ts";
import { errorMessage } from "../../util/errors.ts";

const logger = getLogger(["ccm", "equinixmetal"]);

function context(readNamespace: () => Promise<unknown>): CloudInitContext {
  const kube = { core: { readNamespace } } as unknown as KubeClients;
  return {
    kube,
    informers: new FakeInformerFactory(),
    recorder: new RecordingRecorder(),
    metrics: new Registry(),
    signal: new AbortController().signal,
    logger,
  };
}

const uid = () => Promise.resolve({ metadata: { name: "kube-system", uid: "uid-kube-system" } });

async function initialized(loadBalancer: string, env: Record<string, string> = {}) {
  const metal = await simulatedMetal({ hostnames: ["node-a"] });
  const config = loadMetalConfig({
    env: {
      METAL_API_KEY: TEST_API_KEY,
      METAL_PROJECT_ID: metal.projectId,
      METAL_BASE_URL: "http://metal.test/metal/v1",
      METAL_LOAD_BALANCER: loadBalancer,
      METAL_METRO_NAME: "sv",
      ...env,
    },
  });
  const cloud = new MetalCloud({ config, logger, version: "v-test", fetch: (r) => metal.api.app.fetch(r) });
  return { metal, cloud };
}

for (
  const mode of [
    "kube-vip://",
    "empty://",
    "metallb:///metallb-system/config",
    "metallb:///metallb-system?crdConfiguration=true",
  ]
) {
  Deno.test(`initialize() with '${mode}' enables project BGP and starts the BGP node controller and janitor`, async () => {
    const { metal, cloud } = await initialized(mode);
    const { loadBalancer, controllers } = await cloud.initialize(context(uid));
    equal(metal.api.store.projects.get(metal.projectId)!.bgp?.status, "enabled");
    equal(metal.api.store.projects.get(metal.projectId)!.bgp?.useCase, "kubernetes-load-balancer");
    equal(loadBalancer instanceof ElasticIpLoadBalancer, true);
    deepEqual(controllers.map((c) => c.name), ["bgp-node-controller", "loadbalancer-janitor"]);
    equal(
      loadBalancer!.getLoadBalancerName("kubernetes", {
        metadata: { namespace: "default", name: "nginx" },
      }),
      "usage=cloud-provider-equinix-metal-auto:service=l7RnKS8k48oG3Qv3Pxx8FzEMj3X3E5c8JPOIzyLWWdY=:cluster=uid-kube-system",
    );
  });
}

Deno.test("load balancers disabled: no load balancer, no provider loops, and project BGP left alone (docs/upstream.md#bgp-at-every-start)", async () => {
  const { metal, cloud } = await initialized("");
  const { loadBalancer, controllers } = await cloud.initialize(context(uid));
  equal(loadBalancer, undefined);
  deepEqual(controllers, []);
  equal(metal.api.store.projects.get(metal.projectId)!.bgp, undefined);
  equal(metal.requests().some((r) => r.includes("bgp")), false);
});

Deno.test("EMLB: no BGP on the project or nodes; the janitor still runs", async () => {
  const { metal, cloud } = await initialized("emlb:///da");
  const { loadBalancer, controllers } = await cloud.initialize(context(uid));
  equal(loadBalancer instanceof EmlbLoadBalancer, true);
  equal(loadBalancer?.implementation.name, "emlb");
  deepEqual(controllers.map((c) => c.name), ["loadbalancer-janitor"]);
  equal(metal.api.store.projects.get(metal.projectId)!.bgp, undefined);
});

Deno.test("initialize() fails clearly when kube-system cannot be read", async () => {
  const { cloud } = await initialized("kube-vip://");
  await rejects(
    cloud.initialize(context(() => Promise.reject(apiError(403, "namespaces is forbidden")))),
    /Failed to read namespace .kube-system.*namespaces is forbidden; check that the CCM may 'get' namespaces/,
  );
});

Deno.test("initialize() fails clearly when BGP cannot be enabled in a BGP mode", async () => {
  const { cloud, metal } = await initialized("kube-vip://");
  metal.failNext({ method: "POST", path: `/projects/${metal.projectId}/bgp-configs`, status: 403 });
  await rejects(cloud.initialize(context(uid)), /Failed to enable BGP on project/);
});

Deno.test("unknown load balancer scheme is a config error, not a crash (docs/upstream.md#unknown-lb-scheme)", async () => {
  throws(
    () =>
      createMetalCloud({
        env: { METAL_API_KEY: "k", METAL_PROJECT_ID: "p", METAL_LOAD_BALANCER: "nginx://" },
        logger,
        version: "v",
      }),
    (err: unknown) =>
      err instanceof ConfigError && /unknown load balancer type 'nginx'/.test(errorMessage(err)),
  );
  // Every accepted setting builds a working implementation.
  for (
    const mode of [
      "kube-vip://",
      "empty://",
      "metallb:///",
      "metallb:///x?crdConfiguration=true",
      "emlb:///ny",
    ]
  ) {
    const { cloud } = await initialized(mode);
    const { loadBalancer } = await cloud.initialize(context(uid));
    match(typeof loadBalancer?.ensureLoadBalancer, /function/, mode);
  }
});

Deno.test("initialize() gives the BGP node controller a Kubernetes client of its own when the framework offers one", async () => {
  const { cloud } = await initialized("kube-vip://");
  const asked: string[] = [];
  await cloud.initialize({
    ...context(uid),
    kubeFor: (name) => {
      asked.push(name);
      return { core: {} } as unknown as KubeClients;
    },
  });
  deepEqual(asked, ["bgp-node-controller"]);
});

Deno.test("initialize(): the Metal load balancers keep the finalizer before ensuring (no orphan release claimed)", async () => {
  // The orphan sweep releases a reservation only on its second sighting, minutes later: too late for a crash
  // between reserving and the first status write (test/reliability/failover_test.ts).
  for (const mode of ["kube-vip://", "emlb:///da"]) {
    const { cloud } = await initialized(mode, { METAL_EIP_ORPHAN_SWEEP: "true" });
    const { loadBalancer } = await cloud.initialize(context(uid));
    equal(loadBalancer?.releasesOrphans ?? false, false, mode);
  }
});
