/**
 * The cluster CA the health checks verify API servers with: the CA this CCM itself trusts for the API server
 * (its kubeconfig, or the in-cluster service account's `ca.crt`), plus ConfigMap `kube-system/kube-root-ca.crt`
 * which Kubernetes publishes for every namespace. Re-read periodically, so a CA that appears or rotates is
 * picked up.
 *
 * @module
 */
import type { V1ConfigMap } from "@kubernetes/client-node";
import type { KubeConfig } from "../../provider/kube/mod.ts";
import type { Logger } from "@logtape/logtape";
import { Buffer } from "node:buffer";

/** Namespace and name of the ConfigMap holding the cluster's root CA (key `ca.crt`). */
export const ROOT_CA_CONFIGMAP = Object.freeze({ namespace: "kube-system", name: "kube-root-ca.crt" });

/** Options of {@linkcode ClusterCa}. */
export interface ClusterCaOptions {
  /** The CCM's own Kubernetes client configuration. */
  kubeConfig?: KubeConfig;
  /** Reads a ConfigMap; resolves `undefined` when it does not exist. */
  readConfigMap?: (namespace: string, name: string, signal?: AbortSignal) => Promise<V1ConfigMap | undefined>;
  /** Reads a file (the kubeconfig's `certificate-authority`); default `Deno.readTextFile`. */
  readTextFile?: (path: string) => Promise<string>;
  logger: Logger;
}

/** See the module documentation. */
export class ClusterCa {
  readonly #options: ClusterCaOptions;
  #pems: string[] = [];
  #announced: "verify" | "skip" | undefined;

  constructor(options: ClusterCaOptions) {
    this.#options = options;
  }

  /** The CA certificates found by the last {@linkcode refresh} (PEM). */
  certificates(): readonly string[] {
    return this.#pems;
  }

  /** Re-reads every source; a failing source is logged and skipped. Logs when verification turns on or off. */
  async refresh(signal?: AbortSignal): Promise<void> {
    const found: string[] = [];
    const sources: string[] = [];
    const fromKubeconfig = await this.#fromKubeConfig();
    if (fromKubeconfig) {
      found.push(fromKubeconfig);
      sources.push("kubeconfig");
    }
    const fromConfigMap = await this.#fromConfigMap(signal);
    if (fromConfigMap) {
      found.push(fromConfigMap);
      sources.push(`ConfigMap ${ROOT_CA_CONFIGMAP.namespace}/${ROOT_CA_CONFIGMAP.name}`);
    }
    this.#pems = [...new Set(found.map((pem) => pem.trim()))];
    const mode = this.#pems.length > 0 ? "verify" : "skip";
    if (mode === this.#announced) return;
    this.#announced = mode;
    if (mode === "verify") {
      this.#options.logger.info("Health checks verify API server certificates against the cluster CA", {
        sources,
      });
    } else {
      this.#options.logger.warn(
        "No cluster CA is known (kubeconfig has none, ConfigMap {namespace}/{name} is missing); API server " +
          "health checks skip TLS certificate verification",
        { ...ROOT_CA_CONFIGMAP },
      );
    }
  }

  async #fromKubeConfig(): Promise<string | undefined> {
    const cluster = this.#options.kubeConfig?.getCurrentCluster();
    if (!cluster || cluster.skipTLSVerify) return undefined;
    if (cluster.caData) return Buffer.from(cluster.caData, "base64").toString("utf8");
    if (!cluster.caFile) return undefined;
    try {
      return await (this.#options.readTextFile ?? Deno.readTextFile)(cluster.caFile);
    } catch (err) {
      this.#options.logger.warn("Failed to read the kubeconfig's CA file {path}", {
        path: cluster.caFile,
        err,
      });
      return undefined;
    }
  }

  async #fromConfigMap(signal?: AbortSignal): Promise<string | undefined> {
    if (!this.#options.readConfigMap) return undefined;
    try {
      const cm = await this.#options.readConfigMap(
        ROOT_CA_CONFIGMAP.namespace,
        ROOT_CA_CONFIGMAP.name,
        signal,
      );
      return cm?.data?.["ca.crt"] || undefined;
    } catch (err) {
      this.#options.logger.warn("Failed to read ConfigMap {namespace}/{name}", { ...ROOT_CA_CONFIGMAP, err });
      return undefined;
    }
  }
}
