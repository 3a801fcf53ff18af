import { deepEqual, equal, ok } from "node:assert/strict";
import type { KubernetesObject, V1Node, V1NodeAddress } from "@kubernetes/client-node";
import {
  type EventRecorder,
  type EventType,
  InstanceNotFoundError,
  NodeNotManagedError,
  RetryError,
} from "../provider/mod.ts";
import { errorMessage } from "../util/errors.ts";
import { TokenBucket } from "../util/token_bucket.ts";
import {
  MetalForbiddenError,
  MetalNotFoundError,
  MetalRateLimitedError,
  MetalTransientError,
  MetalUnauthorizedError,
} from "./api/errors.ts";
import { HttpMetalClient } from "./api/http_client.ts";
import { FakeMetalClient, InstantClock, json, makeAddress, makeDevice, stubFetch } from "./api/testing.ts";
import { DeviceCache } from "./device_cache.ts";
import { MetalInstances } from "./instances.ts";

const PROJECT = crypto.randomUUID();
const NODE_NAME = "ccm-test";

interface RecordedEvent {
  name: string | undefined;
  type: EventType;
  reason: string;
  message: string;
}

class FakeRecorder implements EventRecorder {
  events: RecordedEvent[] = [];
  event(obj: KubernetesObject, type: EventType, reason: string, message: string): void {
    this.events.push({ name: obj.metadata?.name, type, reason, message });
  }
  warn(obj: KubernetesObject, reason: string, message: string): void {
    this.event(obj, "Warning", reason, message);
  }
}

function node(options: {
  name?: string;
  providerID?: string;
  providedIp?: string;
  addresses?: V1NodeAddress[];
}): V1Node {
  const annotations = options.providedIp
    ? { "alpha.kubernetes.io/provided-node-ip": options.providedIp }
    : undefined;
  return {
    metadata: { name: options.name ?? NODE_NAME, annotations },
    spec: options.providerID === undefined ? {} : { providerID: options.providerID },
    status: options.addresses ? { addresses: options.addresses } : undefined,
  };
}

/** Device JSON as the Metal API sends it. */
function wireDevice(fields: Record<string, unknown> & { id: string }) {
  return {
    hostname: `device-${fields.id.slice(0, 4)}`,
    state: "active",
    plan: {},
    ip_addresses: [],
    ...fields,
  };
}

/**
 * The upstream unit-test fixture: a mock Metal API serving the project's device list and devices by id (404
 * otherwise), used through the real HTTP client and cache.
 */
function upstreamFixture(devices: ReturnType<typeof wireDevice>[]) {
  const fetch = stubFetch((request) => {
    const path = new URL(request.url).pathname;
    if (path === `/metal/v1/projects/${PROJECT}/devices`) return json({ devices });
    const device = devices.find((d) => path === `/metal/v1/devices/${d.id}`);
    return device ? json(device) : json({ errors: ["Not found"] }, { status: 404 });
  });
  const clock = new InstantClock();
  const client = new HttpMetalClient({
    apiKey: "12345678",
    baseUrl: "http://metal.test/metal/v1",
    fetch,
    clock,
    rateLimiter: new TokenBucket({ qps: Infinity, burst: 1, clock }),
  });
  const recorder = new FakeRecorder();
  const devicesCache = new DeviceCache({ client, projectId: PROJECT, clock });
  return {
    fetch,
    recorder,
    instances: new MetalInstances({ devices: devicesCache, projectId: PROJECT, recorder }),
  };
}

/** Device D of upstream devices_test: private v4 P, public v4 E, public v6. */
function deviceD(extra: Record<string, unknown> = {}) {
  const id = crypto.randomUUID();
  return wireDevice({
    id,
    hostname: `device-${id.slice(0, 6)}`,
    ip_addresses: [
      { address: "10.0.0.5", address_family: 4, public: false, management: true },
      { address: "147.75.10.5", address_family: 4, public: true, management: true },
      { address: "2604:1380::5", address_family: 6, public: true, management: true },
    ],
    ...extra,
  });
}

function expectedAddresses(hostname: string, provided?: string): V1NodeAddress[] {
  return [
    { type: "Hostname", address: hostname },
    ...(provided ? [{ type: "InternalIP", address: provided }] : []),
    { type: "InternalIP", address: "10.0.0.5" },
    { type: "ExternalIP", address: "147.75.10.5" },
  ];
}

type Outcome<T> = { value: T } | { error: string; type?: new (...args: never[]) => Error };

