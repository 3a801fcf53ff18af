import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { Registry } from "prom-client";
import { FakeClock, until } from "../../util/clock.ts";
import { TokenBucket } from "../../util/token_bucket.ts";
import {
  isDefinitelyNotFound,
  isInvalidWith,
  MetalForbiddenError,
  MetalInvalidError,
  MetalNotFoundError,
  MetalRateLimitedError,
  MetalResponseError,
  MetalTransientError,
  MetalUnauthorizedError,
} from "./errors.ts";
import { DEFAULT_METAL_BASE_URL, HttpMetalClient, type HttpMetalClientOptions } from "./http_client.ts";
import { METAL_API_METRIC_NAMES, MetalApiMetrics } from "./metrics.ts";
import { InstantClock, json, type StubFetch, stubFetch } from "./testing.ts";

const TOKEN = "s3cr3t-token-value";
const PROJECT = "9b6a3c59-1c7a-4b3c-9d35-4a3a6c2b7f10";
const DEVICE = "0f3c2f8e-3b86-4c8e-9a34-7d7a2b1f5c11";

function device(id: string, hostname = `host-${id}`) {
  return { id, hostname, state: "active", ip_addresses: [] };
}

function newClient(fetch: StubFetch, options: Partial<HttpMetalClientOptions> = {}) {
  const clock = options.clock ?? new InstantClock();
  return new HttpMetalClient({
    apiKey: TOKEN,
    baseUrl: "http://metal.test/metal/v1",
    version: "v1.2.3",
    fetch,
    clock,
    random: () => 0.5,
    rateLimiter: new TokenBucket({ qps: Infinity, burst: 1, clock }),
    ...options,
  });
}

function notFound() {
  return json({ errors: ["Not found"] }, { status: 404 });
}

Deno.test("HttpMetalClient sends the token, user agent and JSON headers to the configured base URL", async () => {
  const fetch = stubFetch(() => json({ id: "r1", type: "public_ipv4", address: "1.2.3.4" }, { status: 201 }));
  const client = newClient(fetch);
  await client.createIpReservation(PROJECT, { type: "public_ipv4", quantity: 1, metro: "sv", tags: ["a"] });
  const [request] = fetch.requests;
  ok(request);
  equal(request.url, `http://metal.test/metal/v1/projects/${PROJECT}/ips`);
  equal(request.method, "POST");
  equal(request.headers.get("X-Auth-Token"), TOKEN);
  equal(request.headers.get("User-Agent"), "cloud-provider-equinix-metal/v1.2.3 ccm");
  equal(request.headers.get("Accept"), "application/json");
  equal(request.headers.get("Content-Type"), "application/json");
  deepEqual(await request.json(), { type: "public_ipv4", quantity: 1, metro: "sv", tags: ["a"] });
});

Deno.test("HttpMetalClient defaults to the public Metal API base URL", async () => {
  const fetch = stubFetch(() => json(device(DEVICE)));
  const client = newClient(fetch, { baseUrl: undefined });
  equal(client.baseUrl, DEFAULT_METAL_BASE_URL);
  await client.getDevice(DEVICE, { include: ["ip_addresses.parent_block", "parent_block"] });
  equal(
    fetch.requests[0]?.url,
    `${DEFAULT_METAL_BASE_URL}/devices/${DEVICE}?include=ip_addresses.parent_block%2Cparent_block`,
  );
});

Deno.test("HttpMetalClient rejects an empty API key and an invalid base URL", () => {
  let err = catchSync(() => new HttpMetalClient({ apiKey: "" }));
  match(err.message, /API key is empty; set METAL_API_KEY/);
  err = catchSync(() => new HttpMetalClient({ apiKey: TOKEN, baseUrl: "not a url" }));
  match(err.message, /invalid base URL "not a url"/);
});

