import assert from "node:assert/strict";
import type { V1Node, V1NodeAddress } from "@kubernetes/client-node";
import {
  addressesChanged,
  addressesFromProvidedNodeIP,
  desiredNodeAddresses,
  normalizeIP,
  parseProvidedNodeIPs,
} from "./node_addresses.ts";

const ext = (address: string): V1NodeAddress => ({ type: "ExternalIP", address });
const int = (address: string): V1NodeAddress => ({ type: "InternalIP", address });
const host = (address: string): V1NodeAddress => ({ type: "Hostname", address });

function node(options: { providedIP?: string; addresses?: V1NodeAddress[] } = {}): V1Node {
  return {
    metadata: {
      name: "n1",
      annotations: options.providedIP === undefined
        ? {}
        : { "alpha.kubernetes.io/provided-node-ip": options.providedIP },
    },
    status: { addresses: options.addresses ?? [] },
  };
}

Deno.test("normalizeIP() canonicalises IPv6 and IPv4-mapped forms", () => {
  assert.equal(normalizeIP("10.0.0.1"), "10.0.0.1");
  assert.equal(normalizeIP("2001:DB8:0:0::1"), "2001:db8::1");
  assert.equal(normalizeIP("::ffff:10.0.0.1"), "10.0.0.1");
  assert.equal(normalizeIP("node-1.example"), undefined);
});

const providedCases: Array<{ name: string; given: string; want?: string[]; error?: RegExp }> = [
  { name: "single IPv4", given: "10.0.0.1", want: ["10.0.0.1"] },
  { name: "dual-stack pair with spaces", given: "10.0.0.1, 2001:db8::1", want: ["10.0.0.1", "2001:db8::1"] },
  { name: "unparsable entries are ignored", given: "nonsense", want: [] },
  { name: "two IPv4 addresses", given: "10.0.0.1,10.0.0.2", error: /single IP or a dual-stack pair/ },
  {
    name: "three addresses",
    given: "10.0.0.1,2001:db8::1,10.0.0.3",
    error: /single IP or a dual-stack pair/,
  },
  { name: "unspecified in a pair", given: "0.0.0.0,2001:db8::1", error: /cannot include '0.0.0.0' or '::'/ },
];
for (const c of providedCases) {
  Deno.test(`parseProvidedNodeIPs(): ${c.name}`, () => {
    if (c.error) assert.throws(() => parseProvidedNodeIPs(c.given), c.error);
    else assert.deepEqual(parseProvidedNodeIPs(c.given), c.want);
  });
}

const mergeCases: Array<
  { name: string; provided: string; cloud: V1NodeAddress[]; want?: V1NodeAddress[]; error?: RegExp }
> = [
  {
    name: "matched InternalIP first, other InternalIPs dropped, other types kept",
    provided: "10.0.0.2",
    cloud: [ext("147.75.1.1"), int("10.0.0.1"), int("10.0.0.2"), host("n1")],
    want: [int("10.0.0.2"), ext("147.75.1.1"), host("n1")],
  },
  {
    name: "provided IP matching an ExternalIP drops other ExternalIPs",
    provided: "147.75.1.2",
    cloud: [ext("147.75.1.1"), ext("147.75.1.2"), int("10.0.0.1")],
    want: [ext("147.75.1.2"), int("10.0.0.1")],
  },
  {
    name: "dual-stack pair keeps both in annotation order",
    provided: "2001:db8::5,10.0.0.1",
    cloud: [int("10.0.0.1"), int("2001:db8::5"), int("10.0.0.9")],
    want: [int("2001:db8::5"), int("10.0.0.1")],
  },
  {
    name: "IPv6 compared by value, cloud spelling kept",
    provided: "2001:db8:0::5",
    cloud: [int("2001:DB8::5")],
    want: [int("2001:DB8::5")],
  },
  {
    name: "provided IP not in the cloud addresses",
    provided: "10.9.9.9",
    cloud: [int("10.0.0.1")],
    error: /failed to get node address from cloud provider that matches ip: 10.9.9.9/,
  },
];
for (const c of mergeCases) {
  Deno.test(`addressesFromProvidedNodeIP(): ${c.name}`, () => {
    if (c.error) assert.throws(() => addressesFromProvidedNodeIP(c.provided, c.cloud), c.error);
    else assert.deepEqual(addressesFromProvidedNodeIP(c.provided, c.cloud), c.want);
  });
}

Deno.test("desiredNodeAddresses() skips when the cloud reports no addresses", () => {
  assert.equal(desiredNodeAddresses(node({ addresses: [int("10.0.0.1")] }), []), undefined);
});

Deno.test("desiredNodeAddresses() keeps the kubelet's Hostname when the cloud has none", () => {
  const got = desiredNodeAddresses(node({ addresses: [int("1.1.1.1"), host("kubelet-name")] }), [
    int("10.0.0.1"),
  ]);
  assert.deepEqual(got, [int("10.0.0.1"), host("kubelet-name")]);
});

Deno.test("desiredNodeAddresses() prefers the cloud's Hostname", () => {
  const got = desiredNodeAddresses(node({ addresses: [host("kubelet-name")] }), [
    int("10.0.0.1"),
    host("cloud"),
  ]);
  assert.deepEqual(got, [int("10.0.0.1"), host("cloud")]);
});

Deno.test("desiredNodeAddresses() applies the provided node IP after adding the Hostname", () => {
  const got = desiredNodeAddresses(
    node({ providedIP: "10.0.0.2", addresses: [host("h")] }),
    [int("10.0.0.1"), int("10.0.0.2"), ext("147.75.1.1")],
  );
  assert.deepEqual(got, [int("10.0.0.2"), ext("147.75.1.1"), host("h")]);
});

Deno.test("addressesChanged() detects length, value and order changes only", () => {
  const a = [int("10.0.0.1"), ext("1.2.3.4")];
  assert.equal(addressesChanged(a, [int("10.0.0.1"), ext("1.2.3.4")]), false);
  assert.equal(addressesChanged(a, [ext("1.2.3.4"), int("10.0.0.1")]), true);
  assert.equal(addressesChanged(a, [int("10.0.0.1")]), true);
  assert.equal(addressesChanged(a, [int("10.0.0.1"), ext("1.2.3.5")]), true);
  assert.equal(
    addressesChanged([int("10.0.0.1"), int("10.0.0.2")], [int("10.0.0.1"), int("10.0.0.3")]),
    true,
  );
});
