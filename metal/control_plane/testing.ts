/**
 * Test support for the control-plane managers: a throw-away CA (made with the `openssl` command, like the
 * test cluster's) and stand-in API servers — HTTPS `/healthz` endpoints on loopback addresses sharing one port,
 * whose answers a test switches at will. For tests only.
 *
 * @module
 */
import type { KubernetesObject, V1ConfigMap, V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import { FakeInformer, objectKey } from "../../provider/testing/mod.ts";
import { MetalNotFoundError } from "../api/errors.ts";
import { makeAddress } from "../api/testing.ts";
import type { IpAssignment, IpReservation } from "../api/types.ts";
import type { EipMetal } from "./eip_manager.ts";
import type { HealthProber, ProbeOutcome } from "./health_probe.ts";
import type { ControlPlaneKube } from "./external_sync.ts";

/** A CA that issues server certificates. */
export interface TestCa {
  /** PEM of the CA certificate. */
  cert: string;
  /** Issues a server certificate (PEM `cert` and `key`) for `ips`. */
  issue(name: string, ips: readonly string[]): Promise<{ cert: string; key: string }>;
  /** Removes the working directory. */
  remove(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** Creates a CA in a temporary directory. */
export async function createTestCa(subject = "/CN=control-plane-test-ca"): Promise<TestCa> {
  const dir = await Deno.makeTempDir({ prefix: "ccm-cp-ca-" });
  await openssl([
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    subject,
  ], dir);
  return {
    cert: await Deno.readTextFile(`${dir}/ca.crt`),
    async issue(name, ips) {
      await openssl([
        "req",
        "-x509",
        ...EC_KEY,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.crt`,
        "-days",
        "2",
        "-subj",
        `/CN=${name}`,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        `subjectAltName=DNS:${name}${ips.map((ip) => `,IP:${ip}`).join("")}`,
      ], dir);
      return {
        cert: await Deno.readTextFile(`${dir}/${name}.crt`),
        key: await Deno.readTextFile(`${dir}/${name}.key`),
      };
    },
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}

/** How a stand-in API server answers `/healthz`: an HTTP status, or `"hang"` (never answers). */
export type HealthAnswer = number | "hang";

/** Stand-in API servers on several loopback addresses, all on {@linkcode ApiServers.port}. */
export interface ApiServers extends AsyncDisposable {
  readonly port: number;
  /** Sets the answer of the server on `address`. */
  set(address: string, answer: HealthAnswer): void;
  /** `/healthz` requests received per address. */
  readonly hits: Map<string, number>;
  close(): Promise<void>;
}

/**
 * Starts one HTTPS server per address (for example `127.0.0.2`–`127.0.0.4`), all on the same free port, with a
 * certificate that does not name the addresses (health checks verify the chain, not the host name).
 */
export async function startApiServers(
  options: { addresses: readonly string[]; cert: string; key: string },
): Promise<ApiServers> {
  const answers = new Map<string, HealthAnswer>(options.addresses.map((a) => [a, 200]));
  const hits = new Map<string, number>(options.addresses.map((a) => [a, 0]));
  const hanging = new Set<() => void>();
  for (let attempt = 0;; attempt++) {
    const controller = new AbortController();
    const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
    try {
      let port = 0;
      for (const address of options.addresses) {
        const server = Deno.serve({
          hostname: address,
          port,
          cert: options.cert,
          key: options.key,
          signal: controller.signal,
          onListen: () => {},
        }, (req) => {
          if (new URL(req.url).pathname !== "/healthz") return new Response("not found", { status: 404 });
          hits.set(address, (hits.get(address) ?? 0) + 1);
          const answer = answers.get(address) ?? 200;
          if (answer === "hang") {
            return new Promise<Response>((resolve) => {
              const release = () => resolve(new Response("released", { status: 503 }));
              hanging.add(release);
            });
          }
          return new Response(answer === 200 ? "ok" : "unhealthy", { status: answer });
        });
        servers.push(server);
        port = server.addr.port;
      }
      const close = async () => {
        for (const release of hanging) release();
        hanging.clear();
        controller.abort();
        await Promise.all(servers.map((s) => s.finished));
      };
      return {
        port,
        hits,
        set: (address, answer) => answers.set(address, answer),
        close,
        [Symbol.asyncDispose]: close,
      };
    } catch (err) {
      controller.abort();
      await Promise.all(servers.map((s) => s.finished));
      if (!(err instanceof Deno.errors.AddrInUse) || attempt >= 20) throw err;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// In-memory doubles for unit tests of the controller.

/** A {@linkcode HealthProber} answering from a table: `answers.get(url)` (default healthy). */
export class FakeProber implements HealthProber {
  /** `true`/`false`, or a failure detail such as `"HTTP 500"`. */
  readonly answers = new Map<string, boolean | string>();
  /** URLs probed, in order. */
  readonly probed: string[] = [];

  probe(url: string): Promise<ProbeOutcome> {
    this.probed.push(url);
    const answer = this.answers.get(url) ?? true;
    const ok = answer === true;
    return Promise.resolve({
      ok,
      detail: ok ? "HTTP 200" : answer === false ? "HTTP 500" : answer,
      seconds: 0.001,
    });
  }
}

/** The Metal API of the EIP manager over one list of reservations; `calls` logs assignment changes. */
export class FakeEipMetal implements EipMetal {
  reservations: IpReservation[] = [];
  /** `assign <deviceId>`, `unassign <assignmentId>`, `list`, `get <id>`. */
  readonly calls: string[] = [];
  /** Makes the named operation fail with the returned error. */
  fail: ((op: "list" | "get" | "assign" | "unassign") => Error | undefined) | undefined;
  #next = 1;

  /** Adds a reservation of `address` tagged `tags`, assigned to `deviceIds`. */
  reserve(address: string, tags: string[], deviceIds: string[] = []): IpReservation {
    const r: IpReservation = {
      id: `res-${this.#next++}`,
      type: "public_ipv4",
      address,
      addressFamily: 4,
      cidr: 32,
      network: address,
      netmask: "255.255.255.255",
      gateway: address,
      public: true,
      management: false,
      globalIp: false,
      state: "created",
      details: undefined,
      tags,
      customdata: undefined,
      assignments: [],
      metro: undefined,
      facility: undefined,
    };
    this.reservations.push(r);
    for (const d of deviceIds) r.assignments.push(this.#assignment(d, address));
    return r;
  }

  /** The devices the reservation of `address` is assigned to. */
  holders(address: string): string[] {
    const r = this.reservations.find((x) => x.address === address);
    return (r?.assignments ?? []).map((a) => a.assignedTo!.split("/").at(-1)!);
  }

  listIpReservations(): Promise<IpReservation[]> {
    this.calls.push("list");
    const err = this.fail?.("list");
    return err ? Promise.reject(err) : Promise.resolve(structuredClone(this.reservations));
  }

  getIpReservation(id: string): Promise<IpReservation> {
    this.calls.push(`get ${id}`);
    const err = this.fail?.("get");
    if (err) return Promise.reject(err);
    const r = this.reservations.find((x) => x.id === id);
    return r ? Promise.resolve(structuredClone(r)) : Promise.reject(notFound(`/ips/${id}`));
  }

  assignIp(deviceId: string, address: string): Promise<IpAssignment> {
    this.calls.push(`assign ${deviceId}`);
    const err = this.fail?.("assign");
    if (err) return Promise.reject(err);
    const r = this.reservations.find((x) => x.address === address);
    if (!r) return Promise.reject(new Error(`no reservation of ${address}`));
    if (r.assignments.length > 0) return Promise.reject(new Error(`${address} is already assigned`));
    const a = this.#assignment(deviceId, address);
    r.assignments.push(a);
    return Promise.resolve(structuredClone(a));
  }

  unassignIp(id: string): Promise<void> {
    this.calls.push(`unassign ${id}`);
    const err = this.fail?.("unassign");
    if (err) return Promise.reject(err);
    for (const r of this.reservations) {
      const before = r.assignments.length;
      r.assignments = r.assignments.filter((a) => a.id !== id);
      if (r.assignments.length !== before) return Promise.resolve();
    }
    return Promise.reject(notFound(`/ips/${id}`));
  }

  #assignment(deviceId: string, address: string): IpAssignment {
    return {
      ...makeAddress(address, { public: true, management: false }),
      id: `asg-${this.#next++}`,
      cidr: 32,
      assignedTo: `/metal/v1/devices/${deviceId}`,
    };
  }
}

function notFound(path: string): MetalNotFoundError {
  return new MetalNotFoundError({ operation: "test", method: "GET", path, status: 404 }, "404 Not Found");
}

/**
 * A {@linkcode ControlPlaneKube} that records applies and shows their result in the given informers, as the
 * API server and a watch would (fields merged into the live object).
 */
export class FakeControlPlaneKube implements ControlPlaneKube {
  readonly applied: string[] = [];
  readonly configMaps = new Map<string, V1ConfigMap>();
  readonly #services: FakeInformer<V1Service>;
  readonly #slices: FakeInformer<V1EndpointSlice>;

  constructor(informers: { services: FakeInformer<V1Service>; slices: FakeInformer<V1EndpointSlice> }) {
    this.#services = informers.services;
    this.#slices = informers.slices;
  }

  applyService(body: V1Service): Promise<V1Service> {
    this.applied.push("service");
    return Promise.resolve(this.#merge(this.#services, body));
  }

  applyServiceStatus(body: V1Service): Promise<V1Service> {
    this.applied.push("service/status");
    return Promise.resolve(this.#merge(this.#services, body));
  }

  applyEndpointSlice(body: V1EndpointSlice): Promise<V1EndpointSlice> {
    this.applied.push("endpointslice");
    return Promise.resolve(this.#merge(this.#slices, body));
  }

  deleteService(namespace: string, name: string, uid: string): Promise<void> {
    this.applied.push("delete service");
    const key = `${namespace}/${name}`;
    if (this.#services.get(key)?.metadata?.uid === uid) this.#services.remove(key);
    return Promise.resolve();
  }

  readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    return Promise.resolve(this.configMaps.get(`${namespace}/${name}`));
  }

  #merge<T extends KubernetesObject>(informer: FakeInformer<T>, body: T): T {
    const { apiVersion: _a, kind: _k, ...rest } = body as T & { apiVersion?: string; kind?: string };
    const live = informer.get(objectKey(body));
    const merged = mergeDeep(structuredClone(live ?? {}), structuredClone(rest)) as T;
    informer.upsert(merged);
    return merged;
  }
}

function mergeDeep(into: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    into[k] =
      v && typeof v === "object" && !Array.isArray(v) && cur && typeof cur === "object" && !Array.isArray(cur)
        ? mergeDeep(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return into;
}
