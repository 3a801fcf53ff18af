/**
 * Test bed of the load balancer integration tests (`test/loadbalancer_*_test.ts`): a real kube-apiserver (test
 * harness), a real `ccm fake-api` process seeded with one project and two devices, Nodes for those devices, and
 * `ccm run` as a process in a given `METAL_LOAD_BALANCER` mode — which can be SIGKILLed and started again.
 * Plus readers of the simulator's state over its HTTP API (reservations, BGP, load balancers, request log).
 *
 * @module
 */
import { deepEqual } from "node:assert/strict";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { isNotFound } from "../provider/kube/errors.ts";
import { createNode, startTestCluster, type TestCluster, waitFor } from "./harness/mod.ts";
import { freePort, type ManagedProcess } from "./harness/process.ts";
import { startFakeApi, startMainProcess } from "./harness/main_process.ts";
import { makeTestDir } from "./harness/test_dir.ts";

/** Project of the seeded simulator. */
export const PROJECT_ID = "6f1d2c3b-0000-4000-8000-00000000b1b0";
/** Devices (and Nodes). */
export const HOSTNAMES = ["lb-node-a", "lb-node-b"];
/** Metro of devices and elastic IPs. */
export const METRO = "sv";

/** A reservation as the simulator lists it. */
export interface Reservation {
  id: string;
  address: string;
  cidr: number;
  tags: string[];
  details?: string;
  type: string;
  metro?: { code?: string } | null;
}

/** Options of {@linkcode startLbSystem}. */
export interface LbSystemOptions {
  /** `METAL_LOAD_BALANCER`. */
  loadBalancer: string;
  /** Extra environment of `ccm run`. */
  env?: Record<string, string>;
  /** Node labels by hostname. */
  labels?: Record<string, Record<string, string>>;
  /** Called once the cluster is up and before ccm starts (CRDs, ConfigMaps...). */
  prepare?: (cluster: TestCluster) => Promise<void>;
  /** A running cluster to use (and leave running) instead of starting one. */
  cluster?: TestCluster;
  /** Hostnames of the seeded devices (and Nodes); default {@linkcode HOSTNAMES}. */
  hostnames?: string[];
  /** The project's API key; default a random one. */
  apiKey?: string;
  /** Extra `ccm fake-api` arguments. */
  fakeApiArgs?: string[];
  /** Extra `ccm run` arguments (later flags win). */
  ccmArgs?: string[];
}

