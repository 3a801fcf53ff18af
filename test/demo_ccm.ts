/**
 * `ccm` as the local demo runs it: the real binary's CLI and Equinix Metal provider, on a simulated network in
 * which every node address and the control-plane Elastic IP lead to this machine's kube-apiserver. The
 * control-plane EIP's health checks (`GET https://<address>:<port>/healthz`) then reach a real API server
 * without any traffic leaving loopback; everything else is exactly `ccm run`.
 *
 * Env: `DEMO_APISERVER` (`host:port` of the local kube-apiserver), `DEMO_APISERVER_CA` (its CA, PEM file).
 *
 * Usage: `deno run -A test/demo_ccm.ts run --cloud-provider=equinixmetal ...`
 *
 * @module
 */
import { main } from "../main.ts";
import { createMetalCloud, MetalCloud, PROVIDER_NAME } from "../metal/mod.ts";
import {
  type HealthProber,
  HttpsHealthProber,
  type ProbeOutcome,
} from "../metal/control_plane/health_probe.ts";
import { registerCloudProvider, unregisterCloudProvider } from "../provider/registry.ts";

/** A prober that sends every health check to `target` (`host:port`), keeping path and TLS verification. */
export class LoopbackProber implements HealthProber {
  readonly #target: string;
  readonly #inner: HealthProber;

  constructor(options: { target: string; inner: HealthProber }) {
    this.#target = options.target;
    this.#inner = options.inner;
  }

  probe(url: string, signal?: AbortSignal): Promise<ProbeOutcome> {
    const routed = new URL(url);
    routed.host = this.#target;
    return this.#inner.probe(routed.href, signal);
  }
}

if (import.meta.main) {
  const target = Deno.env.get("DEMO_APISERVER");
  const caPath = Deno.env.get("DEMO_APISERVER_CA");
  if (!target || !caPath) {
    Deno.stderr.writeSync(new TextEncoder().encode("demo_ccm: set DEMO_APISERVER and DEMO_APISERVER_CA\n"));
    Deno.exit(2);
  }
  const ca = Deno.readTextFileSync(caPath);
  const prober = new LoopbackProber({ target, inner: new HttpsHealthProber({ caCertificates: () => [ca] }) });
  unregisterCloudProvider(PROVIDER_NAME);
  registerCloudProvider(PROVIDER_NAME, (options) => {
    // The real factory (configuration, secret masking, logging), then the same provider with the prober.
    const cloud = createMetalCloud(options);
    return new MetalCloud({
      config: cloud.config,
      logger: cloud.logger,
      version: cloud.version,
      controlPlaneProber: prober,
    });
  });
  Deno.exit(await main(Deno.args));
}
