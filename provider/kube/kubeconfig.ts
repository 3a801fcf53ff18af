/**
 * Where the API server and credentials come from: `--kubeconfig`, `--master`, or the in-cluster service
 * account (client-go's `clientcmd.BuildConfigFromFlags`). Our own small reader of kubeconfig files: the
 * official client library costs ~45 MB of memory to load, and we need only its configuration subset.
 *
 * Supported credentials: bearer token, token file, client certificate and key (files or inline data), basic
 * auth. Exec plugins, auth providers and proxies are refused with an error that says so.
 *
 * @module
 */
import { dirname, isAbsolute, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { errorMessage } from "../../util/errors.ts";

/** Paths of the service-account files a pod gets (relative to `pathPrefix`). */
const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** One kubeconfig cluster. */
export interface Cluster {
  name: string;
  /** API server URL, for example `https://10.0.0.1:6443`. */
  server: string;
  /** Base64 PEM of the CA (`certificate-authority-data`). */
  caData?: string;
  /** Path of the CA PEM (`certificate-authority`). */
  caFile?: string;
  skipTLSVerify: boolean;
  /** Name to verify the server certificate against (`tls-server-name`). */
  tlsServerName?: string;
}

/** One kubeconfig user (credentials). */
export interface User {
  name: string;
  token?: string;
  /** Re-read when it changes (projected service-account tokens rotate). */
  tokenFile?: string;
  /** Base64 PEM (`client-certificate-data`). */
  certData?: string;
  certFile?: string;
  /** Base64 PEM (`client-key-data`). */
  keyData?: string;
  keyFile?: string;
  username?: string;
  password?: string;
}

/** One kubeconfig context. */
export interface Context {
  name: string;
  cluster: string;
  user: string;
  namespace?: string;
}

/** Options of {@linkcode KubeConfig.loadFromOptions}. */
export interface KubeConfigInit {
  clusters: Array<Omit<Cluster, "skipTLSVerify"> & { skipTLSVerify?: boolean }>;
  users: User[];
  contexts: Context[];
  currentContext: string;
}

/** A loaded kubeconfig: clusters, users, contexts and the current context. */
export class KubeConfig {
  clusters: Cluster[] = [];
  users: User[] = [];
  contexts: Context[] = [];
  currentContext = "";

  /** Replaces the configuration with `init`. */
  loadFromOptions(init: KubeConfigInit): void {
    this.clusters = init.clusters.map((c) => ({ ...c, skipTLSVerify: c.skipTLSVerify ?? false }));
    this.users = init.users.map((u) => ({ ...u }));
    this.contexts = init.contexts.map((c) => ({ ...c }));
    this.currentContext = init.currentContext;
  }

  /** Parses kubeconfig YAML (or JSON); relative file paths resolve against `baseDir`. */
  loadFromString(text: string, baseDir = "."): void {
    const doc = parseYaml(text) as unknown;
    if (!isRecord(doc)) throw new Error("not a kubeconfig: the document is not a mapping");
    const path = (value: unknown) =>
      typeof value === "string" && value ? (isAbsolute(value) ? value : join(baseDir, value)) : undefined;
    this.loadFromOptions({
      clusters: entries(doc.clusters, "cluster").map(({ name, body }) => {
        for (const key of ["proxy-url"]) {
          if (body[key]) {
            throw new Error(`cluster "${name}" sets ${key}, which ccm does not support; remove it`);
          }
        }
        return {
          name,
          server: str(body.server) ?? "",
          caData: str(body["certificate-authority-data"]),
          caFile: path(body["certificate-authority"]),
          skipTLSVerify: body["insecure-skip-tls-verify"] === true,
          tlsServerName: str(body["tls-server-name"]),
        };
      }),
      users: entries(doc.users, "user").map(({ name, body }) => {
        for (const key of ["exec", "auth-provider"]) {
          if (body[key]) {
            throw new Error(
              `user "${name}" uses ${key} credentials, which ccm does not support; use a token, a token file or a client certificate`,
            );
          }
        }
        return {
          name,
          token: str(body.token),
          tokenFile: path(body.tokenFile),
          certData: str(body["client-certificate-data"]),
          certFile: path(body["client-certificate"]),
          keyData: str(body["client-key-data"]),
          keyFile: path(body["client-key"]),
          username: str(body.username),
          password: str(body.password),
        };
      }),
      contexts: entries(doc.contexts, "context").map(({ name, body }) => ({
        name,
        cluster: str(body.cluster) ?? "",
        user: str(body.user) ?? "",
        namespace: str(body.namespace),
      })),
      currentContext: str(doc["current-context"]) ?? "",
    });
  }

  /** Reads and parses the kubeconfig file at `path`. */
  loadFromFile(path: string): void {
    this.loadFromString(Deno.readTextFileSync(path), dirname(path));
  }

  getCurrentContext(): Context | null {
    return this.contexts.find((c) => c.name === this.currentContext) ?? null;
  }

  getCurrentCluster(): Cluster | null {
    const context = this.getCurrentContext();
    return (context && this.clusters.find((c) => c.name === context.cluster)) ?? null;
  }

  getCurrentUser(): User | null {
    const context = this.getCurrentContext();
    return (context && this.users.find((u) => u.name === context.user)) ?? null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** The named entries of a kubeconfig list (`clusters`, `users`, `contexts`). */
function entries(list: unknown, field: string): Array<{ name: string; body: Record<string, unknown> }> {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new Error(`${field}s must be a list`);
  return list.map((item, i) => {
    const name = isRecord(item) ? str(item.name) : undefined;
    if (!name) throw new Error(`${field}s[${i}] has no name`);
    const body = (item as Record<string, unknown>)[field];
    return { name, body: isRecord(body) ? body : {} };
  });
}

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
        `Failed to load kubeconfig "${options.kubeconfig}": ${errorMessage(err)}; check --kubeconfig`,
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
      clusters: [{ name: "master", server: options.master }],
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
        errorMessage(err)
      }; mount a service account token or pass --kubeconfig`,
      { cause: err },
    );
  }
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  kc.loadFromOptions({
    clusters: [{ name: "inCluster", server, caFile: `${dir}/ca.crt` }],
    users: [{ name: "inClusterUser", tokenFile }],
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
