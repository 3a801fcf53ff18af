import { bgpNode as node } from "./test_util.ts";
import assert from "node:assert/strict";
import {
  describeConflicts,
  desiredSharedPeerSpecs,
  hostnamesSelector,
  isSharedPeer,
  layoutOf,
  nodesOfSharedSelectors,
  sharedPeerName,
} from "./cr_peer_layout.ts";
import { HOSTNAME_LABEL } from "./service_selector.ts";

Deno.test("layoutOf: native is per-node, frr and frr-k8s are shared, auto is decided later", () => {
  assert.equal(layoutOf("native"), "per-node");
  assert.equal(layoutOf("frr"), "shared");
  assert.equal(layoutOf("frr-k8s"), "shared");
  assert.equal(layoutOf("auto"), undefined);
});

Deno.test("sharedPeerName is derived from the peer address and never has upstream's <node>-<i> shape", () => {
  assert.equal(sharedPeerName("169.254.255.1"), "equinix-metal.169.254.255.1");
  assert.equal(sharedPeerName("FC00::1"), "equinix-metal.fc00--1");
});

Deno.test("desiredSharedPeerSpecs: one peer per router address selecting every node, sorted, no sourceAddress", () => {
  const { specs, conflicts } = desiredSharedPeerSpecs([node("n3"), node("n1"), node("n2")], {
    mode: "inline",
  });
  assert.deepEqual(conflicts, []);
  assert.deepEqual([...specs.keys()], ["equinix-metal.169.254.255.1", "equinix-metal.169.254.255.2"]);
  assert.deepEqual(specs.get("equinix-metal.169.254.255.1"), {
    myASN: 65000,
    peerASN: 65530,
    peerAddress: "169.254.255.1",
    peerPort: 179,
    holdTime: "0s",
    keepaliveTime: "0s",
    password: "pw",
    passwordSecret: undefined,
    nodeSelectors: [{
      matchExpressions: [{ key: HOSTNAME_LABEL, operator: "In", values: ["n1", "n2", "n3"] }],
    }],
  });
  assert.equal(specs.get("equinix-metal.169.254.255.1")?.sourceAddress, undefined);
  const secret = desiredSharedPeerSpecs([node("n1")], {
    mode: "secret",
    secretName: "bgp",
    namespace: "metallb-system",
  });
  const spec = secret.specs.get("equinix-metal.169.254.255.2");
  assert.equal(spec?.password, undefined);
  assert.deepEqual(spec?.passwordSecret, { name: "bgp", namespace: "metallb-system" });
});

Deno.test("desiredSharedPeerSpecs: nodes with other settings for an address are left out and reported", () => {
  const { specs, conflicts } = desiredSharedPeerSpecs([
    node("n1", { localASN: 65001 }),
    node("n2"),
    node("n3"),
    node("n4", { password: "other", peerIPs: ["169.254.255.1"] }),
  ], { mode: "inline" });
  assert.deepEqual(nodesOfSharedSelectors(specs.get("equinix-metal.169.254.255.1")?.nodeSelectors), [
    "n2",
    "n3",
  ]);
  assert.equal(specs.get("equinix-metal.169.254.255.1")?.myASN, 65000);
  assert.deepEqual(conflicts, [
    { address: "169.254.255.1", chosen: ["n2", "n3"], leftOut: ["n1", "n4"] },
    { address: "169.254.255.2", chosen: ["n2", "n3"], leftOut: ["n1"] },
  ]);
  const message = describeConflicts(conflicts);
  assert.match(message, /nodes n1, n4 peer with 169\.254\.255\.1 with other BGP settings than n2, n3/);
  assert.match(message, /METAL_METALLB_BGP_TYPE=native/);
  assert.doesNotMatch(message, /other"|pw/, "no password in the message");
  // A tie goes to the settings of the first node by name.
  const tie = desiredSharedPeerSpecs([node("b", { localASN: 65001 }), node("a")], { mode: "inline" });
  assert.equal(tie.specs.get("equinix-metal.169.254.255.1")?.myASN, 65000);
  assert.deepEqual(tie.conflicts[0]?.leftOut, ["b"]);
});

Deno.test("nodesOfSharedSelectors and isSharedPeer recognise only the shared layout's hostname selector", () => {
  assert.deepEqual(nodesOfSharedSelectors([hostnamesSelector(["b", "a", "b"])]), ["a", "b"]);
  assert.equal(nodesOfSharedSelectors([{ matchLabels: { [HOSTNAME_LABEL]: "a" } }]), undefined);
  assert.equal(
    nodesOfSharedSelectors([{ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }]),
    undefined,
  );
  assert.equal(
    isSharedPeer({ metadata: { name: "x" }, spec: { nodeSelectors: [hostnamesSelector(["a"])] } }),
    true,
  );
  assert.equal(isSharedPeer({ metadata: { name: "n1-0" }, spec: {} }), false);
});