Deno.test("listDevices() follows meta.last_page through 3 pages with per_page", async () => {
  const pages = [[device("a"), device("b")], [device("c"), device("d")], [device("e")]];
  const fetch = stubFetch((request) => {
    const page = Number(new URL(request.url).searchParams.get("page"));
    return json({ devices: pages[page - 1], meta: { current_page: page, last_page: 3, total: 5 } });
  });
  const devices = await newClient(fetch).listDevices(PROJECT);
  deepEqual(devices.map((d) => d.id), ["a", "b", "c", "d", "e"]);
  equal(fetch.requests.length, 3);
  const params = fetch.requests.map((r) => new URL(r.url).searchParams);
  deepEqual(params.map((p) => p.get("page")), ["1", "2", "3"]);
  deepEqual(params.map((p) => p.get("per_page")), ["1000", "1000", "1000"]);
});

Deno.test("listDevices() follows meta.next when last_page is absent, and stops without meta", async () => {
  const fetch = stubFetch((request) => {
    const page = Number(new URL(request.url).searchParams.get("page"));
    const next = page < 3 ? { href: `/metal/v1/projects/${PROJECT}/devices?page=${page + 1}` } : null;
    return json({ devices: [device(`d${page}`)], meta: { next } });
  });
  deepEqual((await newClient(fetch).listDevices(PROJECT)).map((d) => d.id), ["d1", "d2", "d3"]);

  const single = stubFetch(() => json({ devices: [device("only")] }));
  deepEqual((await newClient(single).listDevices(PROJECT)).map((d) => d.id), ["only"]);
  equal(single.requests.length, 1);
});

Deno.test("listDevices() keeps one copy of a device that moved across a page boundary", async () => {
  const pages = [[device("a"), device("b")], [device("b"), device("c")]];
  const fetch = stubFetch((request) => {
    const page = Number(new URL(request.url).searchParams.get("page"));
    return json({ devices: pages[page - 1], meta: { current_page: page, last_page: 2 } });
  });
  deepEqual((await newClient(fetch).listDevices(PROJECT)).map((d) => d.id), ["a", "b", "c"]);
});

Deno.test("listDevices() fails instead of looping when the server ignores the page parameter", async () => {
  const fetch = stubFetch(() => json({ devices: [device("a")], meta: { current_page: 1, last_page: 3 } }));
  const err = await rejectsWith(newClient(fetch).listDevices(PROJECT), MetalResponseError);
  match(err.message, /asked for page 2 but got 'meta.current_page' 1/);
  equal(fetch.requests.length, 2);
});

Deno.test("listDevices() uses the configured per_page", async () => {
  const fetch = stubFetch(() => json({ devices: [] }));
  await newClient(fetch, { perPage: 250 }).listDevices(PROJECT);
  equal(new URL(fetch.requests[0]!.url).searchParams.get("per_page"), "250");
  match(catchSync(() => newClient(fetch, { perPage: 5000 })).message, /per-page size "5000"/);
});

Deno.test("a 429 is retried after the Retry-After delay and the call succeeds", async () => {
  const clock = new InstantClock();
  const registry = new Registry();
  const fetch = stubFetch((_, i) =>
    i === 0
      ? json({ errors: ["Too many requests"] }, { status: 429, headers: { "Retry-After": "2" } })
      : json(device(DEVICE))
  );
  const client = newClient(fetch, { clock, observer: new MetalApiMetrics(registry) });
  equal((await client.getDevice(DEVICE)).id, DEVICE);
  equal(fetch.requests.length, 2);
  deepEqual(clock.sleeps, [2000]);
  const metrics = await registry.metrics();
  match(metrics, /cloudprovider_equinixmetal_api_requests_total\{request="get_device",code="429"\} 1/);
  match(metrics, /cloudprovider_equinixmetal_api_requests_total\{request="get_device",code="200"\} 1/);
  match(
    metrics,
    /cloudprovider_equinixmetal_api_request_retries_total\{request="get_device",reason="429"\} 1/,
  );
  match(metrics, /cloudprovider_equinixmetal_api_rate_limit_wait_seconds_total\{request="get_device"\} 2/);
});

