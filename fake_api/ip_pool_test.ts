import assert from "node:assert/strict";
import { formatIp, netmask, parseCidr, parseIp, parseIpv4, parseIpv6 } from "./ip_math.ts";
import { IpPools, RangeAllocator } from "./ip_pool.ts";

Deno.test("ip_math: parse and format IPv4 and IPv6 (RFC 5952 compression)", () => {
  assert.equal(parseIpv4("147.75.0.1"), 0x934b0001n);
  for (const bad of ["1.2.3", "1.2.3.256", "01.2.3.4", "a.b.c.d"]) {
    assert.equal(parseIpv4(bad), undefined, bad);
  }
  const cases = ["2604:1380:4640::", "2604:1380:4641:c900::1", "::1", "::", "fc00::e", "1:0:0:1::1"];
  for (const text of cases) assert.equal(formatIp(6, parseIpv6(text)!), text);
  assert.equal(formatIp(6, parseIpv6("2001:db8:0:0:1:0:0:1")!), "2001:db8::1:0:0:1");
  for (const bad of ["1::2::3", "12345::", "::g", ":"]) assert.equal(parseIpv6(bad), undefined, bad);
  assert.deepEqual(parseIp("10.0.0.1"), { family: 4, value: 0x0a000001n });
  assert.equal(netmask(4, 25), "255.255.255.128");
  assert.equal(netmask(4, 31), "255.255.255.254");
  assert.equal(netmask(6, 56), "ffff:ffff:ffff:ff00::");
  assert.deepEqual(parseCidr("10.64.0.0/25"), { family: 4, network: 0x0a400000n, cidr: 25 });
  assert.equal(parseCidr("10.64.0.1/25"), undefined, "host bits set");
  assert.equal(parseCidr("10.64.0.0/33"), undefined);
});

Deno.test("RangeAllocator: aligned blocks, no reuse while held, release, exhaustion", () => {
  const pool = new RangeAllocator({ family: 4, ranges: ["192.0.2.0/29"], unitCidr: 32 });
  const a = pool.allocate(32)!;
  const b = pool.allocate(31)!;
  assert.equal(formatIp(4, a), "192.0.2.0");
  assert.equal(formatIp(4, b), "192.0.2.2", "a /31 is aligned to two addresses");
  const c = pool.allocate(30)!;
  assert.equal(formatIp(4, c), "192.0.2.4");
  assert.equal(pool.allocate(31), undefined, "only .1 is left, no /31 fits");
  assert.equal(formatIp(4, pool.allocate(32)!), "192.0.2.1");
  assert.equal(pool.full, true);
  assert.equal(pool.allocate(32), undefined);
  pool.release(b, 31);
  assert.equal(pool.full, false);
  assert.equal(formatIp(4, pool.allocate(31)!), "192.0.2.2", "released blocks are reused");
  assert.throws(() => pool.allocate(33), RangeError);
});

Deno.test("RangeAllocator: starts in the first listed range and walks the others in address order", () => {
  const pool = new RangeAllocator({ family: 4, ranges: ["198.51.100.0/31", "192.0.2.0/31"], unitCidr: 32 });
  const got = [pool.allocate(32), pool.allocate(32), pool.allocate(32), pool.allocate(32)].map((v) =>
    formatIp(4, v!)
  );
  assert.deepEqual(got, ["198.51.100.0", "198.51.100.1", "192.0.2.0", "192.0.2.1"]);
});

Deno.test("IpPools: subnet allocators hand out /31s inside a /25 and /127s inside a /56", () => {
  const pools = new IpPools();
  const v4 = pools.subnet({ family: 4, network: "10.64.0.0", cidr: 25 });
  const nets = Array.from({ length: 64 }, () => formatIp(4, v4.allocate(31)!));
  assert.equal(new Set(nets).size, 64);
  assert.equal(nets.at(-1), "10.64.0.126");
  assert.equal(v4.full, true);
  const v6 = pools.subnet({ family: 6, network: "2604:1380:4640::", cidr: 56 });
  assert.equal(formatIp(6, v6.allocate(127)!), "2604:1380:4640::");
  assert.equal(formatIp(6, v6.allocate(127)!), "2604:1380:4640::2");
  const cursors = pools.cursors();
  pools.devicePublic.allocate(31);
  const restored = new IpPools();
  restored.restoreCursors(pools.cursors());
  assert.notDeepEqual(cursors, pools.cursors());
  assert.equal(formatIp(4, restored.devicePublic.allocate(31)!), "147.75.0.2", "cursor survives a restart");
});
