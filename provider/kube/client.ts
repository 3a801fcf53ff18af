/**
 * Kubernetes API clients shared by the whole process: one configuration, one client-side rate limiter
 * (`--kube-api-qps`/`--kube-api-burst`) and one user agent for every typed API client.
 *
 * @example
 * ```ts
 * await using kube = createKubeClients({ kubeconfig: "/etc/kubernetes/ccm.conf", qps: 20, burst: 30 });
 * const nodes = await kube.core.listNode();
 * ```
 *
 * @module
 */
import type { Registry } from "prom-client";
import type { Clock } from "../../util/clock.ts";
import { TokenBucket } from "../../util/token_bucket.ts";
import { VERSION } from "../version.ts";
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeRest,
  ObjectsApi,
} from "./api.ts";
import { type KubeConfig, loadKubeConfig, type LoadKubeConfigOptions } from "./kubeconfig.ts";
import { registerRequestMetrics } from "./request_metrics.ts";
import type { SenderPool } from "./sender_pool.ts";
import { KubeTransport, RequestStats } from "./transport.ts";
import { type WatchEvent, watchStream, type WatchStreamOptions } from "./watch.ts";

/** The typed API clients; all requests made through them share the rate limiter. */
export interface KubeClients extends AsyncDisposable {
  readonly config: KubeConfig;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly custom: CustomObjectsApi;
  /** Objects of any kind (found through discovery): create, read, delete, list, server-side apply. */
  readonly objects: ObjectsApi;
  /** JSON requests to any path (what the typed clients use). */
  readonly rest: KubeRest;
  /** The shared client-side limiter (`--kube-api-qps`/`--kube-api-burst`). */
  readonly limiter: TokenBucket;
  /** Request counters per Kubernetes verb, and a hook for per-request metrics. */
  readonly requests: RequestStats;
  /**
   * Streams watch events of `path` (for example `/api/v1/nodes`). Starting a watch takes a limiter token; the
   * stream itself is not limited. Used by informers; prefer an informer over a raw watch.
   */
  watch<T = unknown>(path: string, options: WatchStreamOptions): AsyncIterable<WatchEvent<T>>;
  /** Closes every pooled connection (open watches end). */
  close(): Promise<void>;
}

/** Options of {@linkcode createKubeClients}. */
export interface KubeClientsOptions extends LoadKubeConfigOptions {
  /** `--kube-api-qps`: sustained requests per second (default 20). */
  qps?: number;
  /** `--kube-api-burst`: requests allowed at once after a quiet period (default 30). */
  burst?: number;
  /** User-Agent header; default `ccm/<version>`. */
  userAgent?: string;
  /** Registers `rest_client_requests_total` and `rest_client_request_duration_seconds` here when given. */
  registry?: Registry;
  /**
   * Counts requests here instead of in a new {@linkcode RequestStats}: clients that share it (one per controller,
   * as upstream gives each controller its own client and limiter) feed one set of `rest_client_*` metrics.
   */
  stats?: RequestStats;
  clock?: Clock;
  /** Use this config instead of loading one (tests that build a KubeConfig in memory). */
  kubeConfig?: KubeConfig;
  /** Called before every write request; throwing cancels it (leader-election fencing). */
  beforeWrite?: (url: URL) => void;
  /** Connection pools shared with other clients (one per TLS settings); default a pool of this client's own. */
  senders?: SenderPool;
}

/** Builds the process-wide {@linkcode KubeClients} from `--kubeconfig`/`--master` or the in-cluster account. */
export function createKubeClients(options: KubeClientsOptions = {}): KubeClients {
  const kc = options.kubeConfig ?? loadKubeConfig(options);
  const limiter = new TokenBucket({
    qps: options.qps ?? 20,
    burst: options.burst ?? 30,
    clock: options.clock,
  });
  const requests = options.stats ?? new RequestStats();
  const senders = options.senders;
  if (options.registry) registerRequestMetrics(options.registry, requests);
  const transport = new KubeTransport({
    config: kc,
    limiter,
    userAgent: options.userAgent ?? `ccm/${VERSION}`,
    stats: requests,
    beforeWrite: options.beforeWrite,
    senderFor: senders ? (tls) => senders.acquire(tls) : undefined,
  });
  const rest = new KubeRest(transport);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await transport.close();
  };
  return {
    config: kc,
    core: new CoreV1Api(rest),
    coordination: new CoordinationV1Api(rest),
    discovery: new DiscoveryV1Api(rest),
    custom: new CustomObjectsApi(rest),
    objects: new ObjectsApi(rest),
    rest,
    limiter,
    requests,
    watch: <T>(path: string, watchOptions: WatchStreamOptions) =>
      watchStream<T>({ transport, path, ...watchOptions }),
    close,
    [Symbol.asyncDispose]: close,
  };
}
