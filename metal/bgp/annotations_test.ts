import { deepEqual, equal } from "node:assert/strict";
import {
  annotationPatch,
  type AnnotationTemplates,
  desiredBgpAnnotations,
  peerAnnotationKey,
  removedBgpAnnotations,
} from "./annotations.ts";

const templates: AnnotationTemplates = {
  localAsn: "metal.equinix.com/bgp-peers-{{n}}-node-asn",
  peerAsn: "metal.equinix.com/bgp-peers-{{n}}-peer-asn",
  peerIp: "metal.equinix.com/bgp-peers-{{n}}-peer-ip",
  srcIp: "metal.equinix.com/bgp-peers-{{n}}-src-ip",
  bgpPass: "metal.equinix.com/bgp-peers-{{n}}-bgp-pass",
  networkIpv4Private: "metal.equinix.com/network-4-private",
};

const bgp = {
  localAsn: 65000,
  peerAsn: 65530,
  sourceIp: "10.0.0.5",
  peerIps: ["169.254.255.2", "169.254.255.1"],
  password: "s3cretPass",
};

Deno.test("desiredBgpAnnotations() writes upstream's keys and values, peers sorted, password base64", () => {
  const wanted = desiredBgpAnnotations(undefined, {
    templates,
    bgp,
    privateNetwork: "10.0.0.0/25",
    includePassword: true,
  });
  deepEqual(wanted, {
    "metal.equinix.com/network-4-private": "10.0.0.0/25",
    "metal.equinix.com/bgp-peers-0-node-asn": "65000",
    "metal.equinix.com/bgp-peers-0-peer-asn": "65530",
    "metal.equinix.com/bgp-peers-0-peer-ip": "169.254.255.1",
    "metal.equinix.com/bgp-peers-0-src-ip": "10.0.0.5",
    "metal.equinix.com/bgp-peers-0-bgp-pass": btoa("s3cretPass"),
    "metal.equinix.com/bgp-peers-1-node-asn": "65000",
    "metal.equinix.com/bgp-peers-1-peer-asn": "65530",
    "metal.equinix.com/bgp-peers-1-peer-ip": "169.254.255.2",
    "metal.equinix.com/bgp-peers-1-src-ip": "10.0.0.5",
    "metal.equinix.com/bgp-peers-1-bgp-pass": btoa("s3cretPass"),
  });
});

Deno.test("stale higher peer indexes are removed when the peer list shrinks (upstream wrote them once: docs/upstream.md#node-annotations-kept-current)", () => {
  const current = {
    ...desiredBgpAnnotations(undefined, { templates, bgp, includePassword: true }),
    "metal.equinix.com/network-4-private": "10.0.0.0/25",
    "other.example/keep": "x",
  } as Record<string, string>;
  const wanted = desiredBgpAnnotations(current, {
    templates,
    bgp: { ...bgp, peerIps: ["169.254.255.9"] },
    privateNetwork: "10.0.0.0/25",
    includePassword: true,
  });
  deepEqual(annotationPatch(current, wanted), {
    metadata: {
      annotations: {
        "metal.equinix.com/bgp-peers-0-peer-ip": "169.254.255.9",
        "metal.equinix.com/bgp-peers-1-node-asn": null,
        "metal.equinix.com/bgp-peers-1-peer-asn": null,
        "metal.equinix.com/bgp-peers-1-peer-ip": null,
        "metal.equinix.com/bgp-peers-1-src-ip": null,
        "metal.equinix.com/bgp-peers-1-bgp-pass": null,
      },
    },
  });
});

Deno.test("annotationPatch() is undefined when the Node already matches (no write)", () => {
  const wanted = desiredBgpAnnotations(undefined, {
    templates,
    bgp,
    privateNetwork: "10.0.0.0/25",
    includePassword: true,
  });
  const current = Object.fromEntries(Object.entries(wanted)) as Record<string, string>;
  equal(
    annotationPatch(
      current,
      desiredBgpAnnotations(current, {
        templates,
        bgp,
        privateNetwork: "10.0.0.0/25",
        includePassword: true,
      }),
    ),
    undefined,
  );
});

Deno.test("with includePassword false no bgp-pass annotation is written and existing ones are removed", () => {
  const current = {
    "metal.equinix.com/bgp-peers-0-bgp-pass": "eA==",
    "metal.equinix.com/bgp-peers-3-bgp-pass": "",
  };
  const wanted = desiredBgpAnnotations(current, { templates, bgp, includePassword: false });
  equal(Object.keys(wanted).some((k) => k.endsWith("bgp-pass") && wanted[k] !== null), false);
  equal(wanted["metal.equinix.com/bgp-peers-0-bgp-pass"], null);
  equal(wanted["metal.equinix.com/bgp-peers-3-bgp-pass"], null);
  // Also without neighbour data.
  const onlyRemoval = desiredBgpAnnotations(current, { templates, includePassword: false });
  deepEqual(onlyRemoval, {
    "metal.equinix.com/bgp-peers-0-bgp-pass": null,
    "metal.equinix.com/bgp-peers-3-bgp-pass": null,
  });
});

Deno.test("without neighbour data, peer annotations are left alone", () => {
  const current = { "metal.equinix.com/bgp-peers-0-peer-ip": "169.254.255.1" };
  deepEqual(
    desiredBgpAnnotations(current, { templates, privateNetwork: "10.0.0.0/25", includePassword: true }),
    {
      "metal.equinix.com/network-4-private": "10.0.0.0/25",
    },
  );
});

Deno.test("custom templates: only the first {{n}} is replaced, and only matching keys count as ours", () => {
  equal(peerAnnotationKey("x/{{n}}-asn-{{n}}", 2), "x/2-asn-{{n}}");
  const custom = { ...templates, peerIp: "example.com/peer-{{n}}-ip" };
  const removed = removedBgpAnnotations({
    "example.com/peer-0-ip": "a",
    "example.com/peer-x-ip": "b",
    "example.com/peer--ip": "c",
    "metal.equinix.com/bgp-peers-12-node-asn": "1",
    "metal.equinix.com/network-4-private": "10.0.0.0/25",
  }, custom);
  deepEqual(removed, { "example.com/peer-0-ip": null, "metal.equinix.com/bgp-peers-12-node-asn": null });
});