async function check<T>(promise: Promise<T>, want: Outcome<T>): Promise<void> {
  let result: { value: T } | { err: unknown };
  try {
    result = { value: await promise };
  } catch (err) {
    result = { err };
  }
  if ("value" in want) {
    ok("value" in result, `unexpected error: ${"err" in result ? String(result.err) : ""}`);
    deepEqual(result.value, want.value);
    return;
  }
  ok("err" in result, `expected an error starting with '${want.error}', got ${JSON.stringify(result)}`);
  const message = errorMessage(result.err);
  ok(message.startsWith(want.error), `'${message}' does not start with '${want.error}'`);
  if (want.type) ok(result.err instanceof want.type, `expected ${want.type.name}`);
}

Deno.test("instanceMetadata() addresses: upstream TestNodeAddresses", async (t) => {
  const d = deviceD();
  const random = crypto.randomUUID();
  const A = expectedAddresses(d.hostname);
  const cases: [string, V1Node, Outcome<V1NodeAddress[]>][] = [
    ["empty providerID and name", node({ name: "" }), { error: "node name cannot be empty" }],
    ["empty providerID, unknown name", node({}), {
      error: "instance not found",
      type: InstanceNotFoundError,
    }],
    ["unknown device id", node({ providerID: `equinixmetal://${random}` }), { error: "instance not found" }],
    ["by providerID and hostname", node({ providerID: `equinixmetal://${d.id}`, name: d.hostname }), {
      value: A,
    }],
    ["by providerID, other name", node({ providerID: `equinixmetal://${d.id}` }), { value: A }],
    ["by hostname", node({ name: d.hostname }), { value: A }],
    [
      "with provided node IP",
      node({ providerID: `equinixmetal://${d.id}`, providedIp: "10.0.0.77" }),
      { value: expectedAddresses(d.hostname, "10.0.0.77") },
    ],
  ];
  const { instances } = upstreamFixture([d]);
  for (const [name, n, want] of cases) {
    await t.step(name, async () => {
      const got = instances.instanceMetadata(n).then((m) => m.nodeAddresses);
      await check(got, want);
    });
  }
});

Deno.test("instanceMetadata() addresses: upstream TestNodeAddressesByProviderID", async (t) => {
  const d = deviceD();
  const random = crypto.randomUUID();
  const A = expectedAddresses(d.hostname);
  const cases: [string, Outcome<V1NodeAddress[]>][] = [
    ["", { error: "instance not found" }],
    [random, { error: "instance not found" }],
    [`aws://${random}`, {
      error: "provider name from providerID should be equinixmetal",
      type: NodeNotManagedError,
    }],
    [`equinixmetal://${random}`, { error: "instance not found", type: InstanceNotFoundError }],
    [`equinixmetal://${d.id}`, { value: A }],
    [`packet://${d.id}`, { value: A }],
    [d.id, { value: A }],
  ];
  const { instances } = upstreamFixture([d]);
  for (const [providerID, want] of cases) {
    await t.step(providerID || "(empty)", async () => {
      await check(instances.instanceMetadata(node({ providerID })).then((m) => m.nodeAddresses), want);
    });
  }
});

Deno.test("instanceMetadata() instance type: upstream TestInstanceType", async (t) => {
  const d = deviceD({
    ip_addresses: [
      { address: "10.1.1.2", address_family: 4, public: false, management: true },
      { address: "25.50.75.100", address_family: 4, public: true, management: true },
    ],
  });
  const cases: [string, Outcome<string>][] = [
    ["", { error: "instance not found" }],
    [crypto.randomUUID(), { error: "instance not found" }],
    [`equinixmetal://${d.id}`, { value: "" }],
  ];
  const { instances } = upstreamFixture([d]);
  for (const [providerID, want] of cases) {
    await t.step(providerID || "(empty)", async () => {
      await check(instances.instanceMetadata(node({ providerID })).then((m) => m.instanceType), want);
    });
  }
});

Deno.test("instanceMetadata() region: upstream TestInstanceZone", async (t) => {
  const d = deviceD({ metro: { code: "ME" } });
  const cases: [string, Outcome<string>][] = [
    ["", { error: "instance not found" }],
    [crypto.randomUUID(), { error: "instance not found" }],
    [`equinixmetal://${d.id}`, { value: "ME" }],
  ];
  const { instances } = upstreamFixture([d]);
  for (const [providerID, want] of cases) {
    await t.step(providerID || "(empty)", async () => {
      await check(instances.instanceMetadata(node({ providerID })).then((m) => m.region), want);
    });
  }
});

