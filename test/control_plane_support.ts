/**
 * The scene of the control-plane integration tests: a real kube-apiserver; stand-in API servers on
 * 127.0.0.2–4 (HTTPS, certificates from a test CA published as ConfigMap `kube-system/kube-root-ca.crt`);
 * three control-plane Nodes whose devices live in the simulated Metal API served on loopback; and the
 * control-plane endpoint loop with the shared informers and the real HTTPS health check.
 *
 * @module
 */
import { Registry } from "prom-client";
import { serveFakeApi } from "../fake_api/serve.ts";
import { TEST_API_KEY, TEST_PROJECT_ID, testSeed } from "../fake_api/testing.ts";
import { HttpMetalClient } from "../metal/api/http_client.ts";
import {
  ControlPlaneEndpointController,
  type ControlPlaneEndpointOptions,
} from "../metal/control_plane/controller.ts";
import { kubeControlPlaneWriter } from "../metal/control_plane/kube_writer.ts";
import {
  type ApiServers,
  createTestCa,
  startApiServers,
  type TestCa,
} from "../metal/control_plane/testing.ts";
import { coreV1EventSink, KubeEventRecorder } from "../provider/event_recorder.ts";
import type { KubeClients } from "../provider/kube/client.ts";
import { SharedInformerFactory } from "../provider/kube/informer_factory.ts";
import { createNode, startTestCluster, type TestCluster } from "./harness/mod.ts";

/** Control-plane node addresses (loopback, one stand-in API server each) and their devices. */
export const NODES = [
  { name: "cp-1", address: "127.0.0.2", deviceId: "0c9a1e2a-0000-4000-8000-000000000001" },
  { name: "cp-2", address: "127.0.0.3", deviceId: "0c9a1e2a-0000-4000-8000-000000000002" },
  { name: "cp-3", address: "127.0.0.4", deviceId: "0c9a1e2a-0000-4000-8000-000000000003" },
] as const;

/** Tag of the control-plane EIP in the simulator. */
export const EIP_TAG = "cluster-api-provider-packet:cluster-id:it";

/** Options of {@linkcode startScene}. */
export interface SceneOptions {
  /** Node the EIP is assigned to at the start (by name); unassigned when absent. */
  assignedTo?: string;
  /** Health answers of the stand-in API servers before anything runs. */
  answers?: Record<string, number>;
}

/** Everything a control-plane integration test needs; disposing it stops it all. */
export interface Scene extends AsyncDisposable {
  cluster: TestCluster;
  kube: KubeClients;
  ca: TestCa;
  servers: ApiServers;
  /** Metal API client of the simulator. */
  metal: HttpMetalClient;
  /** Simulator URL (`METAL_*` variables in `env`). */
  fakeApi: { url: string; env: Record<string, string> };
  /** The EIP address. */
  eip: string;
  /** Node names the EIP is assigned to (through the Metal API). */
  holders(): Promise<string[]>;
  /** Starts a control-plane loop (a "leader"); stopped by the returned function or on dispose. */
  startController(
    options: Partial<ControlPlaneEndpointOptions>,
  ): Promise<{ stop(): Promise<void>; registry: Registry }>;
}

