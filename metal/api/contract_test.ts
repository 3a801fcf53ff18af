/**
 * Contract tests: the real {@linkcode HttpMetalClient} (and the instances built on it) against the in-process
 * simulator, so the client and the fake API cannot drift apart.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import type { Clock } from "../../util/clock.ts";
import { TokenBucket } from "../../util/token_bucket.ts";
import {
  createTestApi,
  OTHER_PROJECT_ID,
  TEST_API_KEY,
  TEST_PROJECT_ID,
  type TestApi,
  testSeed,
} from "../../fake_api/testing.ts";
import type { Seed } from "../../fake_api/seed.ts";
import { DeviceCache } from "../device_cache.ts";
import { MetalInstances } from "../instances.ts";
import {
  isDefinitelyNotFound,
  isInvalidWith,
  MetalForbiddenError,
  MetalNotFoundError,
  MetalRateLimitedError,
  MetalUnauthorizedError,
} from "./errors.ts";
import { HttpMetalClient, type HttpMetalClientOptions } from "./http_client.ts";

const BASE = "http://fake-metal.test/metal/v1";

/** A clock for the client that moves the simulator's fake clock, so Retry-After waits advance its windows. */
function sharedClock(api: TestApi): Clock {
  return {
    now: () => api.clock.now(),
    sleep: (ms) => api.clock.advance(ms),
  };
}

function clientFor(api: TestApi, options: Partial<HttpMetalClientOptions> = {}): HttpMetalClient {
  const clock = sharedClock(api);
  return new HttpMetalClient({
    apiKey: TEST_API_KEY,
    baseUrl: BASE,
    fetch: (request) => api.app.fetch(request),
    clock,
    random: () => 0,
    rateLimiter: new TokenBucket({ qps: Infinity, burst: 1, clock }),
    ...options,
  });
}

function devices(count: number, prefix = "node"): NonNullable<Seed["devices"]> {
  return Array.from({ length: count }, (_, i) => ({
    project_id: TEST_PROJECT_ID,
    hostname: `${prefix}-${i}`,
    plan: "c3.small.x86",
    metro: "sv",
  }));
}

function listRequests(api: TestApi): number {
  return api.requestLog.list().filter((e) => e.path === `/metal/v1/projects/${TEST_PROJECT_ID}/devices`)
    .length;
}

Deno.test("contract: listDevices() reads every page of the simulator's device list", async () => {
  const api = await createTestApi({ seed: testSeed({ devices: devices(25) }) });
  const got = await clientFor(api, { perPage: 10 }).listDevices(TEST_PROJECT_ID);
  equal(got.length, 25);
  deepEqual(new Set(got.map((d) => d.hostname)), new Set(devices(25).map((d) => d.hostname)));
  equal(listRequests(api), 3);
});

Deno.test("contract: getDevice() reads plan, metro, facility, state and addresses", async () => {
  const api = await createTestApi({ seed: testSeed({ devices: devices(1) }) });
  const client = clientFor(api);
  const [listed] = await client.listDevices(TEST_PROJECT_ID);
  ok(listed);
  const device = await client.getDevice(listed.id, {
    include: ["ip_addresses.parent_block", "parent_block"],
  });
  equal(device.hostname, "node-0");
  equal(device.state, "active");
  equal(device.plan?.slug, "c3.small.x86");
  equal(device.metro?.code, "sv");
  ok(device.facility?.code, "the simulator places devices in a facility");
  const v4 = device.ipAddresses.filter((ip) => ip.addressFamily === 4);
  ok(v4.some((ip) => ip.public) && v4.some((ip) => !ip.public), "a public and a private IPv4");
  const privateMgmt = v4.find((ip) => !ip.public && ip.management);
  ok(
    privateMgmt?.parentBlock?.network && privateMgmt.parentBlock.cidr,
    "parent_block is included on request",
  );
});

Deno.test("contract: an unknown device is a definite 404 and a bad key is 401", async () => {
  const api = await createTestApi();
  const err = await clientFor(api).getDevice(crypto.randomUUID()).catch((e) => e);
  ok(err instanceof MetalNotFoundError && isDefinitelyNotFound(err), String(err));
  const unauthorized = await clientFor(api, { apiKey: "not-a-valid-key" }).listDevices(TEST_PROJECT_ID).catch(
    (e) => e,
  );
  ok(unauthorized instanceof MetalUnauthorizedError, String(unauthorized));
  ok(!isDefinitelyNotFound(unauthorized));
  const other = await clientFor(api).listDevices(OTHER_PROJECT_ID).catch((e) => e);
  ok(other instanceof MetalForbiddenError, String(other));
});

Deno.test("contract: IP reservations can be reserved, listed, updated, assigned, unassigned and released", async () => {
  const api = await createTestApi({ seed: testSeed({ devices: devices(1) }) });
  const client = clientFor(api);
  const [device] = await client.listDevices(TEST_PROJECT_ID);
  ok(device);
  const reserved = await client.createIpReservation(TEST_PROJECT_ID, {
    type: "public_ipv4",
    quantity: 1,
    metro: "sv",
    tags: ["usage=test", "service=abc"],
    details: "contract test",
    failOnApprovalRequired: true,
  });
  ok(reserved.id && reserved.address);
  deepEqual(reserved.tags, ["usage=test", "service=abc"]);

  const updated = await client.updateIpReservation(reserved.id, { tags: ["usage=test", "service=def"] });
  deepEqual(updated.tags, ["usage=test", "service=def"]);
  equal((await client.getIpReservation(reserved.id)).address, reserved.address);

  const assignment = await client.assignIp(device.id, reserved.address);
  ok(assignment.id);
  const listed = await client.listIpReservations(TEST_PROJECT_ID, {
    types: ["public_ipv4"],
    includeAssignments: true,
  });
  const mine = listed.find((r) => r.id === reserved.id);
  deepEqual(mine?.assignments.map((a) => a.id), [assignment.id]);

  await client.unassignIp(assignment.id);
  const after = await client.listIpReservations(TEST_PROJECT_ID, { includeAssignments: true });
  deepEqual(after.find((r) => r.id === reserved.id)?.assignments, []);
  await client.deleteIpReservation(reserved.id);
  const gone = await client.getIpReservation(reserved.id).catch((e) => e);
  ok(isDefinitelyNotFound(gone), String(gone));
});

