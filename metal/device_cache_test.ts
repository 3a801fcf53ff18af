import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { Registry } from "prom-client";
import { isDefinitelyNotFound, MetalNotFoundError, MetalTransientError } from "./api/errors.ts";
import { FakeMetalClient, InstantClock, makeAddress, makeDevice } from "./api/testing.ts";
import { DeviceCache } from "./device_cache.ts";

const PROJECT = "project-1";

function fixture(
  count = 3,
  options: { ttlMs?: number; missRefreshMs?: number; failureHoldMs?: number } = {},
) {
  const devices = Array.from({ length: count }, (_, i) =>
    makeDevice({
      id: `dev-${i}`,
      hostname: `node-${i}`,
      ipAddresses: [
        makeAddress(`10.0.0.${i}`, { public: false }),
        makeAddress(`147.75.0.${i}`, { public: true }),
      ],
    }));
  const client = new FakeMetalClient(devices);
  const clock = new InstantClock();
  const registry = new Registry();
  const cache = new DeviceCache({ client, projectId: PROJECT, clock, metrics: registry, ...options });
  return { client, clock, cache, registry };
}

function transient(): MetalTransientError {
  return new MetalTransientError(
    { operation: "list_devices", method: "GET", path: "/x", status: 503 },
    "503",
    {
      kind: "server",
    },
  );
}

Deno.test("DeviceCache serves N concurrent lookups with one list call", async () => {
  const { client, cache } = fixture(50);
  const gate = Promise.withResolvers<void>();
  client.gate = gate.promise;
  const lookups = [
    ...Array.from({ length: 50 }, (_, i) => cache.getById(`dev-${i}`)),
    ...Array.from({ length: 50 }, (_, i) => cache.findByHostname(`node-${i}`)),
  ];
  gate.resolve();
  const found = await Promise.all(lookups);
  equal(found.length, 100);
  equal(client.calls.listDevices, 1);
  equal(client.calls.getDevice, 0);
});

Deno.test("DeviceCache reuses a list within the TTL and lists again after it", async () => {
  const { client, clock, cache } = fixture(3, { ttlMs: 20_000 });
  await cache.getById("dev-0");
  clock.advance(19_999);
  await cache.getById("dev-1");
  equal(client.calls.listDevices, 1);
  clock.advance(1);
  await cache.getById("dev-1");
  equal(client.calls.listDevices, 2);
});

Deno.test("getById() falls back to a device GET for a device missing from a fresh list", async () => {
  const { client, cache } = fixture();
  client.otherDevices = [makeDevice({ id: "elsewhere" })];
  equal((await cache.getById("elsewhere")).id, "elsewhere");
  equal(client.calls.getDevice, 1);
  await cache.getById("elsewhere");
  equal(client.calls.getDevice, 1, "the single device is cached for the TTL too");
  equal(client.calls.listDevices, 1);
});

Deno.test("getById() rejects with MetalNotFoundError when the list lacks the device and the GET says 404", async () => {
  const { client, cache } = fixture();
  await rejects(cache.getById("gone"), MetalNotFoundError);
  equal(client.calls.listDevices, 1);
  equal(client.calls.getDevice, 1);
});

Deno.test("a failed list is never read as 'device gone' and is listed again after failureHoldMs", async () => {
  const { client, clock, cache, registry } = fixture(3, { failureHoldMs: 3_000 });
  client.fail = (method) => method === "listDevices" ? transient() : undefined;
  await rejects(cache.getById("dev-0"), MetalTransientError);
  equal(client.calls.getDevice, 0, "no device GET when the list failed");
  client.fail = undefined;
  clock.advance(3_000);
  equal((await cache.getById("dev-0")).id, "dev-0");
  equal(client.calls.listDevices, 2);
  const metrics = await registry.metrics();
  match(metrics, /cloudprovider_equinixmetal_device_cache_refreshes_total\{result="error"\} 1/);
  match(metrics, /cloudprovider_equinixmetal_device_cache_refreshes_total\{result="success"\} 1/);
});

