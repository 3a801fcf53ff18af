/**
 * The whole system on one machine, for `make demo` and the end-to-end tests: etcd + kube-apiserver (the test
 * harness), `ccm fake-api` with a seeded project of three control-plane devices and a tagged control-plane
 * Elastic IP, and `ccm run` pointed at both in kube-vip mode — plus kwok (test/harness/kwok.ts) as the kubelets
 * started with `--cloud-provider=external`: it registers tainted Nodes, reports them Ready, heartbeats them
 * and renews their Leases — and a LoadBalancer Service.
 *
 * Child processes get their own log files in {@linkcode LocalSystem.dir}; {@linkcode LocalSystem.stop} ends
 * every process and removes every temporary file, and is safe to call more than once.
 *
 * @module
 */
import type { V1EndpointSlice, V1Node, V1Service } from "@kubernetes/client-node";
import { startTestCluster, type TestCluster } from "./harness/cluster.ts";
import { kubeletNode as kwokKubeletNode, type Kwok, type KwokOptions, startKwok } from "./harness/kwok.ts";
import { freePort, ManagedProcess } from "./harness/process.ts";
import { makeTestDir } from "./harness/test_dir.ts";
import { waitFor } from "./harness/wait.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Project of the seeded simulator. */
export const DEMO_PROJECT_ID = "6f1d2c3b-0000-4000-8000-00000000d3e0";
/** `METAL_EIP_TAG`: the tag of the control-plane Elastic IP. */
export const DEMO_EIP_TAG = "demo-control-plane-eip";
/** Device (and Node) names. */
export const DEMO_HOSTNAMES = ["demo-control-plane-1", "demo-control-plane-2", "demo-control-plane-3"];
/** Metro of the devices and Elastic IPs. */
export const DEMO_METRO = "sv";
/** The LoadBalancer Service the demo creates. */
export const DEMO_SERVICE = { namespace: "default", name: "demo-web" };

/** The simulator console of a fake-api at `fakeApiUrl`, told the demo Service's name (for its `service=` tag). */
export function consoleUrl(fakeApiUrl: string): string {
  return `${fakeApiUrl}/console/?services=${DEMO_SERVICE.namespace}/${DEMO_SERVICE.name}`;
}
/** Taint a kubelet with `--cloud-provider=external` sets until the CCM initializes the node. */
export const UNINITIALIZED_TAINT = "node.cloudprovider.kubernetes.io/uninitialized";

/**
 * Starts `deno run --allow-all <entry> <args>` with `env` on top of this process's environment minus every
 * `METAL_*` variable (a shell that sourced the simulator's exports must not change what the demo runs).
 */
async function startDenoProcess(
  o: { name: string; entry: string; args: string[]; env?: Record<string, string>; logPath: string },
): Promise<ManagedProcess> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(Deno.env.toObject())) {
    if (!key.startsWith("METAL_") && key !== "PACKNGO_DEBUG") env[key] = value;
  }
  return await ManagedProcess.start({
    name: o.name,
    bin: Deno.execPath(),
    args: ["run", "--allow-all", o.entry, ...o.args],
    env: { ...env, ...o.env, NO_COLOR: "1" },
    clearEnv: true,
    cwd: ROOT,
    logPath: o.logPath,
  });
}

/** The simulator's seed: one project, one API key, three active devices, one tagged unassigned Elastic IP. */
export function demoSeed(apiKey: string): unknown {
  return {
    projects: [{ id: DEMO_PROJECT_ID, name: "ccm-demo" }],
    api_keys: [{ token: apiKey, project_ids: [DEMO_PROJECT_ID] }],
    devices: DEMO_HOSTNAMES.map((hostname) => ({
      project_id: DEMO_PROJECT_ID,
      hostname,
      plan: "c3.small.x86",
      metro: DEMO_METRO,
      tags: ["control-plane"],
    })),
    reservations: [{ project_id: DEMO_PROJECT_ID, metro: DEMO_METRO, tags: [DEMO_EIP_TAG] }],
  };
}

/**
 * A Node as the kubelet registers it with `--cloud-provider=external` (kwok then reports it Ready): tainted,
 * NotReady, hostname only, a control-plane node.
 */
export function kubeletNode(hostname: string): V1Node {
  return kwokKubeletNode(hostname, { labels: { "node-role.kubernetes.io/control-plane": "" } });
}

