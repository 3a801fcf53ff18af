/**
 * Test helpers for the Kubernetes client: a kubeconfig in memory and a {@linkcode KubeTransport} whose HTTP
 * is a function.
 *
 * @module
 */
import { TokenBucket } from "../../util/token_bucket.ts";
import { KubeConfig, type User } from "./kubeconfig.ts";
import {
  type HttpInit,
  type HttpResponse,
  KubeTransport,
  type KubeTransportOptions,
  RequestStats,
} from "./transport.ts";

/** A kubeconfig with one cluster at `server` and one `user` (default: token `t`). */
export function testKubeConfig(
  server = "https://k:6443",
  user: User = { name: "u", token: "t" },
): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server }],
    users: [user],
    contexts: [{ name: "x", cluster: "c", user: user.name }],
    currentContext: "x",
  });
  return kc;
}

/** A response whose body is `text`. */
export function textResponse(
  status: number,
  text: string,
  headers: Record<string, string> = {},
): HttpResponse {
  return { status, headers, text: () => Promise.resolve(text), stream: () => new Blob([text]).stream() };
}

/** A transport for {@linkcode testKubeConfig}, without rate limit, whose HTTP is `send`. */
export function fakeTransport(
  send: (url: URL, init: HttpInit) => Promise<HttpResponse>,
  options: Partial<KubeTransportOptions> = {},
): KubeTransport {
  return new KubeTransport({
    config: testKubeConfig(),
    limiter: new TokenBucket({ qps: Infinity, burst: 1 }),
    userAgent: "ccm-test",
    stats: new RequestStats(),
    sender: { send },
    ...options,
  });
}
