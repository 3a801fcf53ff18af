/**
 * The real MetalLB controller for integration tests, built by `test/install_metallb.sh` (v0.15.2, with
 * MetalLB's own v0.16.2 CRDs next to it), run as a process OUT OF CLUSTER against the test kube-apiserver.
 *
 * - Only the controller, never the speaker: the speaker would dial the BGP peers (169.254.255.x), and nothing
 *   may leave loopback. The controller only talks to the API server (loopback).
 * - Webhooks off by default (`--webhook-mode=disabled`). The controller still parses and validates the whole
 *   configuration (pools, peers, advertisements) itself on every change, and logs and refuses a configuration
 *   it rejects. With `webhooks` the controller also serves its validating admission webhooks (fixed port 9443,
 *   every interface; a self-signed certificate for 127.0.0.1 in the controller's own temporary `TMPDIR`, no
 *   cert rotation),
 *   and MetalLB's own ValidatingWebhookConfiguration from its module (`webhooks.yaml` next to the binary) is
 *   applied with `url: https://127.0.0.1:9443/<path>` instead of its in-cluster Service, so the API server
 *   asks MetalLB about every IPAddressPool, BGPPeer and BGPAdvertisement ccm writes (`failurePolicy: Fail`).
 *   Only one such controller can run on the machine at a time (the port).
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
import { parseManifests, type TestCluster, waitFor } from "./harness/mod.ts";
import { serverSideApply } from "../provider/kube/patch.ts";

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

/** MetalLB's own ValidatingWebhookConfiguration (YAML): env `METALLB_WEBHOOKS`, else the install script's cache. */
export async function metalLbWebhooks(): Promise<string> {
  const path = mustExist(
    Deno.env.get("METALLB_WEBHOOKS") ?? `${cacheDir()}/webhooks.yaml`,
    "MetalLB webhook manifests",
  );
  return await Deno.readTextFile(path);
}

/** The port MetalLB's webhook server listens on (hard-coded in MetalLB). */
export const METALLB_WEBHOOK_PORT = 9443;

/** MetalLB's webhooks for the tests: how the controller validates (`METALLB_BGP_TYPE`). */
export interface MetalLbWebhookOptions {
  /** `native` (default; the speaker's own BGP), `frr` (the Helm chart's default) or `frr-k8s`. */
  bgpType?: "native" | "frr" | "frr-k8s";
}

async function openssl(args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

/**
 * Writes a serving certificate for 127.0.0.1 (`tls.crt`, `tls.key`) signed by a throw-away CA into `dir`;
 * returns the CA's PEM (TLS clients reject a self-signed CA certificate used as a server certificate).
 */
async function loopbackCert(dir: string): Promise<string> {
  const ca = await Deno.makeTempDir({ prefix: "ccm-metallb-ca-" });
  try {
    await openssl([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=ccm-test-metallb-ca",
      "-keyout",
      `${ca}/ca.key`,
      "-out",
      `${ca}/ca.crt`,
    ]);
    await openssl([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=127.0.0.1",
      "-keyout",
      `${dir}/tls.key`,
      "-out",
      `${ca}/tls.csr`,
    ]);
    await Deno.writeTextFile(
      `${ca}/ext.cnf`,
      "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" +
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    );
    await openssl([
      "x509",
      "-req",
      "-in",
      `${ca}/tls.csr`,
      "-CA",
      `${ca}/ca.crt`,
      "-CAkey",
      `${ca}/ca.key`,
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      `${ca}/ext.cnf`,
      "-out",
      `${dir}/tls.crt`,
    ]);
    return await Deno.readTextFile(`${ca}/ca.crt`);
  } finally {
    await Deno.remove(ca, { recursive: true }).catch(() => {});
  }
}

/** Applies MetalLB's ValidatingWebhookConfiguration pointed at `https://127.0.0.1:<port>` with `caPem`. */
async function applyWebhookConfiguration(cluster: TestCluster, caPem: string): Promise<void> {
  const caBundle = btoa(caPem);
  for (const obj of parseManifests(await metalLbWebhooks(), "MetalLB webhooks")) {
    if (obj.kind !== "ValidatingWebhookConfiguration") continue;
    const webhooks = (obj as { webhooks?: { clientConfig?: { service?: { path?: string } } }[] }).webhooks ??
      [];
    for (const w of webhooks) {
      const path = w.clientConfig?.service?.path ?? "/";
      w.clientConfig = { url: `https://127.0.0.1:${METALLB_WEBHOOK_PORT}${path}`, caBundle } as never;
    }
    obj.metadata = { name: "metallb-webhook-configuration" };
    await serverSideApply(cluster.clients.objects, obj, { fieldManager: "ccm-test-harness" });
  }
}

/** Waits until something accepts TLS connections on 127.0.0.1:`port`. */
async function waitTlsListening(port: number, caPem: string, timeoutMs: number): Promise<void> {
  await waitFor(async () => {
    try {
      const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [caPem] });
      await conn.handshake();
      conn.close();
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs, message: `MetalLB's webhook server on 127.0.0.1:${port}` });
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

/**
 * Starts the MetalLB controller against `cluster`, watching `namespace`, logging to `logPath`; with `webhooks`,
 * also its admission webhooks, registered with the API server before this resolves.
 */
export async function startMetalLbController(
  options: {
    cluster: TestCluster;
    namespace: string;
    logPath: string;
    args?: string[];
    webhooks?: MetalLbWebhookOptions;
  },
): Promise<MetalLbController> {
  const port = freePort();
  const webhookArgs: string[] = ["--webhook-mode=disabled"];
  const env: Record<string, string> = {};
  let caPem = "";
  let certDir = "";
  if (options.webhooks) {
    // The webhook server reads its certificate from controller-runtime's default directory,
    // `$TMPDIR/k8s-webhook-server/serving-certs` (`--cert-dir` is only the rotator's), so the controller gets
    // its own TMPDIR.
    certDir = await Deno.makeTempDir({ prefix: "ccm-metallb-tmp-" });
    const servingCerts = `${certDir}/k8s-webhook-server/serving-certs`;
    await Deno.mkdir(servingCerts, { recursive: true });
    caPem = await loopbackCert(servingCerts);
    webhookArgs.splice(
      0,
      1,
      "--webhook-mode=enabled",
      "--disable-cert-rotation",
      `--cert-dir=${servingCerts}`,
    );
    env.METALLB_BGP_TYPE = options.webhooks.bgpType ?? "native";
    env.TMPDIR = certDir;
  }
  const controller = await startController(metalLbControllerBin(), options.logPath, port, [
    `--kubeconfig=${options.cluster.kubeconfigPath}`,
    `--namespace=${options.namespace}`,
    ...webhookArgs,
    `--port=${port}`,
    "--log-level=debug",
    ...options.args ?? [],
  ], env);
  if (!options.webhooks) return controller;
  try {
    await waitTlsListening(METALLB_WEBHOOK_PORT, caPem, 60_000);
    await applyWebhookConfiguration(options.cluster, caPem);
  } catch (err) {
    const tail = await controller.process.logTail(30);
    await controller.stop();
    throw new Error(`${err instanceof Error ? err.message : err}; MetalLB's log:\n${tail}`, { cause: err });
  }
  return {
    ...controller,
    stop: async () => {
      await controller.stop();
      await Deno.remove(certDir, { recursive: true }).catch(() => {});
    },
  };
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
  env: Record<string, string> = {},
): Promise<MetalLbController> {
  const process = await ManagedProcess.start({
    name: "metallb-controller",
    bin,
    args,
    env: { ...minimalEnv(), ...env },
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
