import assert from "node:assert/strict";
import { serviceTags } from "../metal/loadbalancers/tags.ts";
import { CONSOLE_COOKIE, decodeTags, PAGE_SIZE } from "./console.ts";
import {
  createLoadBalancer,
  createOrigin,
  createPool,
  createPort,
  LBAAS_PROVIDER_ID,
} from "./domain/lbaas.ts";
import { serveFakeApi } from "./serve.ts";
import { createTestApi, TEST_PROJECT_ID, type TestApi, testSeed } from "./testing.ts";

const P = `/metal/v1/projects/${TEST_PROJECT_ID}`;
const TOKEN = "console-admin-token-0123456789";
const CONSOLE_CALL = { "content-type": "application/json", "x-requested-by": "ccm-console" };

// deno-lint-ignore no-explicit-any
async function state(api: TestApi, query = "", headers: Record<string, string> = {}): Promise<any> {
  const res = await api.app.request(`/console/api/state${query}`, { headers });
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return await res.json();
}

Deno.test("console state: devices with addresses, tags and BGP sessions; reservations with decoded tags", async () => {
  const api = await createTestApi();
  const dev = (await api.call("POST", `${P}/devices`, {
    body: {
      hostname: "node-1",
      metro: "sv",
      plan: "c3.small.x86",
      operating_system: "ubuntu_24_04",
      tags: ["k8s"],
    },
  })).body;
  assert.equal(
    (await api.call("POST", `${P}/bgp-configs`, {
      body: { asn: 65000, md5: "", deployment_type: "local", use_case: "kubernetes-load-balancer" },
    })).status,
    204,
  );
  assert.equal(
    (await api.call("POST", `/metal/v1/devices/${dev.id}/bgp/sessions`, { body: { address_family: "ipv4" } }))
      .status,
    201,
  );
  const tags = serviceTags("default", "nginx", "cluster-uid-1");
  const eip = (await api.call("POST", `${P}/ips`, {
    body: { type: "public_ipv4", quantity: 1, metro: "sv", tags: [...tags, "extra"] },
  })).body;
  const assigned =
    (await api.call("POST", `/metal/v1/devices/${dev.id}/ips`, { body: { address: eip.address } }))
      .body;
  await api.call("PUT", `/_fake/faults`, { body: { rateLimit: 100 } });
  await api.call("POST", `/_fake/faults/scripted`, {
    body: { path: "/metal/v1/nothing", status: 503, count: 2 },
  });

  const s = await state(api);
  assert.deepEqual(s.projects.map((p: { name: string }) => p.name), ["test-project", "other-project"]);
  assert.equal(s.projects[0].bgpConfig.asn, 65000);
  assert.equal(s.projects[0].bgpConfig.status, "enabled");
  assert.equal(s.projects[1].bgpConfig, null);
  assert.equal(s.devices.total, 1);
  const d = s.devices.items[0];
  assert.deepEqual(
    [d.id, d.hostname, d.state, d.plan, d.metro, d.facility, d.tags],
    [dev.id, "node-1", "active", "c3.small.x86", "sv", dev.facility.code, ["k8s"]],
  );
  const apiAddresses = (await api.call("GET", `/metal/v1/devices/${dev.id}`)).body.ip_addresses
    .map((a: { address: string }) => a.address);
  assert.deepEqual(d.addresses.map((a: { address: string }) => a.address), apiAddresses);
  const elastic = d.addresses.find((a: { id: string }) => a.id === assigned.id);
  assert.deepEqual([elastic.address, elastic.management, elastic.reservationId], [
    eip.address,
    false,
    eip.id,
  ]);
  assert.deepEqual(
    d.bgpSessions.map((b: { addressFamily: string; status: string }) => [b.addressFamily, b.status]),
    [
      ["ipv4", "up"],
    ],
  );

  // Only user reservations by default; the device's management blocks with ips_all.
  assert.equal(s.reservations.matched, 1);
  const r = s.reservations.items[0];
  assert.equal(r.id, eip.id);
  assert.deepEqual(r.decodedTags, {
    usage: "cloud-provider-equinix-metal-auto",
    service: tags[1]!.slice("service=".length),
    cluster: "cluster-uid-1",
    other: ["extra"],
  });
  assert.deepEqual(r.assignments, [
    { id: assigned.id, address: eip.address, cidr: 32, deviceId: dev.id, hostname: "node-1" },
  ]);
  const all = await state(api, "?ips_all=1");
  assert.equal(all.reservations.matched, api.store.reservations.size);
  assert.ok(all.reservations.matched > 1);

  assert.equal(s.summary.devices, 1);
  assert.deepEqual(s.summary.devicesByState, { active: 1 });
  assert.equal(s.summary.userReservations, 1);
  assert.deepEqual([s.summary.bgpSessions, s.summary.bgpSessionsUp], [1, 1]);
  assert.deepEqual(s.faults, {
    latencyMs: 0,
    errorRate: 0,
    rateLimit: 100,
    scripted: [{ path: "/metal/v1/nothing", status: 503, count: 2 }],
  });
});