Deno.test("a 404 on the list is reported as a configuration error, never as 'device not found'", async () => {
  const { client, cache } = fixture();
  client.fail = (method) =>
    method === "listDevices"
      ? new MetalNotFoundError({ operation: "list_devices", method: "GET", path: "/x", status: 404 }, "404")
      : undefined;
  const err = await cache.getById("dev-0").then(() => undefined, (e) => e);
  ok(err instanceof Error && !(err instanceof MetalNotFoundError));
  ok(!isDefinitelyNotFound(err));
  match(
    err.message,
    /Cannot list devices of project 'project-1': the API answered 404; check the project id/,
  );
  equal(client.calls.getDevice, 0);
});

Deno.test("within failureHoldMs of a failed list, lookups fail at once with its error and list nothing", async () => {
  const { client, clock, cache } = fixture(3, { failureHoldMs: 3_000 });
  const outage = transient();
  client.fail = (method) => method === "listDevices" ? outage : undefined;
  await rejects(cache.getById("dev-0"), (err) => err === outage);
  equal(client.calls.listDevices, 1);
  // An address refresh pass over many nodes during the outage: one list (retried by the client), not one each.
  for (let i = 0; i < 20; i++) {
    clock.advance(100);
    await rejects(cache.getById(`dev-${i % 3}`), (err) => err === outage, "the same error, never 'gone'");
    await rejects(cache.findByHostname(`node-${i % 3}`), (err) => err === outage);
    await rejects(cache.findByAddresses(["10.0.0.1"]), (err) => err === outage);
  }
  equal(client.calls.listDevices, 1, "no list within the hold (2 s after the failure)");
  equal(client.calls.getDevice, 0, "a failed list never falls back to device GETs");
  clock.advance(1_000); // 3 s after the failure
  await rejects(cache.getById("dev-0"), (err) => err === outage);
  equal(client.calls.listDevices, 2, "the hold over, the next lookup lists again");
  client.fail = undefined;
  await rejects(cache.getById("dev-0"), (err) => err === outage, "that failure is remembered anew");
  clock.advance(3_000);
  equal((await cache.getById("dev-0")).id, "dev-0");
  equal(client.calls.listDevices, 3);
});

Deno.test("a remembered list failure keeps a 404 a configuration error, never 'device not found'", async () => {
  const { client, cache } = fixture();
  client.fail = (method) =>
    method === "listDevices"
      ? new MetalNotFoundError({ operation: "list_devices", method: "GET", path: "/x", status: 404 }, "404")
      : undefined;
  const first = await cache.getById("dev-0").then(() => undefined, (e) => e);
  const second = await cache.getById("dev-1").then(() => undefined, (e) => e);
  equal(second, first);
  ok(!(second instanceof MetalNotFoundError) && !isDefinitelyNotFound(second));
  equal(client.calls.listDevices, 1);
});

Deno.test("failureHoldMs 0 lists again on every lookup after a failure; invalidate() forgets a failure", async () => {
  const off = fixture(3, { failureHoldMs: 0 });
  off.client.fail = () => transient();
  await rejects(off.cache.getById("dev-0"), MetalTransientError);
  await rejects(off.cache.getById("dev-0"), MetalTransientError);
  equal(off.client.calls.listDevices, 2);

  const { client, cache } = fixture();
  client.fail = () => transient();
  await rejects(cache.getById("dev-0"), MetalTransientError);
  client.fail = undefined;
  cache.invalidate();
  equal((await cache.getById("dev-0")).id, "dev-0");
  equal(client.calls.listDevices, 2);
});

Deno.test("the failure hold is at most the TTL", async () => {
  const { client, clock, cache } = fixture(3, { ttlMs: 1_000, failureHoldMs: 5_000 });
  client.fail = () => transient();
  await rejects(cache.getById("dev-0"), MetalTransientError);
  client.fail = undefined;
  clock.advance(1_000);
  equal((await cache.getById("dev-0")).id, "dev-0");
  equal(client.calls.listDevices, 2);
});

