import assert from "node:assert/strict";
import { type KubeClients, KubeConfig } from "../../provider/kube/mod.ts";
import { getLogger } from "@logtape/logtape";
import { Registry } from "prom-client";
import type { CloudInitContext } from "../../provider/mod.ts";
import { FakeInformerFactory, RecordingRecorder } from "../../provider/testing/mod.ts";
import { type ControlPlaneSetup, createControlPlaneController } from "./mod.ts";
import { FakeEipMetal } from "./testing.ts";

function setup(config: Partial<ControlPlaneSetup["config"]>) {
  const informers = new FakeInformerFactory();
  const ctx: CloudInitContext = {
    kube: { config: new KubeConfig(), core: {}, discovery: {} } as unknown as KubeClients,
    informers,
    recorder: new RecordingRecorder(),
    metrics: new Registry(),
    signal: new AbortController().signal,
    logger: getLogger(["ccm", "equinixmetal"]),
  };
  const controller = createControlPlaneController({
    config: {
      eipTag: "",
      loadBalancerId: "",
      apiServerPort: 0,
      eipHealthCheckUseHostIp: false,
      controlPlaneCheckPeriod: 10,
      controlPlaneFailureThreshold: 2,
      projectId: "p",
      apiKey: "k",
      lbaasUrl: "http://127.0.0.1:1/lbaas",
      tokenExchangeUrl: "http://127.0.0.1:1/iam",
      ...config,
    },
    metal: new FakeEipMetal(),
    ctx,
  });
  return { controller, informers };
}

Deno.test("createControlPlaneController is off unless METAL_EIP_TAG or METAL_LOAD_BALANCER_ID is set", () => {
  const off = setup({});
  assert.equal(off.controller, undefined);
  assert.deepEqual([...off.informers.requested], [], "no informer is started for nothing");
});

Deno.test("createControlPlaneController makes one loop and asks for its informers at once", () => {
  for (
    const config of [{ eipTag: "eip" }, { loadBalancerId: "lb-1" }, { eipTag: "eip", loadBalancerId: "lb-1" }]
  ) {
    const { controller, informers } = setup(config);
    assert.equal(controller?.name, "control-plane-endpoint");
    assert.deepEqual([...informers.requested].sort(), ["endpointSlices", "nodes", "services"]);
  }
});

Deno.test("createControlPlaneController takes the check period and failure threshold from the configuration", () => {
  const { controller } = setup({
    eipTag: "eip",
    controlPlaneCheckPeriod: 3,
    controlPlaneFailureThreshold: 4,
  });
  assert.deepEqual([controller?.timing.periodMs, controller?.timing.failureThreshold], [3000, 4]);
  const unset = setup({ eipTag: "eip", controlPlaneCheckPeriod: 0, controlPlaneFailureThreshold: 0 });
  assert.deepEqual([unset.controller?.timing.periodMs, unset.controller?.timing.failureThreshold], [
    10_000,
    2,
  ]);
});