Deno.test("a 429 pauses every call of the client until Retry-After has passed", async () => {
  const clock = new FakeClock(1_000_000);
  const fetch = stubFetch((_, i) =>
    i === 0 ? json({}, { status: 429, headers: { "Retry-After": "5" } }) : json(device(DEVICE))
  );
  const client = newClient(fetch, { clock });
  const first = client.getDevice(DEVICE);
  await until(() => clock.pendingSleeps === 1);
  // Another controller's call made during the pause waits too instead of hitting the API.
  const second = client.getProject(PROJECT).catch(() => undefined);
  await until(() => clock.pendingSleeps === 2);
  equal(fetch.requests.length, 1);
  await clock.advance(4999);
  equal(fetch.requests.length, 1);
  await clock.advance(1);
  await Promise.all([first, second]);
  equal(fetch.requests.length, 3);
});

Deno.test("a call already waiting for the rate limiter also waits out a pause that began meanwhile", async () => {
  const clock = new FakeClock(1_000_000);
  const fetch = stubFetch((_, i) =>
    i === 0 ? json({}, { status: 429, headers: { "Retry-After": "3" } }) : json(device(DEVICE))
  );
  // One token per second: the second call waits 1 s for its token; the 429 arrives meanwhile.
  const rateLimiter = new TokenBucket({ qps: 1, burst: 1, clock });
  const client = newClient(fetch, { clock, rateLimiter });
  const first = client.getDevice(DEVICE);
  const second = client.getProject(PROJECT).catch(() => undefined);
  await until(() => fetch.requests.length === 1 && clock.pendingSleeps === 2);
  await clock.advance(1000); // the second call has its token, but the pause lasts until 3 s
  equal(fetch.requests.length, 1);
  await clock.advance(2000);
  await Promise.all([first, second]);
  equal(fetch.requests.length, 3);
});

Deno.test("a 5xx with Retry-After pauses every call, even when the failed call is not retried", async () => {
  const clock = new FakeClock(1_000_000);
  const fetch = stubFetch((request, i) =>
    i === 0 && request.method === "POST"
      ? json({ errors: ["down for maintenance"] }, { status: 503, headers: { "Retry-After": "2" } })
      : json(device(DEVICE))
  );
  const client = newClient(fetch, { clock });
  await rejectsWith(
    client.createIpReservation(PROJECT, { type: "public_ipv4", quantity: 1 }),
    MetalTransientError,
  );
  const read = client.getDevice(DEVICE);
  await until(() => clock.pendingSleeps === 1);
  equal(fetch.requests.length, 1, "the read waits for the server's delay");
  await clock.advance(2000);
  await read;
  equal(fetch.requests.length, 2);
});

Deno.test("a POST is retried on 429 because the API refuses it before doing anything", async () => {
  const fetch = stubFetch((_, i) =>
    i === 0 ? json({}, { status: 429 }) : json({ id: "r1", type: "public_ipv4" }, { status: 201 })
  );
  equal((await newClient(fetch).createIpReservation(PROJECT, { type: "public_ipv4", quantity: 1 })).id, "r1");
  equal(fetch.requests.length, 2);
});

Deno.test("a Retry-After longer than maxRetryAfterMs fails at once with the delay to use", async () => {
  const fetch = stubFetch(() => json({}, { status: 429, headers: { "Retry-After": "600" } }));
  const err = await rejectsWith(newClient(fetch).getDevice(DEVICE), MetalRateLimitedError);
  equal(err.retryAfterMs, 600_000);
  equal(fetch.requests.length, 1);
  ok(!isDefinitelyNotFound(err));
});

Deno.test("persistent 429s give MetalRateLimitedError after maxRetries", async () => {
  const fetch = stubFetch(() => json({}, { status: 429, headers: { "Retry-After": "1" } }));
  const err = await rejectsWith(
    newClient(fetch, { retry: { maxRetries: 2 } }).getDevice(DEVICE),
    MetalRateLimitedError,
  );
  equal(err.retryAfterMs, 1000);
  equal(err.status, 429);
  equal(fetch.requests.length, 3);
});

