/**
 * Item 5 (Services) — invalid Service annotations and specs, in MetalLB CR mode: unusable `spec.loadBalancerIP`
 * values (the API server accepts any string there), unknown, unicode and huge metro and facility annotations,
 * and the longest valid names. Asserted: a Warning Event on the Service naming the field; nothing reserved,
 * no MetalLB pool and no ingress for it; the CCM keeps running and serves the valid Services; the longest valid
 * name works. Item 6 runs along.
 */
import assert from "node:assert/strict";
import type { JsonEvent } from "../../provider/kube/json_types.ts";
import { applyCRDs, ensureNamespace, waitFor } from "../harness/mod.ts";
import {
  listMetalLb,
  METALLB_CR_MODE,
  METALLB_CRDS,
  METALLB_NS,
} from "../loadbalancer_metallb_cr_objects.ts";
import { createLbService } from "../loadbalancer_system.ts";
import { Bed, type TrackedService, waitConverged } from "./bed.ts";
import { report } from "./report.ts";
import { errorMessage } from "../../util/errors.ts";

const NS = "badinput";
const METRO = "metal.equinix.com/eip-metro";
const FACILITY = "metal.equinix.com/eip-facility";

interface Case {
  name: string;
  loadBalancerIP?: string;
  annotations?: Record<string, string>;
  /** What a Warning Event on the Service must say. */
  event: RegExp;
}

const CASES: Case[] = [
  { name: "ip-not-an-ip", loadBalancerIP: "not-an-ip", event: /spec\.loadBalancerIP 'not-an-ip'/ },
  { name: "ip-bad-octet", loadBalancerIP: "10.0.0.300", event: /spec\.loadBalancerIP '10\.0\.0\.300'/ },
  { name: "ip-leading-zero", loadBalancerIP: "010.1.2.3", event: /spec\.loadBalancerIP '010\.1\.2\.3'/ },
  { name: "ip-unspecified", loadBalancerIP: "0.0.0.0", event: /spec\.loadBalancerIP '0\.0\.0\.0'/ },
  { name: "ip-cidr", loadBalancerIP: "147.75.1.1/32", event: /spec\.loadBalancerIP '147\.75\.1\.1\/32'/ },
  {
    name: "metro-unknown",
    annotations: { [METRO]: "zz" },
    event: /metro 'zz'.*annotation "metal\.equinix\.com\/eip-metro"/,
  },
  { name: "metro-unicode", annotations: { [METRO]: "東京" }, event: /metro '東京'/ },
  {
    name: "metro-huge",
    annotations: { [METRO]: "m".repeat(5000) },
    event: /annotation "metal\.equinix\.com\/eip-metro"/,
  },
  {
    name: "facility-unknown",
    annotations: { [FACILITY]: "zz99" },
    event: /facility 'zz99'.*annotation "metal\.equinix\.com\/eip-facility"/,
  },
];

async function warnings(bed: Bed, name: string): Promise<JsonEvent[]> {
  const list = await bed.cluster.clients.core.listNamespacedEvent({
    namespace: NS,
    fieldSelector: `involvedObject.name=${name}`,
  });
  return list.items.filter((e) => e.type === "Warning");
}

Deno.test({
  name: "bad Service input: a Warning naming the field, nothing reserved or configured, no crash",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using bed = await Bed.start({
      loadBalancer: METALLB_CR_MODE,
      async prepare(cluster) {
        await applyCRDs(cluster.clients, METALLB_CRDS);
        await ensureNamespace(cluster.clients, METALLB_NS);
      },
    });
    await waitFor(() => listMetalLb(bed.system, "ipaddresspools"), { message: "MetalLB CRDs served" });
    await bed.cluster.clients.core.createNamespace({ body: { metadata: { name: NS } } });
    const ccm = await bed.startCcm("ccm");
    await bed.ready(ccm);

    const good: TrackedService[] = [{ name: "good-before", state: "lb" }];
    await createLbService(bed.cluster, NS, "good-before");
    for (const c of CASES) {
      await createLbService(bed.cluster, NS, c.name, {
        loadBalancerIP: c.loadBalancerIP,
        annotations: c.annotations,
      });
    }
    // The longest valid names still work (tags hash the name; MetalLB object names and labels must stay valid).
    const longest = `l${"o".repeat(61)}g`;
    good.push({ name: longest, state: "lb" }, { name: "good-after", state: "lb" });
    await createLbService(bed.cluster, NS, longest);
    await createLbService(bed.cluster, NS, "good-after");

    const failures: string[] = [];
    for (const c of CASES) {
      const events = await waitFor(async () => {
        const found = await warnings(bed, c.name);
        return found.some((e) => c.event.test(e.message ?? "")) ? found : undefined;
      }, { timeoutMs: 30_000, message: `a Warning on ${c.name}` }).catch(async (err) => {
        failures.push(
          `${c.name}: ${errorMessage(err)}; got ${
            JSON.stringify((await warnings(bed, c.name)).map((e) => e.message))
          }`,
        );
        return [];
      });
      const svc = await bed.system.service(NS, c.name);
      if ((svc?.status?.loadBalancer?.ingress ?? []).length > 0) failures.push(`${c.name}: has an ingress`);
      if (events.some((e) => (e.message ?? "").length > 2000)) {
        failures.push(`${c.name}: a huge Event message`);
      }
    }
    const converged = await waitConverged(bed, NS, good, 60_000, async () => {
      const pools = (await listMetalLb(bed.system, "ipaddresspools")).map((p) => p.metadata.name).sort();
      const want = good.map((g) => `${NS}.${g.name}`).sort();
      return JSON.stringify(pools) === JSON.stringify(want) ? [] : [`pools ${pools} instead of ${want}`];
    });
    // Nothing reserved for the invalid Services (waitConverged counted only the good ones as ours).
    for (const c of CASES) {
      assert.equal((await bed.system.reservationsOf(NS, c.name)).length, 0, c.name);
    }
    assert.equal(ccm.process.hasExited, false, "no crash");
    assert.deepEqual(failures, []);
    const scan = await bed.assertNoSecrets([await bed.metrics(ccm)]);
    report("bad-service", { cases: CASES.length, convergedMs: converged, scan });
  },
});
