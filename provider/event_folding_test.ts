import assert from "node:assert/strict";
import { BurstTracker, foldKey, foldSettings, MAX_MESSAGE_LENGTH, summaryMessage } from "./event_folding.ts";

const synced = {
  kind: "Node",
  apiVersion: "v1",
  type: "Normal",
  reason: "Synced",
  message: "Node synced successfully",
  component: "cloud-node-controller",
} as const;

Deno.test("foldKey() is shared by alike Normal Events and undefined for Warnings", () => {
  assert.equal(foldKey(synced), foldKey({ ...synced }));
  assert.notEqual(foldKey(synced), foldKey({ ...synced, message: "other" }));
  assert.notEqual(foldKey(synced), foldKey({ ...synced, component: "other" }));
  assert.notEqual(
    foldKey({ ...synced, kind: "Service", namespace: "a" }, ["Service"]),
    foldKey({ ...synced, kind: "Service", namespace: "b" }, ["Service"]),
    "one summary Event is written to one namespace",
  );
  assert.equal(foldKey({ ...synced, type: "Warning" }), undefined);
  assert.equal(foldKey({ ...synced, kind: "Service", namespace: "a" }), undefined, "only Nodes by default");
});

Deno.test("foldSettings() fills in defaults and names a field that is not a positive integer", () => {
  assert.deepEqual(foldSettings(), { burst: 25, windowMs: 60_000, intervalMs: 10_000, kinds: ["Node"] });
  assert.deepEqual(foldSettings({ burst: 3, kinds: ["Service"] }), {
    burst: 3,
    windowMs: 60_000,
    intervalMs: 10_000,
    kinds: ["Service"],
  });
  assert.throws(
    () => foldSettings({ intervalMs: 0 }),
    /'intervalMs' must be a positive integer: current value is 0/,
  );
  assert.throws(() => foldSettings({ burst: 1.5 }), /'burst'/);
});

Deno.test("BurstTracker folds what arrives after `burst` alike arrivals within the window", () => {
  const tracker = new BurstTracker({ burst: 3, windowMs: 1_000 });
  assert.deepEqual([0, 10, 20].map((t) => tracker.arrive("k", t)), [false, false, false]);
  assert.equal(tracker.arrive("k", 30), true, "the fourth within a second");
  assert.equal(tracker.arrive("other", 30), false, "keys are counted apart");
  assert.equal(tracker.arrive("k", 999), true, "the burst goes on while arrivals keep coming");
  // The last three arrivals of "k" were at 20, 30 and 999: at 1,025 the oldest is 1,005 ms old.
  assert.equal(tracker.arrive("k", 1_025), false, "slower than 3 a second: no burst");
});

Deno.test("BurstTracker never counts one arrival per second as a burst", () => {
  const tracker = new BurstTracker({ burst: 25, windowMs: 10_000 });
  for (let t = 0; t < 600_000; t += 1_000) assert.equal(tracker.arrive("k", t), false, `at ${t} ms`);
});

Deno.test("BurstTracker forgets the least recently used keys beyond its limit", () => {
  const tracker = new BurstTracker({ burst: 1, windowMs: 1_000 }, 2);
  tracker.arrive("a", 0);
  tracker.arrive("b", 0);
  tracker.arrive("c", 0); // forgets "a"
  assert.equal(tracker.arrive("a", 1), false);
  assert.equal(tracker.arrive("c", 1), true);
});

Deno.test("summaryMessage() names every object when they fit", () => {
  assert.equal(
    summaryMessage("Node synced successfully", "Node", ["a", "b", "c"]),
    "Node synced successfully (3 Nodes: a, b, c)",
  );
  assert.equal(summaryMessage("Ensured", "Service", ["x", "y"]), "Ensured (2 Services: x, y)");
  assert.equal(summaryMessage("Found", "Ingress", ["x", "y"]), "Found (2 Ingresses: x, y)");
});

Deno.test("summaryMessage() stays within 1 KiB and says how many names it left out", () => {
  const names = Array.from({ length: 1_000 }, (_, i) => `node-${String(i).padStart(4, "0")}`);
  const message = summaryMessage("Node synced successfully", "Node", names);
  assert.ok(message.length <= MAX_MESSAGE_LENGTH, `${message.length} characters`);
  assert.ok(message.length > MAX_MESSAGE_LENGTH - 20, "uses the room it has");
  const match = message.match(/^Node synced successfully \(1000 Nodes: (.*) and (\d+) more\)$/);
  assert.ok(match, message);
  const listed = match[1]!.split(", ");
  assert.deepEqual(listed, names.slice(0, listed.length));
  assert.equal(listed.length + Number(match[2]), 1_000);
});

Deno.test("summaryMessage() with no room for names gives the count only", () => {
  assert.equal(summaryMessage("m", "Node", ["a-long-name", "b"], 20), "m (2 Nodes)");
});
