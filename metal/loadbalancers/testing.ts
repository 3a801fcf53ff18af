/**
 * Test support for the load balancer and BGP modules: the in-process simulator (`fake_api/`) behind a real
 * {@linkcode HttpMetalClient}, plus Node and Service builders. For tests only.
 *
 * @module
 */
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { apiError, FakeInformer, mergePatch } from "../../provider/testing/mod.ts";
import {
  createTestApi,
  TEST_API_KEY,
  TEST_PROJECT_ID,
  type TestApi,
  testSeed,
} from "../../fake_api/testing.ts";
import type { Seed } from "../../fake_api/seed.ts";
import { HttpMetalClient } from "../api/http_client.ts";
import { InstantClock } from "../api/testing.ts";
import { providerIdFromDeviceId } from "../provider_id.ts";
import type { ServicePatcher } from "./service_lb.ts";

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

/**
 * A {@linkcode ServicePatcher} over a {@linkcode FakeInformer}: merge patches are applied (a
 * `metadata.resourceVersion` is a precondition, 409 when stale) and recorded.
 */
export class FakeServicePatcher implements ServicePatcher {
  readonly informer: FakeInformer<V1Service>;
  readonly patches: unknown[] = [];
  #rv = 100;

  constructor(informer = new FakeInformer<V1Service>()) {
    this.informer = informer;
  }

  patch(namespace: string, name: string, body: unknown): Promise<void> {
    this.patches.push(body);
    const key = `${namespace}/${name}`;
    const current = this.informer.get(key);
    if (!current) return Promise.reject(apiError(404, "not found"));
    const rv = (body as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    if (rv !== undefined && rv !== current.metadata?.resourceVersion) {
      return Promise.reject(apiError(409, "the object has been modified"));
    }
    const next = mergePatch(current, body) as V1Service;
    next.metadata = { ...next.metadata, resourceVersion: String(++this.#rv) };
    this.informer.upsert(next);
    return Promise.resolve();
  }

  /** Adds or replaces a Service and returns the stored copy. */
  put(service: V1Service): V1Service {
    this.informer.upsert(service);
    return this.get(service.metadata!.namespace!, service.metadata!.name!);
  }

  get(namespace: string, name: string): V1Service {
    return this.informer.get(`${namespace}/${name}`)!;
  }
}
