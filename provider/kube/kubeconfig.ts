/**
 * Where the API server and credentials come from: `--kubeconfig`, `--master`, or the in-cluster service
 * account (client-go's `clientcmd.BuildConfigFromFlags`).
 *
 * @module
 */
import { KubeConfig } from "@kubernetes/client-node";

/** Paths of the service-account files a pod gets (relative to `pathPrefix`). */
const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Options of {@linkcode loadKubeConfig}. */
export interface LoadKubeConfigOptions {
  /** `--kubeconfig`: path of a kubeconfig file. Empty or absent means in-cluster (unless `master` is set). */
  kubeconfig?: string;
  /** `--master`: API server URL; overrides the kubeconfig's server. */
  master?: string;
  /** In-cluster inputs, injectable for tests: environment and a prefix for the service-account directory. */
  inCluster?: { env?: Record<string, string | undefined>; pathPrefix?: string };
}

/**
 * Builds a {@linkcode KubeConfig} the way upstream does:
 * - `kubeconfig` set: load that file; `master` (if set) replaces the current cluster's server.
 * - only `master` set: talk to that URL with no credentials.
 * - neither: in-cluster service account (`KUBERNETES_SERVICE_HOST`/`PORT`, token and CA files; the token file
 *   is re-read when it rotates).
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfig) {
    try {
      kc.loadFromFile(options.kubeconfig);
    } catch (err) {
      throw new Error(
        `Failed to load kubeconfig "${options.kubeconfig}": ${(err as Error).message}; check --kubeconfig`,
        { cause: err },
      );
    }
    if (!kc.getCurrentCluster()) {
      throw new Error(
        `Kubeconfig "${options.kubeconfig}" has no current cluster; set current-context to a context whose cluster exists`,
      );
    }
  } else if (options.master) {
    kc.loadFromOptions({
      clusters: [{ name: "master", server: options.master, skipTLSVerify: false }],
      users: [{ name: "anonymous" }],
      contexts: [{ name: "master", cluster: "master", user: "anonymous" }],
      currentContext: "master",
    });
  } else {
    loadInCluster(kc, options.inCluster ?? {});
  }
  if (options.master) overrideServer(kc, options.master);
  return kc;
}

function loadInCluster(
  kc: KubeConfig,
  { env = Deno.env.toObject(), pathPrefix = "" }: {
    env?: Record<string, string | undefined>;
    pathPrefix?: string;
  },
): void {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new Error(
      "No Kubernetes API configured: --kubeconfig and --master are empty and KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set; pass --kubeconfig when running outside a cluster",
    );
  }
  const dir = `${pathPrefix}${SERVICE_ACCOUNT_DIR}`;
  const tokenFile = `${dir}/token`;
  try {
    Deno.statSync(tokenFile);
  } catch (err) {
    throw new Error(
      `In-cluster service account token "${tokenFile}" is not readable: ${
        (err as Error).message
      }; mount a service account token or pass --kubeconfig`,
      { cause: err },
    );
  }
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  kc.loadFromOptions({
    clusters: [{ name: "inCluster", server, caFile: `${dir}/ca.crt`, skipTLSVerify: false }],
    users: [{ name: "inClusterUser", authProvider: { name: "tokenFile", config: { tokenFile } } }],
    contexts: [{ name: "inClusterContext", cluster: "inCluster", user: "inClusterUser" }],
    currentContext: "inClusterContext",
  });
}

function overrideServer(kc: KubeConfig, master: string): void {
  try {
    new URL(master);
  } catch {
    throw new Error(`Invalid --master "${master}": must be a URL such as https://10.0.0.1:6443`);
  }
  const current = kc.getCurrentCluster();
  if (!current) return;
  kc.clusters = kc.clusters.map((c) => c.name === current.name ? { ...c, server: master } : c);
}