/** Builds the scene; see the module documentation. */
export async function startScene(options: SceneOptions = {}): Promise<Scene> {
  const cleanups: Array<() => Promise<void>> = [];
  const dispose = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const cluster = await startTestCluster();
    cleanups.push(() => cluster.stop());
    const kube = cluster.clients;
    const ca = await createTestCa();
    cleanups.push(() => ca.remove());
    const { cert, key } = await ca.issue("apiserver", []);
    const servers = await startApiServers({ addresses: NODES.map((n) => n.address), cert, key });
    cleanups.push(() => servers.close());
    for (const [address, answer] of Object.entries(options.answers ?? {})) servers.set(address, answer);
    await kube.core.createNamespacedConfigMap({
      namespace: "kube-system",
      body: { metadata: { name: "kube-root-ca.crt" }, data: { "ca.crt": ca.cert } },
    });

    // The harness runs kube-apiserver without its endpoint reconciler: publish the slice it would write (with
    // a documentation address: slices refuse loopback ones; nothing connects to it).
    await kube.discovery.createNamespacedEndpointSlice({
      namespace: "default",
      body: {
        metadata: { name: "kubernetes", labels: { "kubernetes.io/service-name": "kubernetes" } },
        addressType: "IPv4",
        endpoints: [{ addresses: ["192.0.2.10"], conditions: { ready: true } }],
        ports: [{ name: "https", port: Number(new URL(cluster.server).port), protocol: "TCP" }],
      },
    });

    const seed = testSeed({
      devices: NODES.map((n) => ({
        project_id: TEST_PROJECT_ID,
        id: n.deviceId,
        hostname: n.name,
        metro: "sv",
      })),
      reservations: [
        { project_id: TEST_PROJECT_ID, metro: "sv", tags: ["some-service"] },
        { project_id: TEST_PROJECT_ID, metro: "sv", tags: [EIP_TAG], assigned_to: options.assignedTo },
      ],
    });
    const fake = await serveFakeApi({ port: 0, seed });
    cleanups.push(() => fake.shutdown());
    const metal = new HttpMetalClient({
      apiKey: TEST_API_KEY,
      baseUrl: fake.env.METAL_BASE_URL,
      version: "test",
    });
    const eip = (await metal.listIpReservations(TEST_PROJECT_ID)).find((r) =>
      r.tags.includes(EIP_TAG)
    )!.address;

    for (const [i, n] of NODES.entries()) {
      await createNode(kube, n.name, {
        labels: {
          [i === 2 ? "node-role.kubernetes.io/master" : "node-role.kubernetes.io/control-plane"]: "",
        },
        providerID: `equinixmetal://${n.deviceId}`,
        addresses: [{ type: "Hostname", address: n.name }, { type: "ExternalIP", address: n.address }],
      });
      // Creation timestamps have one-second resolution: keep the nodes' age order unambiguous.
      if (i < NODES.length - 1) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await createNode(kube, "worker-1", { addresses: [{ type: "ExternalIP", address: "127.0.0.9" }] });

    const scene: Scene = {
      cluster,
      kube,
      ca,
      servers,
      metal,
      fakeApi: { url: fake.url, env: fake.env },
      eip,
      async holders() {
        const r = (await metal.listIpReservations(TEST_PROJECT_ID, { includeAssignments: true }))
          .find((x) => x.tags.includes(EIP_TAG))!;
        return r.assignments.map((a) =>
          NODES.find((n) => a.assignedTo?.endsWith(n.deviceId))?.name ?? a.assignedTo!
        );
      },
      async startController(overrides) {
        const stop = new AbortController();
        const informers = new SharedInformerFactory({ kube });
        const recorder = new KubeEventRecorder({
          sink: coreV1EventSink(kube.core),
          component: "cloud-controller-manager",
        });
        const registry = new Registry();
        const controller = new ControlPlaneEndpointController({
          eip: { tag: EIP_TAG, projectId: TEST_PROJECT_ID, useHostIp: true, metal },
          apiServerPort: servers.port,
          informers,
          kube: kubeControlPlaneWriter(kube),
          kubeConfig: kube.config,
          recorder,
          metrics: registry,
          timing: { periodMs: 1000, failureThreshold: 2, eventDelayMs: 100, probeTimeoutMs: 1000 },
          ...overrides,
        });
        const informing = informers.start(stop.signal);
        await informers.waitForSync(stop.signal);
        const running = controller.run({ signal: stop.signal, syncSignal: new AbortController().signal });
        let stopped = false;
        const halt = async () => {
          if (stopped) return;
          stopped = true;
          stop.abort();
          await running;
          await informing;
          await recorder.close();
        };
        cleanups.push(halt);
        return { stop: halt, registry };
      },
      [Symbol.asyncDispose]: dispose,
    };
    return scene;
  } catch (err) {
    await dispose();
    throw err;
  }
}