/** The running test bed. */
export interface LbSystem extends AsyncDisposable {
  readonly dir: string;
  readonly cluster: TestCluster;
  /** Simulator root, `http://127.0.0.1:<port>`. */
  readonly fakeApiUrl: string;
  readonly apiKey: string;
  /** Device ids by hostname. */
  readonly deviceIds: Record<string, string>;
  /** The running `ccm run`, if any. */
  ccm: ManagedProcess | undefined;
  /** Starts `ccm run` (again). */
  startCcm(): Promise<ManagedProcess>;
  /**
   * Starts another `ccm run` process (not tracked as {@linkcode LbSystem.ccm}; stopped with the system), logging
   * to `<dir>/<name>.log`; `args` come after the defaults (later flags win), `env` over the default environment.
   */
  startCcmProcess(
    options: { name: string; args?: string[]; env?: Record<string, string>; permissions?: string[] },
  ): Promise<ManagedProcess>;
  /** SIGKILLs `ccm run`. */
  killCcm(): Promise<void>;
  /** GET on the Metal API with the project's key. */
  metal<T = unknown>(path: string): Promise<T>;
  /** Any request on the simulator root (admin API, LBaaS). */
  raw(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  reservations(): Promise<Reservation[]>;
  /** Reservations tagged for Service `namespace/name` (by the service tag only). */
  reservationsOf(namespace: string, name: string): Promise<Reservation[]>;
  /** Waits for the Service's ingress IPs (non-empty). */
  ingress(namespace: string, name: string, timeoutMs?: number): Promise<string[]>;
  service(namespace: string, name: string): Promise<V1Service | undefined>;
  node(name: string): Promise<V1Node>;
  /** Deletes the Service and waits until it is gone (finalizer removed). */
  deleteService(namespace: string, name: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Standard base64 of sha256(`ns/name`), the Service part of reservation tags. */
export async function serviceHash(namespace: string, name: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${namespace}/${name}`));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** Starts the whole test bed (without ccm; call {@linkcode LbSystem.startCcm}). */
export async function startLbSystem(options: LbSystemOptions): Promise<LbSystem> {
  const testDir = await makeTestDir({ prefix: "ccm-lb-test-" });
  const dir = testDir.path;
  const stop = () => testDir.stop();
  try {
    const cluster = options.cluster ?? await startTestCluster();
    if (!options.cluster) testDir.defer(() => cluster.stop());
    const apiKey = options.apiKey ?? `lb-test-${crypto.randomUUID()}`;
    const fakeApi = await startFakeApi({
      dir,
      seed: {
        projects: [{ id: PROJECT_ID, name: "lb-test" }],
        api_keys: [{ token: apiKey, project_ids: [PROJECT_ID] }],
        devices: (options.hostnames ?? HOSTNAMES).map((hostname) => ({
          project_id: PROJECT_ID,
          hostname,
          metro: METRO,
        })),
      },
      args: options.fakeApiArgs,
    });
    testDir.defer(() => fakeApi.process.kill("SIGTERM"));
    const { baseUrl, exports } = fakeApi;
    const fakeApiUrl = fakeApi.url;

    const raw = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(`${fakeApiUrl}${path}`, {
        method,
        headers: { "Content-Type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const metal = async <T>(path: string): Promise<T> => {
      const res = await raw("GET", `/metal/v1${path}`, undefined, { "X-Auth-Token": apiKey });
      if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
      return await res.json() as T;
    };
    const devices = await metal<{
      devices: {
        id: string;
        hostname: string;
        ip_addresses: { address: string; public: boolean; address_family: number }[];
      }[];
    }>(`/projects/${PROJECT_ID}/devices`);
    const deviceIds = Object.fromEntries(devices.devices.map((d) => [d.hostname, d.id]));

    // Nodes as the cloud node controller leaves them: providerID and the device's IPv4 addresses.
    for (const device of devices.devices) {
      const v4 = device.ip_addresses.filter((a) => a.address_family === 4);
      await createNode(cluster.clients, device.hostname, {
        labels: { "kubernetes.io/hostname": device.hostname, ...options.labels?.[device.hostname] },
        providerID: `equinixmetal://${device.id}`,
        addresses: [
          { type: "Hostname", address: device.hostname },
          ...v4.filter((a) => !a.public).map((a) => ({ type: "InternalIP", address: a.address })),
          ...v4.filter((a) => a.public).map((a) => ({ type: "ExternalIP", address: a.address })),
        ],
      });
    }
    await options.prepare?.(cluster);

