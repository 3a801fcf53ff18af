/**
 * A real Kubernetes control plane for integration tests: etcd and kube-apiserver on loopback ports, in a
 * temporary directory that is removed on {@linkcode TestCluster.stop}.
 *
 * @example
 * ```ts
 * Deno.test("nodes are listed", async () => {
 *   await using cluster = await startTestCluster();
 *   await createNode(cluster.clients, "n1", { ready: true });
 *   const nodes = await cluster.clients.core.listNode();
 * });
 * ```
 *
 * @module
 */
import { createKubeClients, type KubeClients, type KubeClientsOptions } from "../../provider/kube/client.ts";
import { isAlreadyExists } from "../../provider/kube/errors.ts";
import { createPki, issueClientCert, type Pki } from "./pki.ts";
import { freePort, ManagedProcess } from "./process.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { waitFor } from "./wait.ts";
import { errorMessage } from "../../util/errors.ts";

/** Kubernetes version the harness binaries are built for (test/install_test_servers.sh). */
export const KUBE_VERSION = "v1.36.3";

/** Options of {@linkcode startTestCluster}. */
export interface TestClusterOptions {
  /** Extra kube-apiserver flags, appended (later flags win). */
  apiserverArgs?: string[];
  /** Give up starting after this long (default 60 s). */
  startTimeoutMs?: number;
  /** Keep the temporary directory after stop (also when env `CCM_TEST_KEEP_DIR=1`). */
  keepDir?: boolean;
  /** Record every request in an audit log, read with {@linkcode TestCluster.auditEvents}. */
  audit?: boolean;
  /** Binary paths; default from `KUBE_APISERVER_BIN`/`ETCD_BIN`, else the install script's cache. */
  bins?: { apiserver?: string; etcd?: string };
}

/** One API server audit event (the fields tests look at). */
export interface AuditEvent {
  verb: string;
  requestURI: string;
  userAgent?: string;
  user: { username: string; groups?: string[] };
  responseStatus?: { code?: number };
  objectRef?: {
    resource?: string;
    namespace?: string;
    name?: string;
    subresource?: string;
    apiGroup?: string;
  };
  stage: string;
  /** When the API server received the request (RFC 3339, microseconds). */
  requestReceivedTimestamp?: string;
}

/** How long each startup phase took, in milliseconds. */
export interface StartupTimings {
  etcdMs: number;
  apiserverMs: number;
  totalMs: number;
}

/** A running etcd + kube-apiserver pair. */
export interface TestCluster extends AsyncDisposable {
  /** Temporary directory holding certificates, kubeconfigs, data and logs. */
  readonly dir: string;
  /** API server URL, `https://127.0.0.1:<port>`. */
  readonly server: string;
  /** Kubeconfig of the admin user (group `system:masters`). */
  readonly kubeconfigPath: string;
  /** Admin clients (no client-side rate limit). */
  readonly clients: KubeClients;
  readonly pki: Pki;
  readonly timings: StartupTimings;
  /**
   * Stops kube-apiserver (SIGTERM, then SIGKILL after `graceMs`, default 1 s: over HTTP/1.1 it keeps open
   * watches until killed) and starts it again on the same port and etcd; resolves once it is ready.
   */
  restartApiserver(options?: { graceMs?: number }): Promise<void>;
  /**
   * Compacts etcd up to its current revision, so reads and watches from any older resourceVersion fail with
   * 410 Gone (what happens in a real cluster after a long disconnect).
   */
  compactEtcd(): Promise<void>;
  /** Writes a kubeconfig for a certificate user (for RBAC tests; no permissions unless you bind some). */
  userKubeconfig(options: { user: string; groups?: string[] }): Promise<string>;
  /**
   * Creates ServiceAccount `namespace/name` if missing and writes a kubeconfig with a token for it
   * (user `system:serviceaccount:<namespace>:<name>`).
   */
  serviceAccountKubeconfig(
    options: { namespace: string; name: string; expirationSeconds?: number },
  ): Promise<string>;
  /** Audit events so far (`ResponseComplete` stage only); throws unless started with `audit: true`. */
  auditEvents(): Promise<AuditEvent[]>;
  /** Clients for another kubeconfig of this cluster; closed by {@linkcode stop}. */
  clientsFor(kubeconfigPath: string, options?: Omit<KubeClientsOptions, "kubeconfig">): KubeClients;
  /** Stops everything and removes the directory (unless kept). Safe to call twice. */
  stop(): Promise<void>;
}

function binary(envName: string, name: string, given?: string): string {
  const fromEnv = given ?? Deno.env.get(envName);
  const path = fromEnv || `${Deno.env.get("HOME")}/.cache/ccm-test-bin/${KUBE_VERSION}/${name}`;
  try {
    const info = Deno.statSync(path);
    if (!info.isFile) throw new Error("not a file");
  } catch {
    throw new Error(
      `${name} binary not found at "${path}"${
        fromEnv ? ` (from ${envName})` : ""
      }: run test/install_test_servers.sh, or set ${envName}`,
    );
  }
  return path;
}

