/**
 * Benchmark-only entry point: `ccm` (main.ts) with its clock running `CCM_BENCH_TIME_SCALE` times faster than
 * real time, so that an idle simulated hour takes 60/scale real minutes.
 *
 * Every period and cache lifetime of the product (`--node-status-update-frequency`, `--node-monitor-period`,
 * the device and reservation cache TTLs, the BGP resync and neighbour TTLs, the janitor interval, informer
 * resync, rate limiters, work-queue backoff) is measured on `systemClock` (util/clock.ts), so replacing
 * its `now` and `sleep` scales all of them by the same factor. What the clock does not drive stays in real
 * time: HTTP request timeouts, watch timeouts chosen by the client and enforced by the API server, and the
 * simulator's injected latency.
 *
 * Usage: `CCM_BENCH_TIME_SCALE=12 deno run --allow-all bench/lib/ccm_scaled.ts run --cloud-provider=... ...`
 *
 * @module
 */
import { main } from "../../main.ts";
import { systemClock } from "../../util/clock.ts";

const scale = Number(Deno.env.get("CCM_BENCH_TIME_SCALE") ?? "1");
if (!Number.isFinite(scale) || scale <= 0) {
  throw new Error(`Invalid CCM_BENCH_TIME_SCALE "${Deno.env.get("CCM_BENCH_TIME_SCALE")}": use a number > 0`);
}
if (scale !== 1) {
  const realSleep = systemClock.sleep;
  const origin = Date.now();
  systemClock.now = () => origin + (Date.now() - origin) * scale;
  systemClock.sleep = (ms, signal) => realSleep(ms / scale, signal);
}

const code = await main(Deno.args);
if (code !== 0) Deno.exit(code);
