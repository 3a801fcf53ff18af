import assert from "node:assert/strict";
import type { V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import { isKubernetesEndpointSlice, resolveApiServerPort } from "./api_server_port.ts";

function service(port: Record<string, unknown> | undefined): V1Service {
  return {
    metadata: { namespace: "default", name: "kubernetes" },
    spec: { ports: port ? [{ name: "https", port: 443, protocol: "TCP", ...port }] : [] },
  } as V1Service;
}

function slice(
  name: string,
  ports: Array<{ name?: string; port: number }>,
  service = "kubernetes",
): V1EndpointSlice {
  return {
    addressType: "IPv4",
    metadata: { namespace: "default", name, labels: { "kubernetes.io/service-name": service } },
    endpoints: [],
    ports: ports.map((p) => ({ ...p, protocol: "TCP" })),
  };
}

Deno.test("resolveApiServerPort picks the configured port, then the Service's target port", async (t) => {
  const cases: Array<
    { name: string; input: Parameters<typeof resolveApiServerPort>[0]; want: number | RegExp }
  > = [
    {
      name: "configured wins",
      input: { configured: 7443, service: service({ targetPort: 6443 }), slices: [] },
      want: 7443,
    },
    {
      name: "numeric target port",
      input: { configured: 0, service: service({ targetPort: 6443 }), slices: [] },
      want: 6443,
    },
    {
      name: "numeric string",
      input: { configured: 0, service: service({ targetPort: "6443" }), slices: [] },
      want: 6443,
    },
    {
      name: "no target port uses port",
      input: { configured: 0, service: service({}), slices: [] },
      want: 443,
    },
    {
      name: "named target port resolved via the slice port of the same name",
      input: {
        configured: 0,
        service: service({ targetPort: "apiserver" }),
        slices: [slice("kubernetes", [{ name: "https", port: 6444 }])],
      },
      want: 6444,
    },
    {
      name: "named target port without a matching slice port",
      input: {
        configured: 0,
        service: service({ targetPort: "apiserver" }),
        slices: [slice("kubernetes", [{ name: "metrics", port: 9000 }])],
      },
      want: /Named target port "apiserver".*METAL_API_SERVER_PORT/,
    },
    { name: "no service", input: { configured: 0, slices: [] }, want: /default\/kubernetes was not found/ },
    {
      name: "no ports",
      input: { configured: 0, service: service(undefined), slices: [] },
      want: /has no ports/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const got = resolveApiServerPort(c.input);
      if (typeof c.want === "number") assert.deepEqual(got.ok && got.port, c.want);
      else assert.match(got.ok ? `port ${got.port}` : got.problem, c.want);
    });
  }
});

Deno.test("isKubernetesEndpointSlice accepts only default/kubernetes slices", () => {
  assert.equal(isKubernetesEndpointSlice(slice("kubernetes", [])), true);
  assert.equal(isKubernetesEndpointSlice(slice("kubernetes-abcde", [])), true);
  assert.equal(isKubernetesEndpointSlice(slice("other", [], "other")), false, "another Service in default");
  const elsewhere = slice("kubernetes", []);
  elsewhere.metadata!.namespace = "kube-system";
  assert.equal(isKubernetesEndpointSlice(elsewhere), false, "a slice named kubernetes in another namespace");
});
