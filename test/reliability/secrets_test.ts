/**
 * Item 6 — secrets, at the loudest settings: `ccm run -v=10` with `PACKNGO_DEBUG` set (every Metal call logged in
 * detail), JSON logs, the simulator logging every request, MetalLB CR mode with the BGP password inline, and
 * API failures so that error messages and Warning Events are written. Asserted: the recognizable API key and
 * BGP password (as is or base64) appear in no log line of either process, no Event, no `/metrics` line and
 * not in the simulator's request log — while both were in use (the password reached the BGP peers and the Node
 * annotations, where upstream puts it). Every other reliability test runs the same check on its own scenario.
 */
import assert from "node:assert/strict";
import { applyCRDs, ensureNamespace, waitFor } from "../harness/mod.ts";
import {
  listMetalLb,
  METALLB_CR_MODE,
  METALLB_CRDS,
  METALLB_NS,
} from "../loadbalancer_metallb_cr_objects.ts";
import { createLbService, HOSTNAMES, PROJECT_ID } from "../loadbalancer_system.ts";
import { Bed, SECRET_BGP_PASS, type TrackedService, waitConverged } from "./bed.ts";
import { report } from "./report.ts";

Deno.test({
  name: "secrets: neither the API key nor the BGP password in any log, Event, metric or request log at -v=10",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using bed = await Bed.start({
      loadBalancer: METALLB_CR_MODE,
      fakeApiArgs: ["-v", "2"],
      env: { PACKNGO_DEBUG: "1" },
      async prepare(cluster) {
        await applyCRDs(cluster.clients, METALLB_CRDS);
        await ensureNamespace(cluster.clients, METALLB_NS);
      },
    });
    await waitFor(() => listMetalLb(bed.system, "ipaddresspools"), { message: "MetalLB CRDs served" });
    // Failures, so that error messages, retries and Warning Events are written too.
    await bed.script({ path: `/metal/v1/projects/${PROJECT_ID}/ips`, method: "POST", status: 500, count: 2 });
    await bed.script({
      path: `/metal/v1/projects/${PROJECT_ID}/bgp-config`,
      status: 503,
      count: 2,
      retryAfter: 1,
    });
    await bed.script({ path: "/metal/v1/devices/", status: 429, count: 3, retryAfter: 1 });
    const ccm = await bed.startCcm("ccm", { args: ["-v=10", "--logging-format=json"] });
    await bed.ready(ccm);
    const services: TrackedService[] = [{ name: "web", state: "lb" }, { name: "api", state: "lb" }];
    for (const s of services) await createLbService(bed.cluster, "default", s.name);
    await waitConverged(bed, "default", services, 60_000);
    await bed.cluster.clients.core.deleteNamespacedService({ namespace: "default", name: "api" });
    services[1]!.state = "deleted";
    await waitConverged(bed, "default", services, 60_000);

    // The secrets were in use: the password is where upstream puts it.
    const peers = await listMetalLb(bed.system, "bgppeers");
    assert.ok(
      peers.length > 0 && peers.every((p) => p.spec.password === SECRET_BGP_PASS),
      "BGPPeers carry it",
    );
    for (const h of HOSTNAMES) {
      const annotations = (await bed.system.node(h)).metadata?.annotations ?? {};
      assert.equal(annotations["metal.equinix.com/bgp-peers-0-bgp-pass"], btoa(SECRET_BGP_PASS));
    }
    const log = await Deno.readTextFile(ccm.process.logPath);
    assert.match(log, /"msg":"Sent Metal API request"/, "per-request trace logging was on");
    assert.match(log, /Metal API request 'create_ip_reservation'.*500/, "an API error was logged");

    const scan = await bed.assertNoSecrets([await bed.metrics(ccm)]);
    assert.ok(scan.logLines > 100 && scan.events > 0 && scan.requests > 10 && scan.metricLines > 100);
    report("secrets", { scan });
  },
});