/** Compacts etcd at `etcdUrl` (v3 JSON gateway) up to its current revision. */
async function compactEtcd(etcdUrl: string): Promise<void> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${etcdUrl}${path}`, { method: "POST", body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`etcd ${path} failed with HTTP ${res.status}: ${text}`);
    return JSON.parse(text);
  };
  const range = await post("/v3/kv/range", { key: btoa("/"), limit: 1 });
  await post("/v3/kv/compaction", { revision: range.header.revision, physical: true });
}

/** Removes cluster directories left by test processes that died without cleaning up. */
async function removeStaleDirs(parent: string): Promise<void> {
  for await (const entry of Deno.readDir(parent)) {
    if (!entry.isDirectory || !entry.name.startsWith("ccm-test-cluster-")) continue;
    const dir = `${parent}/${entry.name}`;
    const owner = await Deno.readTextFile(`${dir}/owner.pid`).catch(() => undefined);
    if (owner === undefined || owner === String(Deno.pid)) continue;
    const alive = await Deno.stat(`/proc/${owner.trim()}`).then(() => true, () => false);
    if (!alive) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function waitUntilReady(
  process: ManagedProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  let exited = false;
  process.exited.then(() => exited = true);
  try {
    await waitFor(async () => exited ? Promise.reject(new Error("process exited")) : await probe(), {
      timeoutMs,
      intervalMs: 25,
      message: `${process.name} to become ready`,
    });
  } catch (err) {
    const status = process.hasExited ? `exited (${(await process.exited).code})` : "still running";
    throw new Error(
      `${process.name} did not become ready (${status}): ${
        errorMessage(err)
      }\n--- ${process.logPath} ---\n${await process
        .logTail(30)}`,
      { cause: err },
    );
  }
}

async function startEtcd(
  dir: string,
  bin: string,
  timeoutMs: number,
): Promise<{ etcd: ManagedProcess; url: string }> {
  const [clientPort, peerPort] = [freePort(), freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const etcd = await ManagedProcess.start({
    name: "etcd",
    bin,
    logPath: `${dir}/etcd.log`,
    args: [
      `--data-dir=${dir}/etcd-data`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ],
  });
  try {
    await waitUntilReady(etcd, async () => {
      const res = await fetch(`${url}/health`).catch(() => undefined);
      const body = await res?.text();
      return res?.ok === true && body !== undefined && body.includes('"true"');
    }, timeoutMs);
  } catch (err) {
    await etcd.stop(5000);
    throw err;
  }
  return { etcd, url };
}

function apiserverArgs(
  o: { pki: Pki; etcdUrl: string; port: number; dir: string; extra: string[] },
): string[] {
  return [
    `--etcd-servers=${o.etcdUrl}`,
    `--secure-port=${o.port}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--cert-dir=${o.dir}/apiserver-certs`,
    `--tls-cert-file=${o.pki.serverCert}`,
    `--tls-private-key-file=${o.pki.serverKey}`,
    `--client-ca-file=${o.pki.caCert}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${o.pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${o.pki.serviceAccountKey}`,
    "--service-cluster-ip-range=10.96.0.0/16",
    "--authorization-mode=RBAC",
    // Startup speed: no API priority and fairness bootstrap objects, no profiling endpoints.
    "--enable-priority-and-fairness=false",
    "--profiling=false",
    "--endpoint-reconciler-type=none",
    "--v=1",
    ...o.extra,
  ];
}

async function startApiserver(
  o: {
    bin: string;
    pki: Pki;
    etcdUrl: string;
    port: number;
    dir: string;
    extra: string[];
    timeoutMs: number;
  },
): Promise<ManagedProcess> {
  const apiserver = await ManagedProcess.start({
    name: "kube-apiserver",
    bin: o.bin,
    logPath: `${o.dir}/kube-apiserver.log`,
    args: apiserverArgs(o),
  });
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(o.pki.caCert)] });
  try {
    await waitUntilReady(apiserver, async () => {
      const res = await fetch(`https://127.0.0.1:${o.port}/readyz`, { client }).catch(() => undefined);
      const body = await res?.text();
      return res?.status === 200 && body === "ok";
    }, o.timeoutMs);
  } catch (err) {
    await apiserver.stop(5000);
    throw err;
  } finally {
    client.close();
  }
  return apiserver;
}

async function auditArgs(dir: string): Promise<string[]> {
  const policy = { apiVersion: "audit.k8s.io/v1", kind: "Policy", rules: [{ level: "Metadata" }] };
  await Deno.writeTextFile(`${dir}/audit-policy.json`, JSON.stringify(policy));
  return [
    `--audit-policy-file=${dir}/audit-policy.json`,
    `--audit-log-path=${dir}/audit.log`,
    "--audit-log-mode=blocking",
    "--audit-log-format=json",
    "--audit-log-maxsize=0",
  ];
}