Deno.test("instanceExists(): upstream TestInstanceExistsByProviderID", async (t) => {
  const d = deviceD();
  const random = crypto.randomUUID();
  const cases: [string, Outcome<boolean>][] = [
    ["", { error: "providerID cannot be empty" }],
    [random, { value: false }],
    [`aws://${random}`, {
      error: "provider name from providerID should be equinixmetal",
      type: NodeNotManagedError,
    }],
    [`equinixmetal://${random}`, { value: false }],
    [`equinixmetal://${d.id}`, { value: true }],
    [`packet://${d.id}`, { value: true }],
    [d.id, { value: true }],
  ];
  const { instances } = upstreamFixture([d]);
  for (const [providerID, want] of cases) {
    await t.step(providerID || "(empty)", async () => {
      await check(instances.instanceExists(node({ providerID })), want);
    });
  }
});

Deno.test("instanceShutdown(): upstream TestInstanceShutdownByProviderID", async (t) => {
  const active = deviceD();
  const inactive = deviceD({ state: "inactive" });
  const random = crypto.randomUUID();
  const cases: [string, Outcome<boolean>][] = [
    ["", { error: "providerID cannot be empty" }],
    [random, { error: "instance not found", type: InstanceNotFoundError }],
    [`aws://${random}`, {
      error: "provider name from providerID should be equinixmetal",
      type: NodeNotManagedError,
    }],
    [`equinixmetal://${random}`, { error: "instance not found" }],
    [`equinixmetal://${active.id}`, { value: false }],
    [`packet://${active.id}`, { value: false }],
    [active.id, { value: false }],
    [`equinixmetal://${inactive.id}`, { value: true }],
    [`packet://${inactive.id}`, { value: true }],
    [inactive.id, { value: true }],
  ];
  const { instances } = upstreamFixture([active, inactive]);
  for (const [providerID, want] of cases) {
    await t.step(providerID || "(empty)", async () => {
      await check(instances.instanceShutdown(node({ providerID })), want);
    });
  }
});

Deno.test("instanceShutdown() is true only for state 'inactive'", async () => {
  const states = ["active", "inactive", "powering_off", "powering_on", "failed", "provisioning"];
  const devices = states.map((state) => deviceD({ state }));
  const { instances } = upstreamFixture(devices);
  const got = await Promise.all(devices.map((d) => instances.instanceShutdown(node({ providerID: d.id }))));
  deepEqual(got, [false, true, false, false, false, false]);
});

Deno.test("instanceMetadata() reports providerID, plan, metro as region and facility as zone", async () => {
  const d = deviceD({ plan: { slug: "c3.small.x86" }, metro: { code: "sv" }, facility: { code: "sv15" } });
  const { instances } = upstreamFixture([d]);
  const meta = await instances.instanceMetadata(node({ name: d.hostname }));
  deepEqual({ ...meta, nodeAddresses: undefined }, {
    providerID: `equinixmetal://${d.id}`,
    instanceType: "c3.small.x86",
    region: "sv",
    zone: "sv15",
    nodeAddresses: undefined,
  });
});

Deno.test("instanceMetadata() takes the region from the facility's metro when the device has no metro", async () => {
  const d = deviceD({ facility: { code: "da11", metro: { code: "da" } } });
  const { instances } = upstreamFixture([d]);
  const meta = await instances.instanceMetadata(node({ providerID: d.id }));
  equal(meta.region, "da");
  equal(meta.zone, "da11");
});

Deno.test("instanceMetadata() errors and a Warning Event when the device lacks a private or public IPv4", async (t) => {
  const noPrivate = deviceD({ ip_addresses: [{ address: "147.75.1.1", address_family: 4, public: true }] });
  const noPublic = deviceD({ ip_addresses: [{ address: "10.0.0.1", address_family: 4, public: false }] });
  const { instances, recorder } = upstreamFixture([noPrivate, noPublic]);
  await t.step("no private IPv4", async () => {
    await check(instances.instanceMetadata(node({ providerID: noPrivate.id })), {
      error: "could not get at least one private ip",
    });
    equal(recorder.events.at(-1)?.reason, "NoPrivateIPv4Address");
  });
  await t.step("a provided node IP counts as the private address", async () => {
    const meta = await instances.instanceMetadata(
      node({ providerID: noPrivate.id, providedIp: "192.168.1.9" }),
    );
    deepEqual(meta.nodeAddresses, [
      { type: "Hostname", address: noPrivate.hostname },
      { type: "InternalIP", address: "192.168.1.9" },
      { type: "ExternalIP", address: "147.75.1.1" },
    ]);
  });
  await t.step("no public IPv4", async () => {
    await check(instances.instanceMetadata(node({ providerID: noPublic.id })), {
      error: "could not get at least one public ip",
    });
    equal(recorder.events.at(-1)?.reason, "NoPublicIPv4Address");
    equal(recorder.events.at(-1)?.type, "Warning");
  });
});