Deno.test("console state: load balancers with ports, pools and origins", async () => {
  const api = await createTestApi();
  const lb = createLoadBalancer(api.store, TEST_PROJECT_ID, {
    name: "svc-lb",
    locationId: "lctnloc-H5rl2M2VL5dcFmdxhbEKx",
    providerId: LBAAS_PROVIDER_ID,
    portIds: null,
  });
  const pool = createPool(api.store, TEST_PROJECT_ID, { name: "pool-a", protocol: "tcp" });
  createPort(api.store, lb, { name: "http", number: 80, poolIds: [pool.id] });
  createOrigin(api.store, pool, {
    name: "node-1",
    target: "10.0.0.5",
    portNumber: 30080,
    active: true,
    poolId: pool.id,
  });
  await api.store.commit();
  const s = await state(api);
  assert.equal(s.loadBalancers.length, 1);
  const got = s.loadBalancers[0];
  assert.deepEqual([got.id, got.name, got.metro, got.ips], [lb.id, "svc-lb", "sv", lb.ips]);
  assert.deepEqual(got.ports.map((p: { name: string; number: number }) => [p.name, p.number]), [[
    "http",
    80,
  ]]);
  const pools = got.ports[0].pools;
  assert.deepEqual(pools.map((p: { name: string; protocol: string }) => [p.name, p.protocol]), [[
    "pool-a",
    "tcp",
  ]]);
  assert.deepEqual(
    pools[0].origins.map((o: { target: string; portNumber: number }) => [o.target, o.portNumber]),
    [
      ["10.0.0.5", 30080],
    ],
  );
});

Deno.test("console state: devices are paged 100 at a time and filtered", async () => {
  const devices = Array.from({ length: 250 }, (_, i) => ({
    project_id: TEST_PROJECT_ID,
    hostname: `node-${i}`,
    tags: i % 50 === 0 ? ["special"] : [],
  }));
  const api = await createTestApi({ seed: testSeed({ devices }) });
  const first = await state(api);
  assert.deepEqual([first.devices.total, first.devices.matched, first.devices.pages], [250, 250, 3]);
  assert.equal(first.devices.items.length, PAGE_SIZE);
  assert.equal(first.devices.items[0].hostname, "node-0");
  const third = await state(api, "?page=3");
  assert.equal(third.devices.items.length, 50);
  assert.equal(third.devices.items[0].hostname, "node-200");
  const beyond = await state(api, "?page=99");
  assert.equal(beyond.devices.page, 3, "a page past the end shows the last page");
  const bad = await state(api, "?page=-1&ips_page=x");
  assert.equal(bad.devices.page, 1, "a bad page number shows the first page");
  const filtered = await state(api, "?q=SPECIAL");
  assert.deepEqual(filtered.devices.items.map((d: { hostname: string }) => d.hostname), [
    "node-0",
    "node-50",
    "node-100",
    "node-150",
    "node-200",
  ]);
  const byName = await state(api, "?q=node-249");
  assert.deepEqual(byName.devices.items.map((d: { hostname: string }) => d.hostname), ["node-249"]);
});

Deno.test("console state: a due power transition shows without a commit", async () => {
  const api = await createTestApi({ powerDelayMs: 2000 });
  const dev =
    (await api.call("POST", `/_fake/projects/${TEST_PROJECT_ID}/devices`, { body: { hostname: "n1" } }))
      .body;
  await api.call("POST", `/metal/v1/devices/${dev.id}/actions`, { body: { type: "power_off" } });
  assert.equal((await state(api)).devices.items[0].state, "powering_off");
  await api.clock.advance(2000);
  assert.equal((await state(api)).devices.items[0].state, "inactive");
});

Deno.test("decodeTags splits ccm's usage=, service= and cluster= tags from the rest", () => {
  assert.deepEqual(decodeTags(["usage=x", "service=a=b", "cluster=c", "eip", "usage=second"]), {
    usage: "x",
    service: "a=b",
    cluster: "c",
    other: ["eip", "usage=second"],
  });
  assert.deepEqual(decodeTags([]), { other: [] });
});