    const ccmEnv: Record<string, string> = {
      METAL_API_KEY: apiKey,
      METAL_PROJECT_ID: PROJECT_ID,
      METAL_BASE_URL: baseUrl,
      METAL_LBAAS_URL: exports.METAL_LBAAS_URL ?? "",
      METAL_TOKEN_EXCHANGE_URL: exports.METAL_TOKEN_EXCHANGE_URL ?? "",
      METAL_LOAD_BALANCER: options.loadBalancer,
      METAL_METRO_NAME: METRO,
      ...options.env,
    };
    let starts = 0;
    const processes: ManagedProcess[] = [];
    const system: LbSystem = {
      dir,
      cluster,
      fakeApiUrl,
      apiKey,
      deviceIds,
      ccm: undefined,
      async startCcm() {
        if (system.ccm && !system.ccm.hasExited) throw new Error("ccm is already running");
        system.ccm = await system.startCcmProcess({ name: `ccm-${++starts}` });
        return system.ccm;
      },
      async startCcmProcess({ name, args = [], env = {}, permissions }) {
        const ccm = await startMainProcess({
          name,
          args: [
            "run",
            "--cloud-provider=equinixmetal",
            `--kubeconfig=${cluster.kubeconfigPath}`,
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            `--secure-port=${freePort()}`,
            "--node-monitor-period=2s",
            "-v=2",
            "--logging-format=text",
            ...options.ccmArgs ?? [],
            ...args,
          ],
          env: { ...ccmEnv, ...env },
          logPath: `${dir}/${name}.log`,
          permissions,
        });
        processes.push(ccm);
        return ccm;
      },
      async killCcm() {
        await system.ccm?.kill("SIGKILL");
      },
      metal,
      raw,
      async reservations() {
        return (await metal<{ ip_addresses: Reservation[] }>(`/projects/${PROJECT_ID}/ips?per_page=1000`))
          .ip_addresses.filter((r) => r.type === "public_ipv4");
      },
      async reservationsOf(namespace, name) {
        const tag = `service=${await serviceHash(namespace, name)}`;
        return (await system.reservations()).filter((r) => r.tags.includes(tag));
      },
      async ingress(namespace, name, timeoutMs = 30_000) {
        return await waitFor(async () => {
          await assertCcmRunning(system);
          const svc = await system.service(namespace, name);
          const ips = (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? "").filter((ip) => ip);
          return ips.length > 0 ? ips : undefined;
        }, { timeoutMs, intervalMs: 100, message: `ingress of Service ${namespace}/${name}` });
      },
      async service(namespace, name) {
        try {
          return await cluster.clients.core.readNamespacedService({ namespace, name });
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      },
      async node(name) {
        return await cluster.clients.core.readNode({ name });
      },
      async deleteService(namespace, name, timeoutMs = 30_000) {
        await cluster.clients.core.deleteNamespacedService({ namespace, name });
        await waitFor(async () => {
          await assertCcmRunning(system);
          return (await system.service(namespace, name)) === undefined;
        }, { timeoutMs, intervalMs: 100, message: `Service ${namespace}/${name} to be deleted` });
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
    testDir.defer(async () => {
      await Promise.all(processes.map((p) => p.kill("SIGTERM")));
    });
    return system;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Fails fast (with its log) when ccm died, instead of waiting for a timeout. */
async function assertCcmRunning(system: LbSystem): Promise<void> {
  if (system.ccm?.hasExited) {
    throw new Error(`ccm run exited (${(await system.ccm.exited).code}):\n${await system.ccm.logTail()}`);
  }
}

/** Creates a LoadBalancer Service with one TCP port. */
export async function createLbService(
  cluster: TestCluster,
  namespace: string,
  name: string,
  fields: Partial<V1Service["spec"]> & { annotations?: Record<string, string> } = {},
): Promise<V1Service> {
  const { annotations, ...spec } = fields;
  return await cluster.clients.core.createNamespacedService({
    namespace,
    body: {
      metadata: { name, namespace, annotations },
      spec: {
        type: "LoadBalancer",
        selector: { app: name },
        ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
        ...spec,
      },
    },
  });
}

/** A seeded random number generator (mulberry32), so "random" kill points are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Asserts that nobody writes the Services (status, annotations) for `ms`: their resourceVersions stay. */
export async function assertServicesUntouched(
  system: LbSystem,
  services: readonly { namespace: string; name: string }[],
  ms = 3000,
): Promise<void> {
  const versions = async () =>
    (await Promise.all(services.map((s) => system.service(s.namespace, s.name))))
      .map((s) => s?.metadata?.resourceVersion);
  const before = await versions();
  await new Promise((r) => setTimeout(r, ms));
  deepEqual(await versions(), before);
}
