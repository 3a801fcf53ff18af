/**
 * Test bed of `instances_integration_test.ts`: a real kube-apiserver (test harness), a real `ccm fake-api`
 * process seeded with devices spread over facilities and plans, and `ccm run --cloud-provider=equinixmetal` as
 * a process pointed at it. Plus the simulator's Metal API, admin API and request log.
 *
 * @module
 */
import type { RequestLogEntry } from "../fake_api/request_log.ts";
import { startTestCluster, type TestCluster, waitFor } from "./harness/mod.ts";
import type { ManagedProcess } from "./harness/process.ts";
import { makeTestDir } from "./harness/test_dir.ts";
import { startMainProcess } from "./harness/main_process.ts";

/** Project of the seeded simulator. */
export const PROJECT_ID = "6f1d2c3b-0000-4000-8000-0000000005e5";

/** How `ccm run` introduces itself to the Metal API (`cloud-provider-equinix-metal/<version> ccm`). */
const CCM_USER_AGENT = "cloud-provider-equinix-metal/";

/** Facilities and plans the seeded devices cycle through (the simulator's catalogue). */
const FACILITIES = ["am6", "da11", "dc13", "ny5", "sg1", "sv15"];
const PLANS = ["c3.small.x86", "c3.medium.x86", "m3.small.x86", "m3.large.x86", "s3.xlarge.x86"];

/** A device as the Metal API returns it (the fields the tests read). */
export interface MetalDevice {
  id: string;
  hostname: string;
  state: string;
  plan: { slug: string };
  metro: { code: string };
  facility: { code: string };
  "ip_addresses": { address: string; public: boolean; "address_family": number; management?: boolean }[];
}

/** One entry of the simulator's request log. */
export type LoggedRequest = RequestLogEntry;

/** Options of {@linkcode startInstancesSystem}. */
export interface InstancesSystemOptions {
  /** Devices `node-00`… that get Nodes. */
  nodeCount: number;
  /** More devices (same spread over facilities and plans), for Nodes the test registers itself or none. */
  extraHostnames: string[];
  /** Extra environment of `ccm run`. */
  env?: Record<string, string>;
  /** Extra flags of `ccm run`. */
  args?: string[];
}

/** The running test bed. */
export interface InstancesSystem extends AsyncDisposable {
  readonly dir: string;
  readonly cluster: TestCluster;
  /** Seeded devices: the node devices in order, then the extra ones. */
  readonly devices: MetalDevice[];
  readonly ccm: ManagedProcess;
  /** A Metal API request with the project's key; rejects unless 2xx; resolves with the JSON body (if any). */
  metal<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** An admin API request (`/_fake/...`); rejects unless 2xx. */
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** Requests `ccm run` made (by user agent), logged after `since`. */
  requests(since?: number): Promise<LoggedRequest[]>;
  /** Sequence number of the last logged request (0 when none). */
  lastRequestSeq(): Promise<number>;
  /** Throws with the log tail when `ccm run` or the simulator has exited. */
  assertRunning(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the whole test bed and waits until `ccm run` has started its controllers. */
export async function startInstancesSystem(options: InstancesSystemOptions): Promise<InstancesSystem> {
  const testDir = await makeTestDir({ prefix: "ccm-instances-test-" });
  const dir = testDir.path;
  const stop = () => testDir.stop();
  try {
    const apiKey = `instances-test-${crypto.randomUUID()}`;
    const hostnames = [
      ...Array.from({ length: options.nodeCount }, (_, i) => `node-${String(i).padStart(2, "0")}`),
      ...options.extraHostnames,
    ];
    await Deno.writeTextFile(
      `${dir}/seed.json`,
      JSON.stringify({
        projects: [{ id: PROJECT_ID, name: "instances-test" }],
        api_keys: [{ token: apiKey, project_ids: [PROJECT_ID] }],
        devices: hostnames.map((hostname, i) => ({
          project_id: PROJECT_ID,
          hostname,
          facility: FACILITIES[i % FACILITIES.length],
          plan: PLANS[i % PLANS.length],
        })),
      }),
    );
    // The simulator starts while the cluster does.
    const fakeApi = await startMainProcess({
      name: "fake-api",
      args: ["fake-api", "--listen", "127.0.0.1:0", "--seed", `${dir}/seed.json`, "--logging-format", "text"],
      logPath: `${dir}/fake-api.log`,
    });
    testDir.defer(() => fakeApi.kill("SIGTERM"));
    const cluster = await startTestCluster();
    testDir.defer(() => cluster.stop());
    const baseUrl = await waitFor(async () => {
      if (fakeApi.hasExited) throw new Error(`fake-api exited:\n${await fakeApi.logTail()}`);
      const text = await Deno.readTextFile(fakeApi.logPath).catch(() => "");
      return /^export METAL_BASE_URL=(\S+)$/m.exec(text)?.[1];
    }, { timeoutMs: 60_000, message: "fake-api to print its URLs" });
    const origin = new URL(baseUrl).origin;

    const request = async <T>(
      method: string,
      url: string,
      body: unknown,
      headers: Record<string, string>,
    ) => {
      const res = await fetch(url, {
        method,
        headers: { "Content-Type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
      return (text === "" ? undefined : JSON.parse(text)) as T;
    };
    const metal = <T>(method: string, path: string, body?: unknown) =>
      request<T>(method, `${baseUrl}${path}`, body, { "X-Auth-Token": apiKey });
    const admin = <T>(method: string, path: string, body?: unknown) =>
      request<T>(method, `${origin}/_fake${path}`, body, {});

    const listed = await metal<{ devices: MetalDevice[] }>(
      "GET",
      `/projects/${PROJECT_ID}/devices?per_page=1000`,
    );
    const byHostname = new Map(listed.devices.map((d) => [d.hostname, d]));
    const devices = hostnames.map((h) => byHostname.get(h)!);
    await admin("DELETE", "/requests");

    const ccm = await startMainProcess({
      name: "ccm",
      args: [
        "run",
        "--cloud-provider=equinixmetal",
        `--kubeconfig=${cluster.kubeconfigPath}`,
        "--leader-elect=false",
        "--secure-port=0",
        "-v=2",
        "--logging-format=text",
        ...options.args ?? [],
      ],
      env: { METAL_API_KEY: apiKey, METAL_PROJECT_ID: PROJECT_ID, METAL_BASE_URL: baseUrl, ...options.env },
      logPath: `${dir}/ccm.log`,
    });
    testDir.defer(() => ccm.kill("SIGTERM"));

    const assertRunning = async () => {
      for (const process of [ccm, fakeApi]) {
        if (process.hasExited) {
          throw new Error(
            `${process.name} exited (${(await process.exited).code}):\n${await process.logTail()}`,
          );
        }
      }
    };
    await waitFor(async () => {
      await assertRunning();
      const log = await Deno.readTextFile(ccm.logPath).catch(() => "");
      return log.includes("Starting controller") && log.includes("cloud-node-lifecycle-controller");
    }, { timeoutMs: 60_000, intervalMs: 100, message: "ccm run to start its controllers" });

    const requests = async (since = 0) =>
      (await admin<{ requests: LoggedRequest[] }>("GET", `/requests?since=${since}`)).requests
        .filter((r) => r.userAgent.startsWith(CCM_USER_AGENT));
    return {
      dir,
      cluster,
      devices,
      ccm,
      metal,
      admin,
      requests,
      async lastRequestSeq() {
        const all = await admin<{ requests: LoggedRequest[] }>("GET", "/requests");
        return all.requests.at(-1)?.seq ?? 0;
      },
      assertRunning,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