/**
 * Starts etcd and kube-apiserver (binaries from `ETCD_BIN`/`KUBE_APISERVER_BIN`, else
 * `~/.cache/ccm-test-bin/<version>/`), waits until the API server is ready and `kube-system` exists, and
 * returns the cluster. Always stop it: `await using cluster = await startTestCluster()`.
 */
export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const apiserverBin = binary("KUBE_APISERVER_BIN", "kube-apiserver", options.bins?.apiserver);
  const etcdBin = binary("ETCD_BIN", "etcd", options.bins?.etcd);
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const keepDir = options.keepDir ?? Deno.env.get("CCM_TEST_KEEP_DIR") === "1";
  const started = performance.now();
  const dir = await Deno.makeTempDir({ prefix: "ccm-test-cluster-" });
  await Deno.writeTextFile(`${dir}/owner.pid`, String(Deno.pid));
  await removeStaleDirs(dir.slice(0, dir.lastIndexOf("/"))).catch(() => {});
  const cleanup: Array<() => Promise<void>> = [];
  const runCleanup = async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
    if (!keepDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const [pki, { etcd, url: etcdUrl }] = await Promise.all([
      Deno.mkdir(`${dir}/pki`).then(() => createPki(`${dir}/pki`)),
      startEtcd(dir, etcdBin, timeoutMs),
    ]);
    cleanup.push(() => etcd.stop(5000));
    const etcdMs = performance.now() - started;

    const extra = [...(options.audit ? await auditArgs(dir) : []), ...(options.apiserverArgs ?? [])];
    let port = 0;
    let apiserver: ManagedProcess | undefined;
    for (let attempt = 1; !apiserver; attempt++) {
      port = freePort();
      try {
        apiserver = await startApiserver({ bin: apiserverBin, pki, etcdUrl, port, dir, extra, timeoutMs });
      } catch (err) {
        // Another process may take the port between our probe and the bind; try a new one.
        if (attempt >= 3 || !/address already in use/.test(errorMessage(err))) throw err;
      }
    }
    let current = apiserver;
    cleanup.push(() => current.stop(2000));
    const server = `https://127.0.0.1:${port}`;
    const apiserverMs = performance.now() - started - etcdMs;

    const kubeconfigPath = await writeKubeconfig({
      path: `${dir}/admin.kubeconfig`,
      server,
      caPath: pki.caCert,
      user: "admin",
      credentials: { certPath: pki.adminCert, keyPath: pki.adminKey },
    });
    const extraClients: KubeClients[] = [];
    cleanup.push(async () => {
      await Promise.all(extraClients.splice(0).map((c) => c.close()));
    });
    const clientsFor = (path: string, opts: Omit<KubeClientsOptions, "kubeconfig"> = {}) => {
      const c = createKubeClients({
        qps: Infinity,
        burst: 1,
        userAgent: "ccm-test-harness",
        ...opts,
        kubeconfig: path,
      });
      extraClients.push(c);
      return c;
    };
    const clients = clientsFor(kubeconfigPath);
    await waitFor(() => clients.core.readNamespace({ name: "kube-system" }), {
      timeoutMs,
      message: 'namespace "kube-system"',
    });

    let userSerial = 0;
    const cluster: TestCluster = {
      dir,
      server,
      kubeconfigPath,
      clients,
      pki,
      timings: { etcdMs, apiserverMs, totalMs: performance.now() - started },
      async restartApiserver({ graceMs = 1000 } = {}) {
        await current.stop(graceMs);
        current = await startApiserver({ bin: apiserverBin, pki, etcdUrl, port, dir, extra, timeoutMs });
      },
      compactEtcd: () => compactEtcd(etcdUrl),
      async userKubeconfig({ user, groups }) {
        const fileName = `user-${++userSerial}`;
        const { cert, key } = await issueClientCert(pki, { user, groups, fileName });
        return await writeKubeconfig({
          path: `${dir}/${fileName}.kubeconfig`,
          server,
          caPath: pki.caCert,
          user,
          credentials: { certPath: cert, keyPath: key },
        });
      },
      async serviceAccountKubeconfig({ namespace, name, expirationSeconds = 3600 }) {
        try {
          await clients.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
        }
        const tokenRequest = await clients.core.createNamespacedServiceAccountToken({
          namespace,
          name,
          body: { spec: { audiences: [], expirationSeconds } },
        });
        return await writeKubeconfig({
          path: `${dir}/sa-${namespace}-${name}.kubeconfig`,
          server,
          caPath: pki.caCert,
          user: `system:serviceaccount:${namespace}:${name}`,
          credentials: { token: tokenRequest.status?.token ?? "" },
        });
      },
      async auditEvents() {
        if (!options.audit) throw new Error("Audit log is off; start the cluster with { audit: true }");
        const text = await Deno.readTextFile(`${dir}/audit.log`).catch(() => "");
        return text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as AuditEvent)
          .filter((e) => e.stage === "ResponseComplete");
      },
      clientsFor,
      stop: runCleanup,
      [Symbol.asyncDispose]: runCleanup,
    };
    return cluster;
  } catch (err) {
    await runCleanup();
    throw err;
  }
}