Deno.test("console page: static files with their content types; /console redirects to /console/", async () => {
  const api = await createTestApi();
  const redirect = await api.app.request("/console?services=default/nginx");
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.get("location"), "/console/?services=default/nginx");
  const files: [path: string, type: string, marker: string][] = [
    ["/console/", "text/html", '<script type="module" src="app.js">'],
    ["/console/app.js", "text/javascript", "new EventSource("],
    ["/console/style.css", "text/css", ":root"],
  ];
  for (const [path, type, marker] of files) {
    const res = await api.app.request(path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get("content-type") ?? "", new RegExp(`^${type}`), path);
    assert.ok((await res.text()).includes(marker), path);
  }
  const missing = await api.app.request("/console/nope.js");
  assert.equal(missing.status, 404);
  assert.match((await missing.json()).errors[0], /no file "nope.js"/);
});

Deno.test("console admin proxy: needs the console header to change state; console calls stay out of the log", async () => {
  const api = await createTestApi();
  const dev =
    (await api.call("POST", `/_fake/projects/${TEST_PROJECT_ID}/devices`, { body: { hostname: "n1" } }))
      .body;
  const body = JSON.stringify({ state: "inactive" });
  const forged = await api.app.request(`/console/api/admin/devices/${dev.id}/state`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body,
  });
  assert.equal(forged.status, 403);
  assert.match((await forged.json()).errors[0], /x-requested-by: ccm-console/);
  assert.equal(api.store.devices.get(dev.id)!.state, "active");
  const ok = await api.app.request(`/console/api/admin/devices/${dev.id}/state`, {
    method: "PUT",
    headers: CONSOLE_CALL,
    body,
  });
  assert.equal(ok.status, 200);
  assert.equal((await api.call("GET", `/metal/v1/devices/${dev.id}`)).body.state, "inactive");
  const faults = await api.app.request("/console/api/admin/faults");
  assert.equal((await faults.json()).errorRate, 0);
  await state(api);
  const logged = api.requestLog.list().map((e) => e.path);
  assert.deepEqual(logged, [`/metal/v1/devices/${dev.id}`]);
});

Deno.test("console with an admin token: ?token= once sets a cookie; Bearer works; others get 401", async () => {
  const api = await createTestApi({ adminToken: TOKEN });
  for (
    const path of ["/console", "/console/", "/console/app.js", "/console/api/state", "/console/api/stream"]
  ) {
    const res = await api.app.request(path);
    assert.equal(res.status, 401, path);
    const text = await res.text();
    assert.match(JSON.parse(text).errors[0], /^Missing admin token: .*\/console\/\?token=<token>/, path);
    assert.ok(!text.includes(TOKEN));
  }
  const wrong = await api.app.request("/console/?token=wrong-token");
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get("set-cookie"), null);

  const login = await api.app.request(`/console/?token=${TOKEN}&services=default/nginx`);
  assert.equal(login.status, 303);
  assert.equal(
    login.headers.get("location"),
    "/console/?services=default%2Fnginx",
    "the token leaves the URL",
  );
  const cookie = login.headers.get("set-cookie") ?? "";
  assert.match(cookie, new RegExp(`^${CONSOLE_COOKIE}=`));
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const jar = cookie.split(";")[0]!;
  assert.equal((await api.app.request("/console/", { headers: { cookie: jar } })).status, 200);
  assert.equal((await state(api, "", { cookie: jar })).devices.total, 0);
  assert.equal((await state(api, "", { authorization: `Bearer ${TOKEN}` })).devices.total, 0);
  const badCookie = await api.app.request("/console/", { headers: { cookie: `${CONSOLE_COOKIE}=nope` } });
  assert.equal(badCookie.status, 401);
  const badBearer = await api.app.request("/console/", { headers: { authorization: "Bearer nope" } });
  assert.equal(badBearer.status, 401);
  assert.match((await badBearer.json()).errors[0], /^Wrong admin token/);
  // The console's admin calls ride on the cookie; /_fake itself still wants the Bearer header.
  const proxied = await api.app.request("/console/api/admin/stats", { headers: { cookie: jar } });
  assert.equal(proxied.status, 200);
  assert.equal((await api.app.request("/_fake/stats", { headers: { cookie: jar } })).status, 401);
});

/** Reads Server-Sent Events from a response body. */
function sseReader(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next(): Promise<{ event: string; data: string }> {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
          const data = [...block.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join("\n");
          return { event, data };
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buffer += value;
      }
    },
    cancel: () => reader.cancel(),
  };
}

