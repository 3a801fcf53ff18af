import { deepEqual, equal, match } from "node:assert/strict";
import type { IpReservation } from "../api/types.ts";
import {
  byoIp,
  exposePatch,
  ipCidrOf,
  KUBE_VIP_IPS_ANNOTATION,
  METALLB_IO_POOL_ANNOTATION,
  METALLB_POOL_ANNOTATION,
  resolveServiceIp,
  unexposePatch,
} from "./service_ip.ts";
import { makeService } from "../testing.ts";

const r1 = { id: "r1", address: "147.75.1.1", cidr: 32, tags: [] } as unknown as IpReservation;
const r2 = { id: "r2", address: "147.75.1.2", cidr: 32, tags: [] } as unknown as IpReservation;

Deno.test("resolveServiceIp(): a spec IP matching our tagged reservation is ours, any other spec IP is BYO", () => {
  equal(resolveServiceIp(makeService("d", "s"), []).kind, "none");
  const owned = resolveServiceIp(makeService("d", "s"), [r1, r2]);
  equal(owned.kind === "owned" && owned.reservation.id, "r1");
  const matched = resolveServiceIp(makeService("d", "s", { loadBalancerIP: "147.75.1.2" }), [r1, r2]);
  equal(matched.kind === "owned" && matched.reservation.id, "r2");
  deepEqual(resolveServiceIp(makeService("d", "s", { loadBalancerIP: "203.0.113.9" }), [r1]), {
    kind: "byo",
    address: "203.0.113.9",
    cidr: 32,
  });
  equal(ipCidrOf(owned), "147.75.1.1/32");
  equal(ipCidrOf({ kind: "none" }), "");
});

Deno.test("resolveServiceIp(): of several tagged reservations, the one the status already shows is kept", () => {
  const svc = makeService("d", "s");
  svc.status = { loadBalancer: { ingress: [{ ip: "147.75.1.2" }] } };
  const ip = resolveServiceIp(svc, [r1, r2]);
  equal(ip.kind === "owned" && ip.reservation.id, "r2");
  svc.status = { loadBalancer: { ingress: [{ ip: "198.51.100.1" }] } };
  const first = resolveServiceIp(svc, [r1, r2]);
  equal(first.kind === "owned" && first.reservation.id, "r1", "none shown: the first");
});

Deno.test("byoIp(): IPv4 is /32, IPv6 /128; anything else is invalid with a message naming the field", () => {
  deepEqual(byoIp("203.0.113.9"), { kind: "byo", address: "203.0.113.9", cidr: 32 });
  deepEqual(byoIp("2001:db8::1"), { kind: "byo", address: "2001:db8::1", cidr: 128 });
  const cases: [string, RegExp][] = [
    ["not-an-ip", /not an IPv4 or IPv6 address/],
    ["10.0.0.300", /not an IPv4 or IPv6 address/],
    ["010.1.2.3", /leading zeros/],
    ["147.75.1.1/32", /prefix length/],
    ["fe80::1%eth0", /zone/],
    ["0.0.0.0", /the unspecified address/],
    ["::", /the unspecified address/],
    ["255.255.255.255", /the broadcast address/],
    ["127.0.0.1", /a loopback address/],
    ["::1", /the loopback address/],
    ["239.1.1.1", /a multicast address/],
    ["ff02::1", /a multicast address/],
  ];
  for (const [text, why] of cases) {
    const ip = byoIp(text);
    equal(ip.kind, "invalid", text);
    const message = (ip as { message: string }).message;
    match(
      message,
      new RegExp(`^Invalid spec\\.loadBalancerIP '${text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}': `),
    );
    match(message, why);
    match(message, /remove it to get an elastic IP$/);
  }
  const long = byoIp("x".repeat(5000));
  equal(long.kind === "invalid" && long.message.length < 300, true, "long values are cut in the message");
  equal(ipCidrOf(long), "");
  equal(exposePatch("kube-vip", makeService("d", "s"), long), undefined);
});

Deno.test("resolveServiceIp(): an unusable spec.loadBalancerIP is invalid, never bring-your-own", () => {
  equal(resolveServiceIp(makeService("d", "s", { loadBalancerIP: "not-an-ip" }), [r1]).kind, "invalid");
  equal(resolveServiceIp(makeService("d", "s", { loadBalancerIP: " 147.75.1.1 " }), [r1]).kind, "owned");
});