/**
 * Address the API server advertises in `default/kubernetes` (the API refuses loopback there). TEST-NET-1:
 * documentation only, never routed, and nothing in the demo connects to it.
 */
export const DEMO_APISERVER_ADVERTISED = "192.0.2.10";

/** EndpointSlice `default/kubernetes` of the API server: {@linkcode DEMO_APISERVER_ADVERTISED}:`port`. */
export function apiServerEndpointSlice(port: number): V1EndpointSlice {
  return {
    metadata: {
      name: "kubernetes",
      namespace: "default",
      labels: { "kubernetes.io/service-name": "kubernetes" },
    },
    addressType: "IPv4",
    endpoints: [{ addresses: [DEMO_APISERVER_ADVERTISED], conditions: { ready: true } }],
    ports: [{ name: "https", port, protocol: "TCP" }],
  };
}

/** The demo's LoadBalancer Service. */
export function demoService(): V1Service {
  return {
    metadata: { name: DEMO_SERVICE.name, namespace: DEMO_SERVICE.namespace },
    spec: {
      type: "LoadBalancer",
      selector: { app: DEMO_SERVICE.name },
      ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
    },
  };
}

/** Options of {@linkcode startLocalSystem}. */
export interface LocalSystemOptions {
  /** Called as each piece is up, with a short description. */
  onStep?: (message: string) => void;
  /**
   * The kubeconfig `ccm run` uses; default the harness admin. The RBAC test passes one for the ServiceAccount
   * bound to deploy/template/rbac.yaml.
   */
  ccmKubeconfig?: (cluster: TestCluster) => Promise<string>;
  /** Extra `ccm run` flags (after the demo's). */
  ccmArgs?: string[];
  /** How kwok plays the kubelets; default as kubelets do (status every 5 minutes, 40 s Leases). */
  kwok?: KwokOptions;
}

/** The running system. */
export interface LocalSystem extends AsyncDisposable {
  /** Temporary directory with the seed, cloud config and the logs of fake-api and ccm. */
  readonly dir: string;
  readonly cluster: TestCluster;
  /** Simulator root URL, `http://127.0.0.1:<port>`. */
  readonly fakeApiUrl: string;
  /** `METAL_*` exports that point a `ccm run` (or any Metal client) at the simulator. */
  readonly metalEnv: Record<string, string>;
  readonly fakeApi: ManagedProcess;
  readonly ccm: ManagedProcess;
  /** kwok, the kubelets of the Nodes. */
  readonly kwok: Kwok;
  /** Port of ccm's HTTPS health and metrics server. */
  readonly ccmPort: number;
  /** Registers the three Nodes (as kubelets would; kwok plays them from then on). */
  registerNodes(): Promise<void>;
  /** Creates the LoadBalancer Service. */
  createService(): Promise<void>;
  /** Stops ccm, the simulator, kwok, kube-apiserver and etcd; removes every temporary file. Safe to call twice. */
  stop(): Promise<void>;
}

