import assert from "node:assert/strict";
import type { V1Node } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { FakeClock, settle } from "../util/clock.ts";
import { runControllers, type RunControllersOptions, runProviderController } from "./controller_manager.ts";
import { parseRunFlags } from "./flags.ts";
import { HealthChecks } from "./health.ts";
import type { KubeClients } from "./kube/client.ts";
import { captureLogs } from "../util/log.ts";
import { FakeInformerFactory } from "./testing/fake_informer.ts";
import { FakeProvider } from "./testing/fake_provider.ts";
import { FakeNodeWriter, FakeServiceWriter } from "./testing/fake_writers.ts";
import { RecordingRecorder } from "./testing/recording_recorder.ts";

const UNINIT = { key: "node.cloudprovider.kubernetes.io/uninitialized", value: "true", effect: "NoSchedule" };

function setup(args: string[], provider = new FakeProvider()) {
  const informers = new FakeInformerFactory();
  const registry = new Registry();
  const health = {
    healthz: new HealthChecks("healthz"),
    livez: new HealthChecks("livez"),
    readyz: new HealthChecks("readyz"),
  };
  const stop = new AbortController();
  const options: RunControllersOptions = {
    provider,
    options: parseRunFlags(args),
    kube: {} as KubeClients,
    informers,
    recorder: new RecordingRecorder(),
    registry,
    health,
    signal: stop.signal,
    writers: {
      nodes: new FakeNodeWriter(informers.nodeInformer),
      services: new FakeServiceWriter(informers.serviceInformer),
    },
  };
  return { provider, informers, registry, health, stop, options };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

Deno.test("runControllers() initializes the provider, starts the selected controllers with health pings and metrics", async () => {
  await using logs = await captureLogs();
  const t = setup(["--controllers=*"]);
  t.provider.setInstance("n1", { region: "da" });
  t.informers.nodeInformer.upsert({ metadata: { name: "n1" }, spec: { taints: [UNINIT] } } as V1Node);
  const done = runControllers(t.options);
  await until(() => t.informers.nodeInformer.get("n1")?.spec?.providerID === "fake://n1", "node init");
  assert.equal(t.provider.callsOf("initialize").length, 1);
  assert.ok(t.provider.initContext?.metrics === t.registry);
  assert.deepEqual(t.health.healthz.names(), [
    "ping",
    "cloud-node-controller",
    "cloud-node-lifecycle-controller",
    "service-lb-controller",
  ]);
  const metrics = await t.registry.metrics();
  assert.match(
    metrics,
    /running_managed_controllers\{name="service-lb-controller",manager="cloud-controller-manager"\} 1/,
  );
  assert.match(logs.text(), /Skipped node-route-controller: the cloud provider does not support routes/);
  t.stop.abort();
  await done;
  assert.deepEqual(t.health.healthz.names(), ["ping"], "pings removed after stop");
  assert.match(
    await t.registry.metrics(),
    /running_managed_controllers\{name="service-lb-controller",manager="cloud-controller-manager"\} 0/,
  );
});

Deno.test("runControllers() starts only what --controllers selects, and skips the service controller without LB support", async () => {
  await using logs = await captureLogs();
  const t = setup(["--controllers=service,cloud-node-lifecycle"], new FakeProvider({ loadBalancer: false }));
  const done = runControllers(t.options);
  await until(() => t.health.healthz.names().length > 1, "controllers started");
  assert.deepEqual(t.health.healthz.names(), ["ping", "cloud-node-lifecycle-controller"]);
  assert.match(
    logs.text(),
    /Failed to start service controller: the cloud provider does not support external load balancers/,
  );
  assert.doesNotMatch(logs.text(), /node-route-controller/);
  t.stop.abort();
  await done;
});

Deno.test("runControllers() fails when the provider cannot initialize", async () => {
  const t = setup([]);
  t.provider.fail("initialize", new Error("bad API key"));
  await assert.rejects(runControllers(t.options), /Cannot initialize cloud provider 'fake': bad API key/);
});

Deno.test("runControllers() adds provider health checks to /readyz", async () => {
  const provider = new FakeProvider({
    healthChecks: [{ name: "fake-api", check: () => Promise.reject(new Error("down")) }],
  });
  const t = setup(["--controllers=-route"], provider);
  const done = runControllers(t.options);
  await until(() => t.health.readyz.names().includes("fake-api"), "readyz check");
  assert.equal((await t.health.readyz.run()).status, 500);
  t.stop.abort();
  await done;
  assert.deepEqual(t.health.readyz.names(), ["ping"]);
});

Deno.test("runControllers() lets in-flight reconciles finish on a graceful stop", async () => {
  const t = setup(["--controllers=cloud-node"]);
  t.provider.setInstance("n1", {});
  t.provider.state.latencyMs = 150;
  t.informers.nodeInformer.upsert({ metadata: { name: "n1" }, spec: { taints: [UNINIT] } } as V1Node);
  const done = runControllers(t.options);
  await until(() => t.provider.callsOf("instanceMetadata").length > 0, "sync started");
  t.stop.abort();
  await done;
  assert.equal(t.informers.nodeInformer.get("n1")?.spec?.providerID, "fake://n1", "in-flight init completed");
});

Deno.test("runControllers() abandons in-flight work on a hard stop", async () => {
  const t = setup(["--controllers=cloud-node"]);
  t.provider.setInstance("n1", {});
  t.provider.state.latencyMs = 300;
  t.informers.nodeInformer.upsert({ metadata: { name: "n1" }, spec: { taints: [UNINIT] } } as V1Node);
  const hard = new AbortController();
  const done = runControllers({ ...t.options, hardSignal: hard.signal, shutdownTimeoutMs: 50 });
  await until(() => t.provider.callsOf("instanceMetadata").length > 0, "sync started");
  const start = Date.now();
  hard.abort();
  await done;
  assert.ok(Date.now() - start < 250, "did not wait for the slow provider call");
  await new Promise((r) => setTimeout(r, 400)); // let the abandoned call settle before the test ends
});

Deno.test("runProviderController() restarts a failing loop with growing backoff until stopped", async () => {
  const clock = new FakeClock();
  const stop = new AbortController();
  const starts: number[] = [];
  const done = runProviderController(
    {
      name: "bgp",
      run: () => {
        starts.push(clock.now());
        return Promise.reject(new Error("boom"));
      },
    },
    { signal: stop.signal, syncSignal: new AbortController().signal },
    clock,
  );
  await settle();
  await clock.advance(1_000);
  await clock.advance(2_000);
  await clock.advance(4_000);
  assert.deepEqual(starts, [0, 1_000, 3_000, 7_000]);
  stop.abort();
  await done;
});

Deno.test("runControllers() gives each controller a Kubernetes client of its own (kubeFor), as upstream does", async () => {
  await using _logs = await captureLogs();
  const t = setup(["--controllers=*"]);
  const writes: string[] = [];
  const clientFor = (name: string) =>
    ({
      core: new Proxy({}, {
        get: (_target, method) => (request: { name: string }) => {
          writes.push(`${name} ${String(method)} ${request.name}`);
          return Promise.resolve({ metadata: { name: request.name, resourceVersion: "2" } });
        },
      }),
    }) as unknown as KubeClients;
  const asked: string[] = [];
  t.provider.setInstance("n1", { region: "da" });
  t.informers.nodeInformer.upsert({ metadata: { name: "n1" }, spec: { taints: [UNINIT] } } as V1Node);
  const done = runControllers({
    ...t.options,
    writers: undefined,
    kubeFor: (name) => {
      asked.push(name);
      return clientFor(name);
    },
  });
  await until(() => writes.some((w) => w.endsWith("patchNode n1")), "the node's initialization patch");
  t.stop.abort();
  await done;
  assert.deepEqual(asked, [
    "cloud-node-controller",
    "cloud-node-lifecycle-controller",
    "service-lb-controller",
  ]);
  assert.deepEqual(
    writes.filter((w) => w.endsWith(" n1")),
    ["cloud-node-controller patchNode n1"],
    "node initialization writes through the node controller's own client",
  );
});