Deno.test("4xx answers are not retried and map to typed errors", async (t) => {
  const cases = [
    { status: 400, type: MetalResponseError },
    { status: 401, type: MetalUnauthorizedError },
    { status: 403, type: MetalForbiddenError },
    { status: 404, type: MetalNotFoundError },
    { status: 409, type: MetalResponseError },
    { status: 422, type: MetalInvalidError },
  ];
  for (const { status, type } of cases) {
    await t.step(`${status} → ${type.name}`, async () => {
      const fetch = stubFetch(() => json({ errors: ["nope"], error: "really" }, { status }));
      const err = await rejectsWith(newClient(fetch).getDevice(DEVICE), type);
      equal(fetch.requests.length, 1);
      equal(err.status, status);
      deepEqual(err.serverMessages, ["nope", "really"]);
      equal(isDefinitelyNotFound(err), status === 404);
    });
  }
});

Deno.test("error messages name the operation, request, status and server messages but never the token", async () => {
  const fetch = stubFetch(() => json({ errors: ["Device already has session"] }, { status: 422 }));
  const err = await rejectsWith(newClient(fetch).createBgpSession(DEVICE, "ipv4"), MetalInvalidError);
  equal(
    err.message,
    `Metal API request 'create_bgp_session' (POST /devices/${DEVICE}/bgp/sessions) failed: 422 Unprocessable ` +
      "Entity: Device already has session",
  );
  ok(isInvalidWith(err, "already has session"));
  ok(!err.message.includes(TOKEN));
});

Deno.test("5xx answers are retried with backoff and the call succeeds", async () => {
  const clock = new InstantClock();
  const fetch = stubFetch((_, i) => i < 2 ? json({}, { status: i === 0 ? 503 : 500 }) : json(device(DEVICE)));
  equal((await newClient(fetch, { clock }).getDevice(DEVICE)).id, DEVICE);
  equal(fetch.requests.length, 3);
  // random() = 0.5 → three quarters of 250 ms, then of 500 ms
  deepEqual(clock.sleeps, [188, 375]);
});

Deno.test("persistent 5xx answers give MetalTransientError after maxRetries", async () => {
  const fetch = stubFetch(() => new Response("upstream broke", { status: 502 }));
  const err = await rejectsWith(
    newClient(fetch, { retry: { maxRetries: 3 } }).getDevice(DEVICE),
    MetalTransientError,
  );
  equal(err.kind, "server");
  equal(fetch.requests.length, 4);
  ok(!isDefinitelyNotFound(err));
});

Deno.test("a POST that is not safe to repeat is not retried on 5xx", async () => {
  const fetch = stubFetch(() => json({}, { status: 503 }));
  await rejectsWith(
    newClient(fetch).createIpReservation(PROJECT, { type: "public_ipv4", quantity: 1 }),
    MetalTransientError,
  );
  await rejectsWith(newClient(fetch).assignIp(DEVICE, "1.2.3.4"), MetalTransientError);
  equal(fetch.requests.length, 2);
});

Deno.test("connection errors are retried and then reported as transient", async () => {
  // A port that was open a moment ago and is now closed: connections are refused.
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response());
  const { port } = server.addr;
  await server.shutdown();
  const client = new HttpMetalClient({
    apiKey: TOKEN,
    baseUrl: `http://127.0.0.1:${port}/metal/v1`,
    clock: new InstantClock(),
    retry: { maxRetries: 1 },
  });
  const err = await rejectsWith(client.getDevice(DEVICE), MetalTransientError);
  equal(err.kind, "network");
  match(err.message, /connection failed/);
});

Deno.test("a request without an answer within timeoutMs is retried and then reported as a timeout", async () => {
  const fetch = stubFetch((request) =>
    new Promise<Response>((_, reject) =>
      request.signal.addEventListener("abort", () => reject(request.signal.reason))
    )
  );
  const err = await rejectsWith(
    newClient(fetch, { timeoutMs: 20, retry: { maxRetries: 1 } }).getDevice(DEVICE),
    MetalTransientError,
  );
  equal(err.kind, "timeout");
  match(err.message, /no answer within 20 ms/);
  equal(fetch.requests.length, 2);
});

Deno.test("a request against a real local server times out when the server stalls", async () => {
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    await release.promise;
    return json(device(DEVICE));
  });
  try {
    const client = new HttpMetalClient({
      apiKey: TOKEN,
      baseUrl: `http://127.0.0.1:${server.addr.port}/metal/v1`,
      timeoutMs: 50,
      retry: { maxRetries: 0 },
    });
    const err = await rejectsWith(client.getDevice(DEVICE), MetalTransientError);
    equal(err.kind, "timeout");
  } finally {
    release.resolve();
    await server.shutdown();
  }
});

