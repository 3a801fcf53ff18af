import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { FakeClock, settle } from "../util/clock.ts";
import type { Controller, ControllerRunContext } from "./cloud.ts";
import {
  ControllerStops,
  runControllers,
  type RunControllersOptions,
  runProviderController,
} from "./controller_manager.ts";
import { HealthChecks } from "./health.ts";
import { captureLogs } from "../util/log.ts";

/** A controller that, once stopped, finishes its work in hand within `workMs` unless told to abandon it. */
class SlowController implements Controller {
  started = 0;
  finished = 0;
  abandoned = 0;
  constructor(readonly name: string, readonly workMs = 0) {}

  async run({ signal, syncSignal }: ControllerRunContext): Promise<void> {
    this.started++;
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    const done = await new Promise<boolean>((resolve) => {
      if (syncSignal.aborted) return resolve(false);
      const timer = setTimeout(() => resolve(true), this.workMs);
      syncSignal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve(false);
      }, { once: true });
    });
    if (done) this.finished++;
    else this.abandoned++;
  }
}

function setup(o: Partial<RunControllersOptions> & { hardSignal?: AbortSignal } = {}) {
  const registry = new Registry();
  const health = {
    healthz: new HealthChecks("healthz"),
    livez: new HealthChecks("livez"),
    readyz: new HealthChecks("readyz"),
  };
  const stop = new AbortController();
  const stops = new ControllerStops(stop.signal, o.hardSignal);
  const run = () => runControllers({ controllers: [], registry, health, stops, ...o });
  return { registry, health, stop, stops, run };
}

const gauge = (name: string, value: number) =>
  new RegExp(`running_managed_controllers\\{name="${name}",manager="cloud-controller-manager"\\} ${value}`);

Deno.test("runControllers() gives every controller a health ping and the running gauge, removed after a stop", async () => {
  await using logs = await captureLogs();
  const node = new SlowController("cloud-node-controller");
  const loop = new SlowController("bgp-node-controller");
  const t = setup({ controllers: [node], providerControllers: [loop] });
  const done = t.run();
  await settle();
  assert.deepEqual([node.started, loop.started], [1, 1]);
  assert.deepEqual(t.health.healthz.names(), ["ping", "cloud-node-controller", "bgp-node-controller"]);
  const metrics = await t.registry.metrics();
  assert.match(metrics, gauge("cloud-node-controller", 1));
  assert.match(metrics, gauge("bgp-node-controller", 1));
  t.stop.abort();
  await done;
  assert.deepEqual(t.health.healthz.names(), ["ping"], "pings removed after stop");
  assert.match(await t.registry.metrics(), gauge("cloud-node-controller", 0));
  assert.match(await t.registry.metrics(), gauge("bgp-node-controller", 0));
  const messages = logs.records().map((r) => `${r.msg} ${r.controller ?? ""}`.trim());
  assert.deepEqual(messages, [
    "Starting controller cloud-node-controller",
    "Starting provider controller bgp-node-controller",
    "Stopping controllers; waiting for in-flight work",
    "Stopped controller cloud-node-controller",
  ]);
});

Deno.test("runControllers() lets in-flight work finish on a graceful stop", async () => {
  const slow = new SlowController("cloud-node-controller", 100);
  const t = setup({ controllers: [slow] });
  const done = t.run();
  await settle();
  t.stop.abort();
  await done;
  assert.deepEqual([slow.finished, slow.abandoned], [1, 0]);
});

Deno.test("runControllers() abandons in-flight work after the shutdown timeout", async () => {
  await using logs = await captureLogs();
  const slow = new SlowController("cloud-node-controller", 5_000);
  const t = setup({ controllers: [slow], shutdownTimeoutMs: 50 });
  const done = t.run();
  await settle();
  const start = Date.now();
  t.stop.abort();
  await done;
  assert.ok(Date.now() - start < 1_000, "did not wait for the slow work");
  assert.match(logs.text(), /Abandoned in-flight work after the shutdown timeout/);
  await settle();
  assert.deepEqual([slow.finished, slow.abandoned], [0, 1]);
});

Deno.test("runControllers() abandons in-flight work at once on a hard stop (lost lease)", async () => {
  const slow = new SlowController("cloud-node-controller", 5_000);
  const hard = new AbortController();
  const t = setup({ controllers: [slow], hardSignal: hard.signal });
  const done = t.run();
  await settle();
  hard.abort(new Error("lost"));
  await done;
  assert.equal(t.stops.signal.aborted, true);
  assert.deepEqual([slow.finished, slow.abandoned], [0, 1]);
});

Deno.test("runControllers() stops every controller and rejects when a framework controller fails", async () => {
  const other = new SlowController("cloud-node-lifecycle-controller");
  const failing: Controller = { name: "cloud-node-controller", run: () => Promise.reject(new Error("boom")) };
  const t = setup({ controllers: [failing, other] });
  await assert.rejects(t.run(), /Controller 'cloud-node-controller' failed: boom/);
  assert.equal(t.stops.signal.aborted, true);
  assert.equal(other.finished, 1, "the others were stopped gracefully");
});

Deno.test("runProviderController() restarts a failing loop with growing backoff until stopped", async () => {
  const clock = new FakeClock();
  const stop = new AbortController();
  const starts: number[] = [];
  const done = runProviderController(
    {
      name: "bgp",
      run: () => {
        starts.push(clock.now());
        return Promise.reject(new Error("boom"));
      },
    },
    { signal: stop.signal, syncSignal: new AbortController().signal },
    clock,
  );
  await settle();
  await clock.advance(1_000);
  await clock.advance(2_000);
  await clock.advance(4_000);
  assert.deepEqual(starts, [0, 1_000, 3_000, 7_000]);
  stop.abort();
  await done;
});

Deno.test("runProviderController() caps the backoff at 60 s, starts over after a long run and logs the real delay", async () => {
  await using logs = await captureLogs();
  const clock = new FakeClock();
  const stop = new AbortController();
  const starts: number[] = [];
  const done = runProviderController(
    {
      name: "bgp",
      run: async () => {
        starts.push(clock.now());
        // The eighth run lasts 2 minutes before failing: the next restart comes after 1 s again.
        if (starts.length === 8) await clock.sleep(120_000);
        throw new Error("boom");
      },
    },
    { signal: stop.signal, syncSignal: new AbortController().signal },
    clock,
  );
  await settle();
  for (const ms of [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 120_000, 1_000]) {
    await clock.advance(ms);
  }
  const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
  assert.deepEqual(gaps, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 121_000]);
  const delays = logs.records().filter((r) => r.msg === "Provider controller failed; restarting")
    .map((r) => r.retryInMs);
  assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 1_000, 2_000]);
  stop.abort();
  await done;
});
