import assert from "node:assert/strict";
import type { HealthProber, ProbeOutcome } from "../metal/control_plane/health_probe.ts";
import { LoopbackProber } from "./demo_ccm.ts";

Deno.test("the demo's simulated network sends every health check to the local API server", async () => {
  const seen: string[] = [];
  const inner: HealthProber = {
    probe(url: string): Promise<ProbeOutcome> {
      seen.push(url);
      return Promise.resolve({ ok: true, detail: "HTTP 200", seconds: 0 });
    },
  };
  const prober = new LoopbackProber({ target: "127.0.0.1:6443", inner });
  assert.equal((await prober.probe("https://147.75.0.3:36443/healthz")).ok, true);
  await prober.probe("https://145.40.64.1:443/healthz");
  await prober.probe("https://[2604:1380::1]:6443/healthz");
  assert.deepEqual(seen, [
    "https://127.0.0.1:6443/healthz",
    "https://127.0.0.1:6443/healthz",
    "https://127.0.0.1:6443/healthz",
  ]);
});