Deno.test("exposePatch(): kube-vip gets the annotation and, for our EIP only, spec.loadBalancerIP", () => {
  const svc = makeService("d", "s");
  const owned = resolveServiceIp(svc, [r1]);
  deepEqual(exposePatch("kube-vip", svc, owned), {
    metadata: { annotations: { [KUBE_VIP_IPS_ANNOTATION]: "147.75.1.1" } },
    spec: { loadBalancerIP: "147.75.1.1" },
  });
  const byoSvc = makeService("d", "s", { loadBalancerIP: "203.0.113.9" });
  deepEqual(exposePatch("kube-vip", byoSvc, resolveServiceIp(byoSvc, [])), {
    metadata: { annotations: { [KUBE_VIP_IPS_ANNOTATION]: "203.0.113.9" } },
  });
  const done = makeService("d", "s", {
    loadBalancerIP: "147.75.1.1",
    annotations: { [KUBE_VIP_IPS_ANNOTATION]: "147.75.1.1" },
  });
  equal(exposePatch("kube-vip", done, resolveServiceIp(done, [r1])), undefined);
});

Deno.test("exposePatch(): MetalLB gets its pool annotation (per mode's pool name), never spec.loadBalancerIP; empty gets nothing", () => {
  const svc = makeService("my-ns", "web.app");
  const ip = resolveServiceIp(svc, [r1]);
  deepEqual(exposePatch("metallb-configmap", svc, ip), {
    metadata: { annotations: { [METALLB_POOL_ANNOTATION]: "my-ns/web.app" } },
  });
  deepEqual(exposePatch("metallb-crd", svc, ip), {
    metadata: { annotations: { [METALLB_POOL_ANNOTATION]: "my-ns.webapp" } },
  });
  equal(exposePatch("none", svc, ip), undefined);
  equal(exposePatch("kube-vip", svc, { kind: "none" }), undefined);
});

Deno.test("exposePatch(): the pool key the installed MetalLB expects; the other key goes when it holds our pool", () => {
  const svc = makeService("my-ns", "web");
  const ip = resolveServiceIp(svc, [r1]);
  deepEqual(exposePatch("metallb-crd", svc, ip, METALLB_IO_POOL_ANNOTATION), {
    metadata: { annotations: { [METALLB_IO_POOL_ANNOTATION]: "my-ns.web" } },
  });
  // Written with the old key before the MetalLB version was known: moved to the new key.
  const old = makeService("my-ns", "web", { annotations: { [METALLB_POOL_ANNOTATION]: "my-ns.web" } });
  deepEqual(exposePatch("metallb-crd", old, ip, METALLB_IO_POOL_ANNOTATION), {
    metadata: { annotations: { [METALLB_IO_POOL_ANNOTATION]: "my-ns.web", [METALLB_POOL_ANNOTATION]: null } },
  });
  // A user's own value under the other key is not ours to remove.
  const user = makeService("my-ns", "web", {
    annotations: { [METALLB_POOL_ANNOTATION]: "their-pool", [METALLB_IO_POOL_ANNOTATION]: "my-ns.web" },
  });
  equal(exposePatch("metallb-crd", user, ip, METALLB_IO_POOL_ANNOTATION), undefined);
  // And back (MetalLB downgraded): the old key again.
  const moved = makeService("my-ns", "web", { annotations: { [METALLB_IO_POOL_ANNOTATION]: "my-ns.web" } });
  deepEqual(exposePatch("metallb-crd", moved, ip), {
    metadata: { annotations: { [METALLB_POOL_ANNOTATION]: "my-ns.web", [METALLB_IO_POOL_ANNOTATION]: null } },
  });
  // Clean-up removes our pool under either key.
  const both = makeService("my-ns", "web", {
    annotations: { [METALLB_POOL_ANNOTATION]: "my-ns.web", [METALLB_IO_POOL_ANNOTATION]: "my-ns.web" },
  });
  deepEqual(unexposePatch("metallb-crd", both, ip)?.metadata?.annotations, {
    [METALLB_POOL_ANNOTATION]: null,
    [METALLB_IO_POOL_ANNOTATION]: null,
  });
});

Deno.test("unexposePatch() removes only values that are still ours, guarded by resourceVersion", () => {
  const svc = makeService("d", "s", {
    loadBalancerIP: "147.75.1.1",
    annotations: { [KUBE_VIP_IPS_ANNOTATION]: "147.75.1.1", [METALLB_POOL_ANNOTATION]: "other-pool" },
  });
  deepEqual(unexposePatch("kube-vip", svc, resolveServiceIp(svc, [r1])), {
    metadata: { annotations: { [KUBE_VIP_IPS_ANNOTATION]: null }, resourceVersion: "1" },
    spec: { loadBalancerIP: null },
  });
  // A user's spec IP (BYO) is never cleared; a foreign pool annotation is left alone.
  const byo = makeService("d", "s", { loadBalancerIP: "203.0.113.9" });
  equal(unexposePatch("metallb-crd", byo, resolveServiceIp(byo, [])), undefined);
  equal(unexposePatch("metallb-crd", svc, { kind: "none" }), undefined);
});