Deno.test("contract: BGP config, sessions and neighbours", async () => {
  const api = await createTestApi({ seed: testSeed({ devices: devices(1) }) });
  const client = clientFor(api);
  const [device] = await client.listDevices(TEST_PROJECT_ID);
  ok(device);
  equal((await client.getBgpConfig(TEST_PROJECT_ID)).id, undefined, "BGP not enabled yet");
  await client.createBgpConfig(TEST_PROJECT_ID, {
    asn: 65000,
    deploymentType: "local",
    useCase: "kubernetes-load-balancer",
  });
  const config = await client.getBgpConfig(TEST_PROJECT_ID);
  ok(config.id);
  equal(config.asn, 65000);
  equal(config.status, "enabled");

  const session = await client.createBgpSession(device.id, "ipv4");
  equal(session.addressFamily, "ipv4");
  const duplicate = await client.createBgpSession(device.id, "ipv4").catch((e) => e);
  ok(isInvalidWith(duplicate, "already has session"), String(duplicate));
  deepEqual((await client.listBgpSessions(device.id)).map((s) => s.id), [session.id]);
  deepEqual(
    (await client.listProjectBgpSessions(TEST_PROJECT_ID)).map((s) => [s.id, s.deviceId, s.addressFamily]),
    [[session.id, device.id, "ipv4"]],
  );

  const neighbors = await client.getBgpNeighbors(device.id);
  const v4 = neighbors.find((n) => n.addressFamily === 4);
  ok(v4 && v4.peerIps.length > 0 && v4.peerAs && v4.customerIp, JSON.stringify(neighbors));
});

Deno.test("contract: getProject() reads the project", async () => {
  const api = await createTestApi();
  equal((await clientFor(api).getProject(TEST_PROJECT_ID)).name, "test-project");
});

Deno.test("contract: scripted 503s are retried and the call succeeds", async () => {
  const api = await createTestApi({ seed: testSeed({ devices: devices(1) }) });
  api.faults.scripted.push({ path: `/metal/v1/projects/${TEST_PROJECT_ID}/devices`, status: 503, count: 2 });
  equal((await clientFor(api).listDevices(TEST_PROJECT_ID)).length, 1);
  deepEqual(api.requestLog.list().map((e) => e.status), [503, 503, 200]);
});

Deno.test("contract: the simulator's 429 with Retry-After is waited out", async () => {
  const api = await createTestApi({ seed: testSeed({ devices: devices(1) }) });
  api.faults.settings = { ...api.faults.settings, rateLimit: 2 };
  const client = clientFor(api);
  const results = [];
  for (let i = 0; i < 5; i++) results.push((await client.listDevices(TEST_PROJECT_ID)).length);
  deepEqual(results, [1, 1, 1, 1, 1]);
  ok(api.requestLog.list().some((e) => e.status === 429), "the limit was hit");

  const impatient = clientFor(api, { retry: { maxRetries: 0 } });
  const err = await Promise.all([1, 2, 3].map(() => impatient.listDevices(TEST_PROJECT_ID))).catch((e) => e);
  ok(err instanceof MetalRateLimitedError && err.retryAfterMs >= 1000, String(err));
});

Deno.test("contract: InstancesV2 initializes 30 simulator devices with one paginated list", async () => {
  const api = await createTestApi({ seed: testSeed({ devices: devices(30, "worker") }) });
  const client = clientFor(api);
  const cache = new DeviceCache({ client, projectId: TEST_PROJECT_ID });
  const instances = new MetalInstances({ devices: cache, projectId: TEST_PROJECT_ID });
  const metas = await Promise.all(
    Array.from({ length: 30 }, (_, i) => instances.instanceMetadata({ metadata: { name: `worker-${i}` } })),
  );
  for (const meta of metas) {
    ok(meta.providerID.startsWith("equinixmetal://"));
    equal(meta.instanceType, "c3.small.x86");
    equal(meta.region, "sv");
    ok(meta.zone, "zone is the facility code");
    // Device addresses keep the API's order (the simulator, like Metal, lists the public IPv4 first).
    deepEqual(meta.nodeAddresses.map((a) => a.type).sort(), ["ExternalIP", "Hostname", "InternalIP"]);
    equal(meta.nodeAddresses[0]?.type, "Hostname");
  }
  equal(api.requestLog.list().length, 1, "one list call, no device GETs");

  const [first] = metas;
  ok(first);
  const node = { metadata: { name: "worker-0" }, spec: { providerID: first.providerID } };
  equal(await instances.instanceExists(node), true);
  equal(await instances.instanceShutdown(node), false);
  const id = first.providerID.slice("equinixmetal://".length);
  const res = await api.app.request(`/_fake/devices/${id}/state`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ state: "inactive" }),
  });
  equal(res.status, 200);
  cache.invalidate();
  equal(await instances.instanceShutdown(node), true);
  equal((await api.app.request(`/_fake/devices/${id}`, { method: "DELETE" })).status, 204);
  cache.invalidate();
  equal(await instances.instanceExists(node), false, "a deleted device is gone");
});
