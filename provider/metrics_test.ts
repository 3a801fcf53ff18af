import assert from "node:assert/strict";
import { Counter, Registry } from "prom-client";
import { getOrCreateCounter, getOrCreateGauge, getOrCreateHistogram } from "./metrics.ts";

Deno.test("getOrCreateCounter() registers a counter once and returns the same one for the same name", async () => {
  const registry = new Registry();
  const options = { name: "things_total", help: "Things", labelNames: ["result"] as const };
  const first = getOrCreateCounter(registry, options);
  const second = getOrCreateCounter(registry, options);
  assert.equal(second, first);
  first.inc({ result: "ok" });
  assert.match(await registry.metrics(), /things_total\{result="ok"\} 1/);
  assert.notEqual(getOrCreateCounter(new Registry(), options), first, "another registry gets its own");
});

Deno.test("getOrCreateGauge() and getOrCreateHistogram() reuse a registered metric of their kind", () => {
  const registry = new Registry();
  const gauge = getOrCreateGauge(registry, { name: "level", help: "Level" });
  assert.equal(getOrCreateGauge(registry, { name: "level", help: "Level" }), gauge);
  const histogram = getOrCreateHistogram(registry, { name: "took_seconds", help: "Took", buckets: [1, 2] });
  assert.equal(getOrCreateHistogram(registry, { name: "took_seconds", help: "Took" }), histogram);
});

Deno.test("getOrCreateCounter() without a registry creates a new unregistered counter each time", () => {
  const options = { name: "loose_total", help: "Loose" };
  const a = getOrCreateCounter(undefined, options);
  assert.ok(a instanceof Counter);
  assert.notEqual(getOrCreateCounter(undefined, options), a);
});

Deno.test("getOrCreateGauge() throws TypeError when the name belongs to another kind of metric", () => {
  const registry = new Registry();
  getOrCreateCounter(registry, { name: "mixed", help: "Mixed" });
  assert.throws(() => getOrCreateGauge(registry, { name: "mixed", help: "Mixed" }), TypeError);
});
