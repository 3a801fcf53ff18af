import { deepEqual, equal } from "node:assert/strict";
import {
  clusterTag,
  filterByAllTags,
  findByAllTags,
  loadBalancerName,
  RESERVATION_DETAILS,
  serviceHash,
  serviceTag,
  serviceTags,
  USAGE_TAG,
} from "./tags.ts";

Deno.test("serviceHash() is base64 (std, padded) of sha256('<ns>/<name>'): known vector default/nginx", () => {
  // printf 'default/nginx' | openssl dgst -sha256 -binary | base64
  equal(serviceHash("default", "nginx"), "l7RnKS8k48oG3Qv3Pxx8FzEMj3X3E5c8JPOIzyLWWdY=");
  equal(serviceTag("default", "nginx"), "service=l7RnKS8k48oG3Qv3Pxx8FzEMj3X3E5c8JPOIzyLWWdY=");
});

Deno.test("serviceHash() hashes the UTF-8 bytes and distinguishes namespace from name", () => {
  equal(
    serviceHash("kube-system", "cloud-provider-equinix-metal-kubernetes-external"),
    "nkZQdhBi68vpaTlQ4k8seRimy83YJhbkOzl1xNyLlGQ=",
  );
  equal(serviceHash("a", "b/c") === serviceHash("a/b", "c"), true, "same joined string, same hash");
  equal(serviceHash("default", "nginx") === serviceHash("nginx", "default"), false);
});

Deno.test("tags, load balancer name and details are upstream's, in upstream's order", () => {
  equal(USAGE_TAG, "usage=cloud-provider-equinix-metal-auto");
  equal(clusterTag("uid-1"), "cluster=uid-1");
  deepEqual(serviceTags("default", "nginx", "uid-1"), [
    "usage=cloud-provider-equinix-metal-auto",
    "service=l7RnKS8k48oG3Qv3Pxx8FzEMj3X3E5c8JPOIzyLWWdY=",
    "cluster=uid-1",
  ]);
  equal(
    loadBalancerName("default", "nginx", "uid-1"),
    "usage=cloud-provider-equinix-metal-auto:service=l7RnKS8k48oG3Qv3Pxx8FzEMj3X3E5c8JPOIzyLWWdY=:cluster=uid-1",
  );
  equal(RESERVATION_DETAILS, "Equinix Metal Kubernetes CCM auto-generated for Load Balancer");
});

Deno.test("findByAllTags() returns the first reservation carrying every tag (upstream TestIPReservationByAllTags)", () => {
  const reservations = [["a", "b"], ["c", "d"], ["a", "d"], ["b", "c"], ["b", "q"]].map((tags, i) => ({
    i,
    tags,
  }));
  const cases: [string[], number | undefined][] = [
    [["a"], 0],
    [["a", "b"], 0],
    [["b"], 0],
    [["c"], 1],
    [["d"], 1],
    [["q"], 4],
    [["q", "n"], undefined],
  ];
  for (const [wanted, index] of cases) {
    equal(findByAllTags(reservations, wanted)?.i, index, `tags ${wanted}`);
  }
});

Deno.test("findByAllTags() ignores duplicates and extra tags; filterByAllTags() keeps list order", () => {
  const reservations = [{ id: "x", tags: ["b", "b", "a", "z"] }, { id: "y", tags: ["a"] }, {
    id: "z",
    tags: ["a", "b"],
  }];
  equal(findByAllTags(reservations, ["a", "b", "a"])?.id, "x");
  deepEqual(filterByAllTags(reservations, ["a", "b"]).map((r) => r.id), ["x", "z"]);
  deepEqual(filterByAllTags(reservations, ["a"]).map((r) => r.id), ["x", "y", "z"]);
});
