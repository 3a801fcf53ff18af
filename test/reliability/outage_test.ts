/**
 * A long outage of one Metal API route. Every elastic IP reservation fails with 500 for 100 s — longer than a
 * Service's backoff takes to grow past 30 s — while the rest of the API answers. Asserted: a Service created as
 * the outage starts is tried at least every 30 s (plus the client's own retries) throughout, and gets its
 * address within 60 s of the API answering again. With upstream's 5 s → 300 s backoff the Service would wait
 * 80 s between its fourth and fifth try, and past the outage's end.
 */
import assert from "node:assert/strict";
import { createLbService, PROJECT_ID } from "../loadbalancer_system.ts";
import { Bed, type LoggedRequest } from "./bed.ts";
import { report } from "./report.ts";

const OUTAGE_MS = 100_000;
const CONVERGE_MS = 60_000;
/** Requests of one sync: the client retries a 500 at most 4 times, each within 2 s of the last. */
const SAME_SYNC_GAP_MS = 4_000;
/** 30 s cap + a sync's own retries (≤ 3.75 s) + scheduling slack. */
const MAX_TRY_GAP_MS = 40_000;
const NS = "outage";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Start times of the syncs that sent `requests` (requests closer than SAME_SYNC_GAP_MS are one sync). */
function syncStarts(requests: LoggedRequest[]): number[] {
  const starts: number[] = [];
  let last = -Infinity;
  for (const t of requests.map((r) => Date.parse(r.time)).sort((a, b) => a - b)) {
    if (t - last > SAME_SYNC_GAP_MS) starts.push(t);
    last = t;
  }
  return starts;
}

Deno.test({
  name: "Metal outage longer than the backoff's growth: Service tried every ≤ 30 s, ingress ≤ 60 s after",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using bed = await Bed.start({ loadBalancer: "kube-vip://", hostnames: ["out-node-0"] });
    await bed.cluster.clients.core.createNamespace({ body: { metadata: { name: NS } } });
    await bed.startCcm("ccm");
    bed.startPolling();
    const reservePath = `/metal/v1/projects/${PROJECT_ID}/ips`;
    await bed.script({ method: "POST", path: reservePath, status: 500, count: 1_000_000 });
    const start = Date.now();
    await createLbService(bed.cluster, NS, "svc-0");
    await sleep(Math.max(0, start + OUTAGE_MS - Date.now()));
    await bed.clearFaults();
    const stoppedAt = Date.now();
    const [ip] = await bed.system.ingress(NS, "svc-0", CONVERGE_MS);
    const convergedMs = Date.now() - stoppedAt;
    await bed.stopPolling();

    const reserves = bed.ccmRequests().filter((r) => r.method === "POST" && r.path.startsWith(reservePath));
    const failed = reserves.filter((r) => r.status === 500);
    const starts = syncStarts(reserves);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    const stats = { outageMs: OUTAGE_MS, convergedMs, tries: starts.length, requests: reserves.length, gaps };
    // The outage was real (the Service kept failing) and long enough for the backoff to reach its cap.
    assert.ok(failed.length >= 5 && starts.length >= 6, JSON.stringify(stats));
    assert.ok(
      Math.max(...gaps) <= MAX_TRY_GAP_MS,
      `a try waited over ${MAX_TRY_GAP_MS} ms: ${JSON.stringify(stats)}`,
    );
    assert.ok(reserves.some((r) => r.status === 201), JSON.stringify(stats));
    assert.ok(ip, "no ingress");
    report("outage", stats);
  },
});
