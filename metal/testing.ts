/**
 * Test support for the Metal provider's modules (load balancers, BGP, control plane): the in-process simulator
 * (`fake_api/`) behind a real {@linkcode HttpMetalClient}, plus Node and Service builders. For tests only.
 *
 * @module
 */
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { createTestApi, TEST_API_KEY, TEST_PROJECT_ID, type TestApi, testSeed } from "../fake_api/testing.ts";
import type { Seed } from "../fake_api/seed.ts";
import { HttpMetalClient } from "./api/http_client.ts";
import { InstantClock } from "./api/testing.ts";
import { providerIdFromDeviceId } from "./provider_id.ts";

/** The simulator and a client for its test project. */
export interface SimulatedMetal {
  api: TestApi;
  client: HttpMetalClient;
  projectId: string;
  /** Device ids by hostname. */
  deviceIds: Record<string, string>;
  /** `METHOD path` of every API request since the last {@linkcode SimulatedMetal.mark} (or the start). */
  requests(): string[];
  /** Starts a new window for {@linkcode SimulatedMetal.requests}. */
  mark(): void;
  /** Makes the next `count` requests matching `method` and `path` (below `/metal/v1`) fail with `status`. */
  failNext(
    options: { method?: string; path: string; status: number; count?: number; message?: string },
  ): void;
}

/** Options of {@linkcode simulatedMetal}. */
export interface SimulatedMetalOptions {
  /** Device hostnames in the test project (metro `sv`). */
  hostnames?: string[];
  /** Enable BGP on the project with this ASN (and md5) from the start. */
  bgp?: { asn: number; md5?: string };
  /** Extra reservations, as in the seed format (project id filled in). */
  reservations?: Omit<NonNullable<Seed["reservations"]>[number], "project_id">[];
}

/** Builds a simulator seeded with the test project and the given devices. */
export async function simulatedMetal(options: SimulatedMetalOptions = {}): Promise<SimulatedMetal> {
  const seed = testSeed({
    devices: (options.hostnames ?? []).map((hostname) => ({
      project_id: TEST_PROJECT_ID,
      hostname,
      metro: "sv",
    })),
    reservations: (options.reservations ?? []).map((r) => ({ ...r, project_id: TEST_PROJECT_ID })),
  });
  if (options.bgp) {
    seed.projects = seed.projects.map((p) =>
      p.id === TEST_PROJECT_ID ? { ...p, asn: options.bgp!.asn, md5: options.bgp!.md5 } : p
    );
  }
  const api = await createTestApi({ seed });
  const client = new HttpMetalClient({
    apiKey: TEST_API_KEY,
    baseUrl: "http://metal.test/metal/v1",
    fetch: (request) => Promise.resolve(api.app.fetch(request)),
    clock: new InstantClock(),
    random: () => 0,
  });
  const deviceIds: Record<string, string> = {};
  for (const device of api.store.devices.values()) deviceIds[device.hostname] = device.id;
  let since = 0;
  return {
    api,
    client,
    projectId: TEST_PROJECT_ID,
    deviceIds,
    requests: () =>
      api.requestLog.list(since).map((e) =>
        `${e.method} ${e.path.replace("/metal/v1", "")}${e.query ? `?${e.query}` : ""}`
      ),
    mark: () => {
      since = api.requestLog.list().at(-1)?.seq ?? since;
    },
    failNext: ({ method, path, status, count = 1, message }) => {
      api.faults.scripted.push({ method, path: `/metal/v1${path}`, status, count, message });
    },
  };
}

/** A Node named `name` backed by device `deviceId` (no providerID when `deviceId` is undefined). */
export function makeNode(
  name: string,
  deviceId: string | undefined,
  fields: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): V1Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      uid: `uid-${name}`,
      resourceVersion: "1",
      labels: { "kubernetes.io/hostname": name, ...fields.labels },
      annotations: fields.annotations,
    },
    spec: deviceId === undefined ? {} : { providerID: providerIdFromDeviceId(deviceId) },
  };
}

/** A Service of type LoadBalancer `namespace/name` with one TCP port. */
export function makeService(
  namespace: string,
  name: string,
  fields: {
    annotations?: Record<string, string>;
    loadBalancerIP?: string;
    type?: string;
    uid?: string;
  } = {},
): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      namespace,
      name,
      uid: fields.uid ?? `uid-${namespace}-${name}`,
      resourceVersion: "1",
      annotations: fields.annotations,
    },
    spec: {
      type: fields.type ?? "LoadBalancer",
      ports: [{ name: "http", port: 80, protocol: "TCP", nodePort: 30080 }],
      loadBalancerIP: fields.loadBalancerIP,
    },
  };
}
