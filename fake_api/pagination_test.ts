import assert from "node:assert/strict";
import { DEVICE_PAGES, paginate, parsePageRequest } from "./pagination.ts";
import { ApiError } from "./api_error.ts";
import { createTestApi, TEST_PROJECT_ID } from "./testing.ts";

const items = Array.from({ length: 25 }, (_, i) => i);

Deno.test("paginate: first, middle and last page arithmetic", () => {
  const q = new URLSearchParams("include=x");
  const first = paginate(items, { page: 1, perPage: 10 }, "/projects/p/devices", q);
  assert.deepEqual(first.items, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(first.meta, {
    first: { href: "/projects/p/devices?include=x&page=1&per_page=10" },
    last: { href: "/projects/p/devices?include=x&page=3&per_page=10" },
    self: { href: "/projects/p/devices?include=x&page=1&per_page=10" },
    next: { href: "/projects/p/devices?include=x&page=2&per_page=10" },
    total: 25,
    current_page: 1,
    last_page: 3,
  });
  const mid = paginate(items, { page: 2, perPage: 10 }, "/x", new URLSearchParams());
  assert.equal(mid.meta.previous && (mid.meta.previous as { href: string }).href, "/x?page=1&per_page=10");
  assert.equal((mid.meta.next as { href: string }).href, "/x?page=3&per_page=10");
  const last = paginate(items, { page: 3, perPage: 10 }, "/x", new URLSearchParams());
  assert.deepEqual(last.items, [20, 21, 22, 23, 24]);
  assert.equal("next" in last.meta, false);
  assert.equal(last.meta.current_page, 3);
});

Deno.test("paginate: empty list has one empty page; pages past the end are empty without next", () => {
  const empty = paginate([], { page: 1, perPage: 10 }, "/x", new URLSearchParams());
  assert.deepEqual([empty.items, empty.meta.total, empty.meta.last_page], [[], 0, 1]);
  assert.equal("next" in empty.meta || "previous" in empty.meta, false);
  const past = paginate(items, { page: 9, perPage: 10 }, "/x", new URLSearchParams());
  assert.deepEqual(past.items, []);
  assert.equal("next" in past.meta, false);
  assert.equal((past.meta.previous as { href: string }).href, "/x?page=3&per_page=10");
});

Deno.test("parsePageRequest: defaults, bounds and clear errors", () => {
  assert.deepEqual(parsePageRequest(new URLSearchParams(), DEVICE_PAGES), { page: 1, perPage: 10 });
  assert.deepEqual(parsePageRequest(new URLSearchParams("page=2&per_page=1000"), DEVICE_PAGES), {
    page: 2,
    perPage: 1000,
  });
  for (const q of ["per_page=0", "per_page=1001", "per_page=abc", "page=0", "page=-1", "page=1.5"]) {
    assert.throws(() => parsePageRequest(new URLSearchParams(q), DEVICE_PAGES), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 422);
      assert.match(err.message, /^Invalid (page|per_page) ".*": it must be an integer from 1 to/);
      return true;
    });
  }
});

Deno.test("device list: default per_page is 10 and following meta.next visits every device once", async () => {
  const api = await createTestApi();
  for (let i = 0; i < 23; i++) {
    await api.call("POST", `/_fake/projects/${TEST_PROJECT_ID}/devices`, { body: { hostname: `n${i}` } });
  }
  const first = await api.call("GET", `/metal/v1/projects/${TEST_PROJECT_ID}/devices`);
  assert.equal(first.body.devices.length, 10);
  assert.deepEqual([first.body.meta.total, first.body.meta.last_page], [23, 3]);
  const seen: string[] = [];
  let href: string | undefined = `/projects/${TEST_PROJECT_ID}/devices?per_page=10`;
  let pages = 0;
  while (href) {
    // meta hrefs resolve relative to the API base (/metal/v1)
    const res = await api.call("GET", `/metal/v1${href}`);
    seen.push(...res.body.devices.map((d: { hostname: string }) => d.hostname));
    href = res.body.meta.next?.href;
    pages++;
  }
  assert.equal(pages, 3);
  assert.equal(new Set(seen).size, 23);
  const big = await api.call("GET", `/metal/v1/projects/${TEST_PROJECT_ID}/devices?per_page=1000`);
  assert.equal(big.body.devices.length, 23);
  assert.equal(big.body.meta.last_page, 1);
});

Deno.test("IP list: default per_page is 250", async () => {
  const api = await createTestApi();
  for (let i = 0; i < 90; i++) {
    await api.call("POST", `/_fake/projects/${TEST_PROJECT_ID}/devices`, { body: { hostname: `n${i}` } });
  }
  // 90 public /31s + 2 private /25s + 1 IPv6 /56 = 93 reservations
  const res = await api.call("GET", `/metal/v1/projects/${TEST_PROJECT_ID}/ips?per_page=50`);
  assert.deepEqual([res.body.ip_addresses.length, res.body.meta.total, res.body.meta.last_page], [50, 93, 2]);
  const all = await api.call("GET", `/metal/v1/projects/${TEST_PROJECT_ID}/ips`);
  assert.equal(all.body.ip_addresses.length, 93);
  assert.match(all.body.meta.self.href, /per_page=250/);
});
