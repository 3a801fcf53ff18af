/**
 * The real MetalLB controller for integration tests, built by `test/install_metallb.sh` (v0.15.2, with
 * MetalLB's own v0.16.2 CRDs next to it), run as a process OUT OF CLUSTER against the test kube-apiserver.
 *
 * - Only the controller, never the speaker: the speaker would dial the BGP peers (169.254.255.x), and nothing
 *   may leave loopback. The controller only talks to the API server (loopback).
 * - Webhooks disabled (`--webhook-mode=disabled`): the admission and conversion webhooks are reached by the API
 *   server through an in-cluster Service, which an out-of-cluster process cannot back. The controller still
 *   parses and validates the whole configuration (pools, peers, advertisements) itself on every change, and
 *   logs and refuses a configuration it rejects — that is what the tests judge.
 * - `--port` is the controller's metrics listener; MetalLB binds it on every interface (it has no flag for
 *   the host), on a free port. It accepts connections but never dials anything.
 *
 * {@linkcode startMetalLbConfigMapController} runs the MetalLB v0.12.1 controller (built by
 * `test/install_metallb_v0_12.sh`) the same way for ccm's ConfigMap mode: it reads its configuration from one
 * ConfigMap (`--namespace`, `--config`) and has no webhooks.
 *
 * @module
 */
import { freePort, ManagedProcess, minimalEnv } from "./harness/process.ts";
import type { TestCluster } from "./harness/mod.ts";

/** The MetalLB controller version `test/install_metallb.sh` builds. */
export const METALLB_VERSION = "v0.15.2";
/** The version of MetalLB's CRD manifests it installs (see the script for why not the controller's). */
export const METALLB_CRDS_VERSION = "v0.16.2";

function cacheDir(): string {
  const base = Deno.env.get("CCM_TEST_BIN_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/ccm-test-bin`;
  return `${base}/metallb-${METALLB_VERSION}`;
}

function mustExist(path: string, what: string): string {
  try {
    if (Deno.statSync(path).isFile) return path;
  } catch {
    // reported below
  }
  throw new Error(
    `${what} not found at ${path}: run test/install_metallb.sh (make test and .ci/test.sh do), or set ` +
      `METALLB_CONTROLLER_BIN and METALLB_CRDS`,
  );
}

/** Path of the MetalLB controller binary: env `METALLB_CONTROLLER_BIN`, else the install script's cache. */
export function metalLbControllerBin(): string {
  return mustExist(
    Deno.env.get("METALLB_CONTROLLER_BIN") ?? `${cacheDir()}/controller`,
    `MetalLB ${METALLB_VERSION} controller`,
  );
}

/** MetalLB's own CRD manifests (YAML): env `METALLB_CRDS`, else the install script's cache. */
export async function metalLbCrds(): Promise<string> {
  const path = mustExist(Deno.env.get("METALLB_CRDS") ?? `${cacheDir()}/crds.yaml`, "MetalLB CRD manifests");
  return await Deno.readTextFile(path);
}

/** The MetalLB controller version `test/install_metallb_v0_12.sh` builds (ConfigMap configuration). */
export const METALLB_CONFIGMAP_VERSION = "v0.12.1";

/**
 * Path of the MetalLB v0.12.1 controller binary: env `METALLB_V0_12_CONTROLLER_BIN`, else the install script's
 * cache.
 */
export function metalLbConfigMapControllerBin(): string {
  const base = Deno.env.get("CCM_TEST_BIN_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/ccm-test-bin`;
  const path = Deno.env.get("METALLB_V0_12_CONTROLLER_BIN") ??
    `${base}/metallb-${METALLB_CONFIGMAP_VERSION}/controller`;
  try {
    if (Deno.statSync(path).isFile) return path;
  } catch {
    // reported below
  }
  throw new Error(
    `MetalLB ${METALLB_CONFIGMAP_VERSION} controller not found at ${path}: run test/install_metallb_v0_12.sh ` +
      "(make test and .ci/test.sh do), or set METALLB_V0_12_CONTROLLER_BIN",
  );
}

/** One line of MetalLB's JSON log. */
export type MetalLbLogLine = Record<string, unknown> & { level?: string };

/** A running MetalLB controller. */
export interface MetalLbController {
  process: ManagedProcess;
  /** Every JSON line of its log so far (non-JSON lines are returned as `{ raw }`). */
  log(): Promise<MetalLbLogLine[]>;
  /** Its `level=error` lines so far. */
  errors(): Promise<MetalLbLogLine[]>;
  /** Its Prometheus metrics (`/metrics` on 127.0.0.1) as text. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the MetalLB controller against `cluster`, watching `namespace`, logging to `logPath`. */
export function startMetalLbController(
  options: { cluster: TestCluster; namespace: string; logPath: string; args?: string[] },
): Promise<MetalLbController> {
  const port = freePort();
  return startController(metalLbControllerBin(), options.logPath, port, [
    `--kubeconfig=${options.cluster.kubeconfigPath}`,
    `--namespace=${options.namespace}`,
    "--webhook-mode=disabled",
    `--port=${port}`,
    "--log-level=debug",
    ...options.args ?? [],
  ]);
}

/**
 * Starts the MetalLB v0.12.1 controller against `cluster`, reading its configuration from ConfigMap
 * `namespace/configMap`, logging to `logPath`.
 */
export function startMetalLbConfigMapController(
  options: { cluster: TestCluster; namespace: string; configMap: string; logPath: string },
): Promise<MetalLbController> {
  const port = freePort();
  return startController(metalLbConfigMapControllerBin(), options.logPath, port, [
    `--kubeconfig=${options.cluster.kubeconfigPath}`,
    `--namespace=${options.namespace}`,
    `--config=${options.configMap}`,
    `--port=${port}`,
    "--log-level=debug",
  ]);
}

async function startController(
  bin: string,
  logPath: string,
  port: number,
  args: string[],
): Promise<MetalLbController> {
  const process = await ManagedProcess.start({
    name: "metallb-controller",
    bin,
    args,
    env: minimalEnv(),
    clearEnv: true,
    logPath,
  });
  const log = async (): Promise<MetalLbLogLine[]> => {
    const text = await Deno.readTextFile(logPath).catch(() => "");
    return text.split("\n").filter((l) => l.trim() !== "").map((l) => {
      try {
        return JSON.parse(l) as MetalLbLogLine;
      } catch {
        return { raw: l };
      }
    });
  };
  return {
    process,
    log,
    errors: async () => (await log()).filter((l) => l.level === "error"),
    metrics: async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      const text = await res.text();
      if (!res.ok) throw new Error(`MetalLB metrics: HTTP ${res.status}`);
      return text;
    },
    stop: () => process.stop(),
  };
}