Deno.test("instanceMetadata() keeps each address once and reads a dual-stack provided node IP", async () => {
  const d = deviceD();
  const { instances } = upstreamFixture([d]);
  const meta = await instances.instanceMetadata(node({ providerID: d.id, providedIp: "10.0.0.5,fd00::5" }));
  deepEqual(meta.nodeAddresses, [
    { type: "Hostname", address: d.hostname },
    { type: "InternalIP", address: "10.0.0.5" },
    { type: "InternalIP", address: "fd00::5" },
    { type: "ExternalIP", address: "147.75.10.5" },
  ]);
});

Deno.test("a node whose name is not a device hostname is matched by one of its addresses", async (t) => {
  const d = deviceD();
  const other = deviceD({
    ip_addresses: [
      { address: "10.0.0.6", "address_family": 4, public: false },
      { address: "147.75.10.6", "address_family": 4, public: true },
    ],
  });
  const { instances } = upstreamFixture([d, other]);
  await t.step("status address", async () => {
    const n = node({ name: "k3s-node-7f3a", addresses: [{ type: "InternalIP", address: "10.0.0.5" }] });
    equal((await instances.instanceMetadata(n)).providerID, `equinixmetal://${d.id}`);
  });
  await t.step("kubelet provided node IP", async () => {
    const n = node({ name: "k3s-node-7f3a", providedIp: "147.75.10.5" });
    equal((await instances.instanceMetadata(n)).providerID, `equinixmetal://${d.id}`);
  });
});

Deno.test("several matching devices are an error naming the candidates, with a Warning Event", async (t) => {
  const a = deviceD({ hostname: "worker" });
  const b = deviceD({ hostname: "worker" });
  const c = deviceD({ hostname: "c" });
  const shared = { address: "10.9.9.9", "address_family": 4, public: false };
  const d = deviceD({ hostname: "d", ip_addresses: [shared] });
  const e = deviceD({ hostname: "e", ip_addresses: [shared] });
  const { instances, recorder } = upstreamFixture([a, b, c, d, e]);
  await t.step("by hostname", async () => {
    await check(instances.instanceMetadata(node({ name: "worker" })), {
      error: "found 2 devices matching node",
    });
    const event = recorder.events.at(-1);
    equal(event?.reason, "AmbiguousDevice");
    ok(event?.message.includes(a.id) && event.message.includes(b.id), event?.message);
  });
  await t.step("by address", async () => {
    const n = node({ name: "other", addresses: [{ type: "InternalIP", address: "10.9.9.9" }] });
    await check(instances.instanceMetadata(n), {
      error:
        `found 2 devices matching node 'other' by address: '${d.id}' (hostname 'd'), '${e.id}' (hostname 'e')`,
    });
  });
});

Deno.test("no matching device gives InstanceNotFoundError and a DeviceNotFound Warning Event", async () => {
  const { instances, recorder } = upstreamFixture([deviceD()]);
  const n = node({ name: "lost", addresses: [{ type: "InternalIP", address: "192.0.2.1" }] });
  await check(instances.instanceMetadata(n), { error: "instance not found", type: InstanceNotFoundError });
  deepEqual(recorder.events.map((e) => [e.name, e.type, e.reason]), [["lost", "Warning", "DeviceNotFound"]]);
  ok(recorder.events[0]?.message.includes("--provider-id=equinixmetal://<device-id>"));
});

Deno.test("another provider's nodes get NodeNotManagedError from every method and no Event", async () => {
  const { instances, recorder, fetch } = upstreamFixture([deviceD()]);
  const n = node({ providerID: "aws:///us-east-1a/i-0123456789" });
  await check(instances.instanceExists(n), {
    error: "provider name from providerID",
    type: NodeNotManagedError,
  });
  await check(instances.instanceShutdown(n), {
    error: "provider name from providerID",
    type: NodeNotManagedError,
  });
  await check(instances.instanceMetadata(n), {
    error: "provider name from providerID",
    type: NodeNotManagedError,
  });
  equal(recorder.events.length, 0);
  equal(fetch.requests.length, 0, "no API call for a foreign node");
});