Deno.test("a caller's abort stops the call without retrying", async () => {
  const controller = new AbortController();
  const fetch = stubFetch(() => {
    controller.abort(new Error("shutting down"));
    return Promise.reject(new DOMException("aborted", "AbortError"));
  });
  await rejects(newClient(fetch).getDevice(DEVICE, { signal: controller.signal }), /shutting down/);
  equal(fetch.requests.length, 1);
});

Deno.test("a malformed answer is a MetalResponseError, not a crash", async (t) => {
  const cases: [string, () => Response, RegExp][] = [
    ["not JSON", () => new Response("<html>oops</html>", { status: 200 }), /not JSON/],
    ["device without id", () => json({ hostname: "x" }), /id: /],
    ["wrong type", () => json({ id: DEVICE, ip_addresses: "none" }), /ip_addresses: /],
    ["list not a list", () => json({ devices: { a: 1 } }), /'devices' is not a list/],
  ];
  for (const [name, answer, message] of cases) {
    await t.step(name, async () => {
      const client = newClient(stubFetch(answer));
      const call = name.startsWith("list") ? client.listDevices(PROJECT) : client.getDevice(DEVICE);
      match((await rejectsWith(call, MetalResponseError)).message, message);
    });
  }
});

Deno.test("getDevice() reads the fields the CCM uses and tolerates nulls and unknown keys", async () => {
  const fetch = stubFetch(() =>
    json({
      id: DEVICE,
      hostname: "node-1",
      state: "inactive",
      root_password: "hunter2",
      plan: { slug: "m3.large.x86", name: "m3" },
      metro: { code: "da" },
      facility: { code: "da11", metro: null },
      ip_addresses: [
        {
          address: "10.0.0.2",
          address_family: 4,
          public: false,
          management: true,
          parent_block: { network: "10.0.0.0", cidr: 25 },
        },
        { address: "147.75.1.2", address_family: 4, public: true, management: true },
      ],
      tags: null,
    })
  );
  const got = await newClient(fetch).getDevice(DEVICE);
  equal(got.state, "inactive");
  equal(got.plan?.slug, "m3.large.x86");
  equal(got.metro?.code, "da");
  equal(got.facility?.code, "da11");
  deepEqual(got.tags, []);
  equal(got.ipAddresses[0]?.parentBlock?.cidr, 25);
  equal(got.ipAddresses[1]?.public, true);
  ok(!("root_password" in got), "unknown fields such as root_password are dropped");
});

Deno.test("listIpReservations() sends types and include, reads every page and skips VRF blocks", async () => {
  const fetch = stubFetch((request) => {
    const page = Number(new URL(request.url).searchParams.get("page"));
    const items = page === 1
      ? [{
        id: "r1",
        type: "public_ipv4",
        address: "1.1.1.1",
        tags: ["a"],
        assignments: [{ id: "as1", address: "1.1.1.1" }],
      }]
      : [{ id: "v1", type: "vrf", vrf: { id: "x" }, network: "10.0.0.0" }, { id: "r2", type: "public_ipv4" }];
    return json({ ip_addresses: items, meta: { current_page: page, last_page: 2 } });
  });
  const got = await newClient(fetch).listIpReservations(PROJECT, {
    types: ["public_ipv4", "global_ipv4"],
    includeAssignments: true,
  });
  deepEqual(got.map((r) => r.id), ["r1", "r2"]);
  equal(got[0]?.assignments[0]?.id, "as1");
  const params = new URL(fetch.requests[0]!.url).searchParams;
  deepEqual(params.getAll("types"), ["public_ipv4", "global_ipv4"]);
  equal(params.get("include"), "assignments");
});

Deno.test("getIpReservation() rejects an id that names an assignment", async () => {
  const fetch = stubFetch(() => json({ id: "as1", address: "1.1.1.1", type: "IPAssignment" }));
  match(
    (await rejectsWith(newClient(fetch).getIpReservation("as1"), MetalResponseError)).message,
    /not an IP reservation/,
  );
});