Deno.test("concurrent callers all see the failure of a shared list", async () => {
  const { client, cache } = fixture();
  client.fail = () => transient();
  const results = await Promise.allSettled([cache.getById("dev-0"), cache.findByHostname("node-1")]);
  deepEqual(results.map((r) => r.status), ["rejected", "rejected"]);
  equal(client.calls.listDevices, 1);
});

Deno.test("findByHostname() and findByAddresses() use the indexes", async () => {
  const { cache } = fixture();
  deepEqual((await cache.findByHostname("node-2")).map((d) => d.id), ["dev-2"]);
  deepEqual((await cache.findByAddresses(["147.75.0.1", "192.0.2.1"])).map((d) => d.id), ["dev-1"]);
  deepEqual((await cache.findByAddresses(["10.0.0.0", "147.75.0.2"])).map((d) => d.id), ["dev-0", "dev-2"]);
  deepEqual(await cache.findByAddresses([]), []);
});

Deno.test("a lookup that finds nothing refreshes a list older than missRefreshMs once", async () => {
  const { client, clock, cache } = fixture(1, { ttlMs: 30_000, missRefreshMs: 5_000 });
  deepEqual(await cache.findByHostname("new-node"), []);
  equal(client.calls.listDevices, 1, "a brand-new list is not refreshed");
  clock.advance(5_000);
  client.devices.push(makeDevice({ id: "dev-new", hostname: "new-node" }));
  deepEqual((await cache.findByHostname("new-node")).map((d) => d.id), ["dev-new"]);
  equal(client.calls.listDevices, 2);
  deepEqual(await cache.findByHostname("not-a-device"), []);
  equal(client.calls.listDevices, 2, "misses cost at most one list per missRefreshMs");
});

Deno.test("invalidate() makes the next lookup list again", async () => {
  const { client, cache } = fixture();
  await cache.getById("dev-0");
  cache.invalidate();
  await cache.getById("dev-0");
  equal(client.calls.listDevices, 2);
});

Deno.test("a list started before invalidate() is not stored", async () => {
  const { client, cache } = fixture();
  const gate = Promise.withResolvers<void>();
  client.gate = gate.promise;
  const stale = cache.snapshot();
  cache.invalidate();
  client.gate = undefined;
  client.devices.push(makeDevice({ id: "dev-new" }));
  ok((await cache.snapshot()).byId("dev-new"));
  gate.resolve();
  ok(!(await stale).byId("dev-new"));
  ok((await cache.snapshot()).byId("dev-new"), "the newer list is kept");
  equal(client.calls.listDevices, 2);
});

Deno.test("a caller that aborts stops waiting while others get the shared list", async () => {
  const { client, cache } = fixture();
  const gate = Promise.withResolvers<void>();
  client.gate = gate.promise;
  const controller = new AbortController();
  const aborted = cache.getById("dev-0", { signal: controller.signal });
  const other = cache.getById("dev-1");
  controller.abort(new Error("stopped leading"));
  await rejects(aborted, /stopped leading/);
  gate.resolve();
  equal((await other).id, "dev-1");
  equal(client.calls.listDevices, 1);
});

Deno.test("device cache metrics count hits and misses", async () => {
  const { cache, client, registry } = fixture();
  client.otherDevices = [makeDevice({ id: "elsewhere" })];
  await cache.getById("dev-0");
  await cache.getById("elsewhere");
  const metrics = await registry.metrics();
  match(metrics, /cloudprovider_equinixmetal_device_cache_lookups_total\{result="hit"\} 1/);
  match(metrics, /cloudprovider_equinixmetal_device_cache_lookups_total\{result="miss"\} 1/);
  ok(new DeviceCache({ client, projectId: PROJECT, metrics: registry }), "a second cache reuses the metrics");
});
