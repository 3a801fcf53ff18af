import assert from "node:assert/strict";
import { ConfigFileError, emptyConfigFile, parseConfigFile, serializeConfigFile } from "./config_file.ts";
import { desiredPeers, servicePool } from "./config_ops.ts";
import { randomPeer, randomPool } from "./test_util.ts";

Deno.test("parseConfigFile: empty text and a document of nulls are an empty configuration", () => {
  assert.deepEqual(parseConfigFile(""), emptyConfigFile());
  assert.deepEqual(
    parseConfigFile("address-pools: null\nbgp-communities: null\npeers: null\n"),
    emptyConfigFile(),
  );
});

Deno.test("serializeConfigFile writes upstream's keys, sorted, with nulls for absent lists", () => {
  const cfg = {
    ...emptyConfigFile(),
    addressPools: [servicePool({ namespace: "default", name: "web" }, "147.75.1.2/32")],
    peers: desiredPeers([{
      nodeName: "node-1",
      sourceIP: "10.65.1.3",
      localASN: 65000,
      peerASN: 65530,
      peerIPs: ["169.254.255.1"],
      password: "s3cret",
    }]),
  };
  assert.equal(
    serializeConfigFile(cfg),
    `address-pools:
- addresses:
  - 147.75.1.2/32
  auto-assign: false
  avoid-buggy-ips: false
  bgp-advertisements: null
  name: default/web
  protocol: bgp
bgp-communities: null
peers:
- hold-time: ""
  my-asn: 65000
  node-selectors:
  - match-expressions: null
    match-labels:
      kubernetes.io/hostname: node-1
  password: s3cret
  peer-address: 169.254.255.1
  peer-asn: 65530
  peer-port: 0
  router-id: ""
  source-address: 10.65.1.3
`,
  );
  assert.equal(
    serializeConfigFile(emptyConfigFile()),
    "address-pools: null\nbgp-communities: null\npeers: null\n",
  );
});

Deno.test("parse ∘ serialize round-trips every modelled field", () => {
  const cfg = {
    peers: [{ ...randomPeer(1), name: "named" }, randomPeer(2, [["default", "a"]])],
    bgpCommunities: { "no-advertise": "65535:65282" },
    addressPools: [randomPool(1), { ...randomPool(2), autoAssign: null, bgpAdvertisements: null }],
  };
  assert.deepEqual(parseConfigFile(serializeConfigFile(cfg)), cfg);
});

Deno.test("parseConfigFile matches keys case-insensitively and accepts upstream's Go field names", () => {
  const cfg = parseConfigFile(`
Address-Pools:
- Name: p
  Protocol: bgp
  Addresses: [1.2.3.4/32]
  AutoAssign: false
  BGPAdvertisements:
  - AggregationLength: 24
    LocalPref: 100
    Communities: ["1:2"]
Peers:
- MyASN: 65000
  ASN: 65530
  Addr: 169.254.255.1
  SrcAddr: 10.0.0.1
  HoldTime: 9s
  NodeSelectors:
  - MatchLabels: {kubernetes.io/hostname: n1}
    MatchExpressions: [{Key: k, Operator: In, Values: [v]}]
`);
  assert.deepEqual(cfg.addressPools, [{
    protocol: "bgp",
    name: "p",
    addresses: ["1.2.3.4/32"],
    avoidBuggyIPs: false,
    autoAssign: false,
    bgpAdvertisements: [{ aggregationLength: 24, localPref: 100, communities: ["1:2"] }],
  }]);
  assert.deepEqual(cfg.peers?.[0], {
    myASN: 65000,
    peerASN: 65530,
    peerAddress: "169.254.255.1",
    peerPort: 0,
    sourceAddress: "10.0.0.1",
    holdTime: "9s",
    routerID: "",
    nodeSelectors: [{
      matchLabels: { "kubernetes.io/hostname": "n1" },
      matchExpressions: [{ key: "k", operator: "In", values: ["v"] }],
    }],
    password: "",
    name: "",
  });
  // Written back with MetalLB's own key names (MetalLB reads `localpref`, not upstream's `LocalPref`).
  const text = serializeConfigFile(cfg);
  assert.match(text, /localpref: 100/);
  assert.match(text, /communities:\n {4}- "?1:2"?/);
  assert.doesNotMatch(text, /LocalPref|Communities|Addr|MyASN/);
});

Deno.test("parseConfigFile keeps keys it does not model and writes them back", () => {
  const cfg = parseConfigFile(`
peers:
- peer-address: 10.0.0.1
  bfd-profile: fast
address-pools:
- name: p
  protocol: bgp
  addresses: [1.2.3.4/32]
  ipam: {secret-name: s}
extra-top: 1
`);
  assert.deepEqual(cfg.peers?.[0]?.extra, { "bfd-profile": "fast" });
  const text = serializeConfigFile(cfg);
  assert.match(text, /bfd-profile: fast/);
  assert.match(text, /ipam:\n {4}secret-name: s/);
  assert.match(text, /^extra-top: 1$/m);
  assert.deepEqual(parseConfigFile(text), cfg);
});

Deno.test("parseConfigFile reads absent auto-assign and aggregation-length as null (upstream crashed, docs/upstream.md#metallb-configmap)", () => {
  const cfg = parseConfigFile("address-pools:\n- name: p\n  bgp-advertisements:\n  - communities: [a]\n");
  assert.equal(cfg.addressPools?.[0]?.autoAssign, null);
  assert.deepEqual(cfg.addressPools?.[0]?.bgpAdvertisements, [{
    aggregationLength: null,
    localPref: null,
    communities: ["a"],
  }]);
});

Deno.test("parseConfigFile errors name the field", () => {
  const cases: Array<[string, RegExp]> = [
    ["peers: {a: 1}", /^peers must be a list, got a mapping$/],
    ["peers:\n- my-asn: abc", /^peers\[0\]\.my-asn must be an integer, got "abc"$/],
    [
      "address-pools:\n- auto-assign: maybe",
      /^address-pools\[0\]\.auto-assign must be true or false, got "maybe"$/,
    ],
    [
      "peers:\n- node-selectors:\n  - match-labels: [x]",
      /^peers\[0\]\.node-selectors\[0\]\.match-labels must be a mapping/,
    ],
    ["[1, 2]", /^config must be a mapping, got a list$/],
    ["a: [", /^config is not valid YAML/],
  ];
  for (const [text, want] of cases) {
    assert.throws(() => parseConfigFile(text), (err: unknown) => {
      assert.ok(err instanceof ConfigFileError, text);
      assert.match(err.message, want, text);
      return true;
    });
  }
});

Deno.test("parseConfigFile follows YAML 1.1 like MetalLB (yes is a boolean) and quotes such strings on output", () => {
  const cfg = parseConfigFile("address-pools:\n- name: 'yes'\n  avoid-buggy-ips: yes\n");
  assert.equal(cfg.addressPools?.[0]?.avoidBuggyIPs, true);
  assert.equal(cfg.addressPools?.[0]?.name, "yes");
  assert.match(serializeConfigFile(cfg), /name: "yes"/);
});