Deno.test("IP reservation update, delete, assign and unassign use the documented requests", async () => {
  const fetch = stubFetch((request) => {
    if (request.method === "DELETE") return new Response(null, { status: 204 });
    if (request.method === "POST") return json({ id: "as1", address: "1.1.1.1" }, { status: 201 });
    return json({ id: "r1", type: "public_ipv4", tags: ["x"] });
  });
  const client = newClient(fetch);
  deepEqual((await client.updateIpReservation("r1", { tags: ["x"] })).tags, ["x"]);
  await client.deleteIpReservation("r1");
  equal((await client.assignIp(DEVICE, "1.1.1.1")).id, "as1");
  await client.unassignIp("as1");
  deepEqual(fetch.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`), [
    "PATCH /metal/v1/ips/r1",
    "DELETE /metal/v1/ips/r1",
    `POST /metal/v1/devices/${DEVICE}/ips`,
    "DELETE /metal/v1/ips/as1",
  ]);
  deepEqual(await fetch.requests[0]!.json(), { tags: ["x"] });
});

Deno.test("BGP calls use the documented paths and bodies", async () => {
  const fetch = stubFetch((request) => {
    const path = new URL(request.url).pathname;
    if (path.endsWith("/bgp-config")) return json({});
    if (path.endsWith("/bgp-configs")) return new Response(null, { status: 204 });
    if (path.endsWith("/neighbors")) {
      return json({
        bgp_neighbors: [{
          address_family: 4,
          customer_as: 65000,
          peer_as: 65530,
          peer_ips: ["169.254.255.1"],
        }],
      });
    }
    if (request.method === "POST") {
      return json({ id: "s1", address_family: "ipv4", status: "unknown" }, { status: 201 });
    }
    return json({ bgp_sessions: [{ id: "s1", address_family: "ipv4", status: "up" }] });
  });
  const client = newClient(fetch);
  const config = await client.getBgpConfig(PROJECT);
  equal(config.id, undefined);
  await client.createBgpConfig(PROJECT, {
    asn: 65000,
    deploymentType: "local",
    md5: "",
    useCase: "kubernetes-load-balancer",
  });
  equal((await client.createBgpSession(DEVICE, "ipv4")).id, "s1");
  equal((await client.listBgpSessions(DEVICE))[0]?.status, "up");
  deepEqual((await client.getBgpNeighbors(DEVICE))[0]?.peerIps, ["169.254.255.1"]);
  deepEqual(await fetch.requests[1]!.json(), {
    asn: 65000,
    deployment_type: "local",
    use_case: "kubernetes-load-balancer",
  });
  deepEqual(await fetch.requests[2]!.json(), { address_family: "ipv4" });
});

Deno.test("getProject() reads the project", async () => {
  const fetch = stubFetch(() => json({ id: PROJECT, name: "demo" }));
  deepEqual(await newClient(fetch).getProject(PROJECT), {
    id: PROJECT,
    name: "demo",
    bgpConfigHref: undefined,
  });
  equal(new URL(fetch.requests[0]!.url).pathname, `/metal/v1/projects/${PROJECT}`);
});

Deno.test("beforeWrite runs before every write attempt only; a throw fails the write unsent and unretried", async () => {
  const fetch = stubFetch((request) =>
    request.method === "GET"
      ? json({ id: DEVICE, hostname: "h", state: "active" })
      : json({ id: "r1", type: "public_ipv4", address: "1.2.3.4" }, { status: 201 })
  );
  let fenced = false;
  let checks = 0;
  const client = newClient(fetch, {
    beforeWrite() {
      checks++;
      if (fenced) throw new Error("Not writing: this replica may no longer hold the leader lease");
    },
  });
  await client.getDevice(DEVICE);
  await client.createIpReservation(PROJECT, { type: "public_ipv4", quantity: 1, metro: "sv" });
  equal(checks, 1, "reads are not fenced");
  fenced = true;
  await rejects(client.deleteIpReservation("r1"), /no longer hold the leader lease/);
  await client.getDevice(DEVICE);
  equal(checks, 2, "the refused delete was checked once, not retried");
  deepEqual(fetch.requests.map((r) => r.method), ["GET", "POST", "GET"]);
});

Deno.test("the shared rate limiter spaces requests of every caller", async () => {
  const clock = new InstantClock();
  const registry = new Registry();
  const limiter = new TokenBucket({ qps: 2, burst: 1, clock });
  const fetch = stubFetch(() => json(device(DEVICE)));
  const client = newClient(fetch, { clock, rateLimiter: limiter, observer: new MetalApiMetrics(registry) });
  await client.getDevice(DEVICE);
  await client.getProject(PROJECT).catch(() => {});
  await client.getDevice(DEVICE);
  deepEqual(clock.sleeps, [500, 500]);
  const metrics = await registry.metrics();
  match(metrics, /cloudprovider_equinixmetal_api_rate_limit_waits_total\{request="get_device"\} 1/);
  match(metrics, /cloudprovider_equinixmetal_api_rate_limit_waits_total\{request="get_project"\} 1/);
});

Deno.test("MetalApiMetrics can be built twice on one registry and counts final failures", async () => {
  const registry = new Registry();
  new MetalApiMetrics(registry);
  const fetch = stubFetch(() => notFound());
  await rejects(newClient(fetch, { observer: new MetalApiMetrics(registry) }).getDevice(DEVICE));
  const metrics = await registry.metrics();
  match(
    metrics,
    new RegExp(`${METAL_API_METRIC_NAMES.errors}\\{request="get_device",error="MetalNotFoundError"\\} 1`),
  );
  match(metrics, new RegExp(`${METAL_API_METRIC_NAMES.duration}_count\\{request="get_device"\\} 1`));
});

Deno.test("every request is logged at trace level without the token", async () => {
  const records: LogRecord[] = [];
  await configure({
    sinks: { memory: (record) => records.push(record) },
    loggers: [
      { category: ["ccm"], lowestLevel: "trace", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
    reset: true,
  });
  try {
    const fetch = stubFetch((_, i) => i === 0 ? json({}, { status: 503 }) : notFound());
    await rejects(newClient(fetch).getDevice(DEVICE));
  } finally {
    await reset();
  }
  const traces = records.filter((r) => r.level === "trace");
  equal(traces.length, 2);
  deepEqual(traces.map((r) => r.properties.status), [503, 404]);
  equal(traces[0]?.properties.path, `/devices/${DEVICE}`);
  ok(
    records.some((r) => r.level === "debug" && r.properties.reason === "503"),
    "retries are logged at debug",
  );
  ok(!JSON.stringify(records.map((r) => [r.message, r.properties])).includes(TOKEN));
});

function catchSync(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("Expected an error");
}

async function rejectsWith<T extends Error>(
  promise: Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => T,
): Promise<T> {
  try {
    await promise;
  } catch (err) {
    ok(
      err instanceof type,
      `expected ${type.name}, got ${err instanceof Error ? `${err.name}: ${err.message}` : err}`,
    );
    return err;
  }
  throw new Error(`Expected a rejection with ${type.name}`);
}

Deno.test("a background call waits at the shared rate limiter behind normal calls made after it", async () => {
  const clock = new FakeClock(1_000_000);
  const fetch = stubFetch((request) =>
    new URL(request.url).pathname.endsWith("/neighbors") ? json({ bgp_neighbors: [] }) : json(device(DEVICE))
  );
  const rateLimiter = new TokenBucket({ qps: 1, burst: 1, clock });
  const client = newClient(fetch, { clock, rateLimiter });
  await client.getDevice(DEVICE); // takes the only token
  const background = client.getBgpNeighbors(DEVICE, { priority: "background" });
  const normal = client.getDevice(DEVICE);
  await until(() => clock.pendingSleeps === 2 && rateLimiter.backgroundWaiting() === 1);
  await clock.advance(1000);
  await normal;
  equal(fetch.requests.length, 2);
  equal(new URL(fetch.requests[1]!.url).pathname, `/metal/v1/devices/${DEVICE}`);
  await clock.advance(1000);
  await background;
  equal(new URL(fetch.requests[2]!.url).pathname, `/metal/v1/devices/${DEVICE}/bgp/neighbors`);
});