function randomToken(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/** Reads the `export NAME=value` lines fake-api prints once it listens. */
async function waitForExports(process: ManagedProcess): Promise<Record<string, string>> {
  return await waitFor(async () => {
    if (process.hasExited) {
      throw new Error(`fake-api exited (${(await process.exited).code}):\n${await process.logTail(20)}`);
    }
    const text = await Deno.readTextFile(process.logPath).catch(() => "");
    const env: Record<string, string> = {};
    for (const m of text.matchAll(/^export (METAL_[A-Z_]+)=(\S+)$/gm)) env[m[1] as string] = m[2] as string;
    return env.METAL_BASE_URL ? env : undefined;
  }, { timeoutMs: 60_000, intervalMs: 50, message: "fake-api to print its URLs" });
}

/**
 * Starts etcd + kube-apiserver, the seeded simulator and `ccm run`. Nodes and the Service are created by the
 * caller ({@linkcode LocalSystem.registerNodes}, {@linkcode LocalSystem.createService}) so it can time them.
 */
export async function startLocalSystem(options: LocalSystemOptions = {}): Promise<LocalSystem> {
  const step = options.onStep ?? (() => {});
  // The demo promises to leave no file behind, whatever CCM_TEST_KEEP_DIR says.
  const testDir = await makeTestDir({ prefix: "ccm-demo-", keepDir: false });
  const dir = testDir.path;
  const stop = () => testDir.stop();
  try {
    const cluster = await startTestCluster();
    testDir.defer(() => cluster.stop());
    step(`kube-apiserver ${cluster.server} and etcd started (files in ${cluster.dir})`);
    const kwok = await startKwok(cluster, options.kwok);
    testDir.defer(() => kwok.stop());
    step(`kwok started as the nodes' kubelets (log ${kwok.process.logPath})`);

    // What kube-apiserver's endpoint reconciler publishes (the harness turns it off): the control-plane EIP
    // mirrors this slice onto its external Service.
    await cluster.clients.discovery.createNamespacedEndpointSlice({
      namespace: "default",
      body: apiServerEndpointSlice(Number(new URL(cluster.server).port)),
    });

    const apiKey = randomToken();
    await Deno.writeTextFile(`${dir}/seed.json`, JSON.stringify(demoSeed(apiKey), null, 2));
    const fakeApi = await startDenoProcess({
      name: "fake-api",
      entry: "main.ts",
      args: [
        "fake-api",
        "--listen",
        "127.0.0.1:0",
        "--seed",
        `${dir}/seed.json`,
        "-v",
        "2",
        "--logging-format",
        "text",
      ],
      logPath: `${dir}/fake-api.log`,
    });
    testDir.defer(() => fakeApi.stop());
    const urls = await waitForExports(fakeApi);
    const fakeApiUrl = new URL(urls.METAL_BASE_URL as string).origin;
    const metalEnv = { METAL_API_KEY: apiKey, METAL_PROJECT_ID: DEMO_PROJECT_ID, ...urls };
    await Deno.writeTextFile(
      `${dir}/metal.env`,
      Object.entries(metalEnv).map(([k, v]) => `export ${k}=${v}\n`).join(""),
      { mode: 0o600 },
    );
    step(
      `simulated Equinix Metal API ${fakeApiUrl} started: project ${DEMO_PROJECT_ID}, 3 devices (files in ${dir})`,
    );
    step(`simulator console: ${consoleUrl(fakeApiUrl)}`);

    // The cloud config file, as the Secret metal-cloud-config would hold it.
    await Deno.writeTextFile(
      `${dir}/cloud-sa.json`,
      JSON.stringify({
        apiKey,
        projectID: DEMO_PROJECT_ID,
        "base-url": urls.METAL_BASE_URL,
        loadbalancer: "kube-vip://",
        metro: DEMO_METRO,
        eipTag: DEMO_EIP_TAG,
      }),
      { mode: 0o600 },
    );
    const kubeconfig = options.ccmKubeconfig ? await options.ccmKubeconfig(cluster) : cluster.kubeconfigPath;
    const ccmPort = freePort();
    const ccm = await startDenoProcess({
      name: "ccm",
      // main.ts on a simulated network: health checks of node addresses reach the local kube-apiserver.
      entry: "test/demo_ccm.ts",
      args: [
        "run",
        "--cloud-provider=equinixmetal",
        `--cloud-config=${dir}/cloud-sa.json`,
        `--kubeconfig=${kubeconfig}`,
        "--leader-elect=true",
        "--bind-address=127.0.0.1",
        `--secure-port=${ccmPort}`,
        "--node-monitor-period=2s",
        "--node-status-update-frequency=10s",
        "-v=2",
        "--logging-format=text",
        ...options.ccmArgs ?? [],
      ],
      env: {
        METAL_LBAAS_URL: urls.METAL_LBAAS_URL ?? "",
        METAL_TOKEN_EXCHANGE_URL: urls.METAL_TOKEN_EXCHANGE_URL ?? "",
        DEMO_APISERVER: new URL(cluster.server).host,
        DEMO_APISERVER_CA: cluster.pki.caCert,
      },
      logPath: `${dir}/ccm.log`,
    });
    testDir.defer(() => ccm.stop());
    step(`ccm run started (kube-vip mode, control-plane EIP tag "${DEMO_EIP_TAG}")`);

    const system: LocalSystem = {
      dir,
      cluster,
      fakeApiUrl,
      metalEnv,
      fakeApi,
      ccm,
      kwok,
      ccmPort,
      async registerNodes() {
        for (const hostname of DEMO_HOSTNAMES) {
          await kwok.registerNode(hostname, { labels: { "node-role.kubernetes.io/control-plane": "" } });
        }
      },
      async createService() {
        await cluster.clients.core.createNamespacedService({
          namespace: DEMO_SERVICE.namespace,
          body: demoService(),
        });
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
    return system;
  } catch (err) {
    await stop();
    throw err;
  }
}