Deno.test("console stream: hello, the request-log backlog, then 'changed' and new requests as they happen", async () => {
  const api = await createTestApi();
  await api.call("GET", `${P}/devices`);
  const ctl = new AbortController();
  const res = await api.app.request("/console/api/stream", { signal: ctl.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const sse = sseReader(res);
  try {
    assert.equal((await sse.next()).event, "hello");
    const backlog = await sse.next();
    assert.equal(backlog.event, "requests");
    assert.deepEqual(JSON.parse(backlog.data).map((e: { path: string }) => e.path), [`${P}/devices`]);

    const started = performance.now();
    await api.call("POST", `${P}/devices`, {
      body: { hostname: "new-node", metro: "sv", plan: "c3.small.x86", operating_system: "ubuntu_24_04" },
    });
    const seen = new Set<string>();
    while (!(seen.has("changed") && seen.has("requests"))) {
      const e = await sse.next();
      seen.add(e.event);
      if (e.event === "requests") {
        const entries = JSON.parse(e.data);
        assert.deepEqual(entries.map((x: { method: string; status: number }) => [x.method, x.status]), [
          ["POST", 201],
        ]);
        assert.ok(entries[0].userAgent !== undefined && entries[0].durationMs >= 0);
      }
    }
    assert.ok(performance.now() - started < 2000, "events arrive within 2 s");
    // Fault settings are not store changes, but the page shows them.
    await api.call("PUT", "/_fake/faults", { body: { errorRate: 0.5 } });
    assert.equal((await sse.next()).event, "changed");
  } finally {
    await sse.cancel();
    ctl.abort();
  }
});

Deno.test("console bad input: clear 4xx (or a fallback page), never a 5xx, no state change", async () => {
  const api = await createTestApi();
  const dev =
    (await api.call("POST", `/_fake/projects/${TEST_PROJECT_ID}/devices`, { body: { hostname: "n1" } }))
      .body;
  const before = JSON.stringify(api.store.snapshot());
  const cases: { method: string; path: string; body?: string; status: number; message?: RegExp }[] = [
    {
      method: "PUT",
      path: "/console/api/admin/devices/not-a-uuid/state",
      body: "{}",
      status: 404,
      message: /ids are UUIDs/,
    },
    { method: "PUT", path: `/console/api/admin/devices/${dev.id}/state`, body: '{"state":', status: 400 },
    {
      method: "PUT",
      path: `/console/api/admin/devices/${dev.id}/state`,
      body: '{"state":"bogus"}',
      status: 422,
      message: /state/,
    },
    {
      method: "PUT",
      path: "/console/api/admin/faults",
      body: '{"errorRate":2}',
      status: 422,
      message: /errorRate/,
    },
    { method: "GET", path: "/console/api/admin/nope", status: 404, message: /Not found/ },
    { method: "POST", path: "/console/api/state", status: 404, message: /Not found/ },
    { method: "GET", path: "/console/app.exe", status: 404, message: /Not found/ },
  ];
  for (const c of cases) {
    const res = await api.app.request(c.path, { method: c.method, headers: CONSOLE_CALL, body: c.body });
    const text = await res.text();
    assert.ok(res.status < 500, `${c.method} ${c.path}: ${res.status} ${text}`);
    assert.equal(res.status, c.status, `${c.method} ${c.path}: ${text}`);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    if (c.message) assert.match(JSON.parse(text).errors.join(" "), c.message, `${c.method} ${c.path}`);
  }
  for (const query of ["?page=abc", "?page=1e9", "?q=%ZZ", "?ips_page=0&ips_all=maybe", "?page=2.5"]) {
    const res = await api.app.request(`/console/api/state${query}`);
    assert.equal(res.status, 200, `${query}: ${await res.clone().text()}`);
    assert.equal((await res.json()).devices.page, 1, query);
  }
  assert.equal(JSON.stringify(api.store.snapshot()), before);
});

Deno.test("a served simulator shuts down promptly while a console event stream is open", async () => {
  const server = await serveFakeApi({ port: 0, seed: testSeed() });
  const res = await fetch(`${server.url}/console/api/stream`);
  const sse = sseReader(res);
  try {
    assert.equal((await sse.next()).event, "hello");
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("shutdown() still waits for the event stream")), 3000);
    });
    try {
      await Promise.race([server.shutdown().then(() => server.finished), stuck]);
    } finally {
      clearTimeout(timer);
    }
    assert.ok(
      performance.now() - started < 2000,
      `shutdown took ${Math.round(performance.now() - started)} ms`,
    );
    await assert.rejects(async () => {
      for (;;) await sse.next();
    }, /stream ended/);
  } finally {
    await sse.cancel().catch(() => {});
  }
});

Deno.test("both places that compile ccm embed the console's files (--include fake_api/console)", async () => {
  for (const file of [".ci/build.sh", "Dockerfile"]) {
    const text = await Deno.readTextFile(new URL(`../${file}`, import.meta.url));
    const compile = text.match(/deno"? compile --allow-all(?:[^\n\\]|\\\n)*/)?.[0] ?? "";
    assert.match(compile, /--include fake_api\/console\b/, `${file}: ${compile}`);
  }
});