Deno.test("a providerID without device id is an error, never 'gone'", async () => {
  const { instances } = upstreamFixture([deviceD()]);
  await check(instances.instanceExists(node({ providerID: "equinixmetal://" })), {
    error: "providerID 'equinixmetal://' of node 'ccm-test' has no device id",
  });
});

Deno.test("instanceExists() rejects instead of answering false whenever the API is in doubt", async (t) => {
  const info = { operation: "list_devices", method: "GET", path: "/projects/p/devices" };
  const failures: [string, "listDevices" | "getDevice", Error][] = [
    ["401 on list", "listDevices", new MetalUnauthorizedError({ ...info, status: 401 }, "401")],
    ["403 on list", "listDevices", new MetalForbiddenError({ ...info, status: 403 }, "403")],
    [
      "404 on list (wrong base URL or project)",
      "listDevices",
      new MetalNotFoundError({ ...info, status: 404 }, "404"),
    ],
    [
      "503 on list",
      "listDevices",
      new MetalTransientError({ ...info, status: 503 }, "503", { kind: "server" }),
    ],
    ["timeout on list", "listDevices", new MetalTransientError(info, "timeout", { kind: "timeout" })],
    [
      "429 on list",
      "listDevices",
      new MetalRateLimitedError({ ...info, status: 429 }, "429", { retryAfterMs: 1 }),
    ],
    ["403 on device GET", "getDevice", new MetalForbiddenError({ ...info, status: 403 }, "403")],
    [
      "503 on device GET",
      "getDevice",
      new MetalTransientError({ ...info, status: 503 }, "503", { kind: "server" }),
    ],
    ["unrelated error", "getDevice", new TypeError("boom")],
  ];
  for (const [name, method, error] of failures) {
    await t.step(name, async () => {
      const client = new FakeMetalClient([makeDevice({ id: "present" })]);
      client.fail = (m) => m === method ? error : undefined;
      const devices = new DeviceCache({ client, projectId: PROJECT, clock: new InstantClock() });
      const instances = new MetalInstances({ devices, projectId: PROJECT });
      const expected = error instanceof MetalNotFoundError ? "Cannot list devices of project" : error.message;
      await check(instances.instanceExists(node({ providerID: "equinixmetal://missing" })), {
        error: expected,
      });
    });
  }
});

Deno.test("a rate-limited lookup becomes a RetryError carrying the API's delay", async () => {
  const client = new FakeMetalClient([makeDevice({ id: "present", hostname: "node-a" })]);
  const info = { operation: "list_devices", method: "GET", path: "/projects/p/devices", status: 429 };
  client.fail = () => new MetalRateLimitedError(info, "429", { retryAfterMs: 90_000 });
  const devices = new DeviceCache({ client, projectId: PROJECT, clock: new InstantClock() });
  const instances = new MetalInstances({ devices, projectId: PROJECT });
  for (
    const call of [
      instances.instanceExists(node({ providerID: "present" })),
      instances.instanceMetadata(node({ name: "node-a" })),
    ]
  ) {
    const err = await call.then(() => undefined, (e) => e);
    ok(err instanceof RetryError, String(err));
    equal(err.retryAfterMs, 90_000);
    ok(err.cause instanceof MetalRateLimitedError);
  }
});

Deno.test("initializing 50 nodes by hostname costs one device list", async () => {
  const devices = Array.from({ length: 50 }, (_, i) =>
    makeDevice({
      id: `dev-${i}`,
      hostname: `node-${i}`,
      ipAddresses: [
        makeAddress(`10.0.1.${i}`, { public: false }),
        makeAddress(`147.75.1.${i}`, { public: true }),
      ],
    }));
  const client = new FakeMetalClient(devices);
  const cache = new DeviceCache({ client, projectId: PROJECT, clock: new InstantClock() });
  const instances = new MetalInstances({ devices: cache, projectId: PROJECT });
  const metas = await Promise.all(devices.map((d) => instances.instanceMetadata(node({ name: d.hostname }))));
  deepEqual(metas.map((m) => m.providerID), devices.map((d) => `equinixmetal://${d.id}`));
  const exists = await Promise.all(
    metas.map((m) => instances.instanceExists(node({ providerID: m.providerID }))),
  );
  ok(exists.every(Boolean));
  deepEqual(client.calls, { listDevices: 1, getDevice: 0 });
});
