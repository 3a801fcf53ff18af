/**
 * {@linkcode HttpMetalClient}: the {@linkcode MetalClient} over `fetch` — every list read to its last page,
 * answers validated with zod, and requests sent through {@linkcode MetalTransport} (retries, shared rate
 * limiter, typed errors, metrics, trace logging).
 *
 * @module
 */
import type { z } from "zod";
import type {
  CallOptions,
  IncludeOptions,
  ListIpReservationsOptions,
  MetalClient,
  RequestPriority,
} from "./client.ts";
import { MetalResponseError } from "./errors.ts";
import {
  isRecord,
  MetalTransport,
  type MetalTransportOptions,
  requestInfo,
  type RequestSpec,
} from "./transport.ts";
import {
  type BgpConfig,
  type BgpConfigRequest,
  bgpConfigSchema,
  type BgpNeighbor,
  bgpNeighborSchema,
  type BgpSession,
  bgpSessionSchema,
  type Device,
  deviceSchema,
  type IpAssignment,
  ipAssignmentSchema,
  type IpReservation,
  type IpReservationRequest,
  ipReservationSchema,
  type IpReservationUpdate,
  metaSchema,
  type Project,
  projectSchema,
} from "./types.ts";

export { DEFAULT_METAL_BASE_URL, DEFAULT_METAL_RATE_LIMIT } from "./transport.ts";

/** The largest `per_page` the API schema allows for device and IP lists. */
export const MAX_PER_PAGE = 1000;

/** Safety stop for a server whose pagination never ends (the API's own `page` maximum). */
const MAX_PAGES = 100_000;

/** Options of {@linkcode HttpMetalClient}. */
export interface HttpMetalClientOptions extends MetalTransportOptions {
  /** `per_page` for device and IP reservation lists; default {@linkcode MAX_PER_PAGE}. */
  perPage?: number;
}

/**
 * The Metal API client over `fetch`.
 *
 * - Every list follows pagination to the last page (`page`/`per_page`, `meta.last_page`, `meta.next`).
 * - Retries with exponential backoff and jitter on 429 (honouring `Retry-After` / `X-RateLimit-Reset`),
 *   5xx, timeouts and connection errors — for calls that are safe to repeat; POSTs only on 429.
 * - A 429 pauses every call of this client until the server's `Retry-After` has passed.
 * - Answers are validated; a malformed one is a `MetalResponseError`, never a crash.
 *
 * @example
 * ```ts
 * const client = new HttpMetalClient({ apiKey: config.apiKey, baseUrl: config.baseURL, version: VERSION });
 * const devices = await client.listDevices(config.projectID);
 * ```
 */
export class HttpMetalClient implements MetalClient {
  #transport: MetalTransport;
  #perPage: number;

  constructor(options: HttpMetalClientOptions) {
    this.#transport = new MetalTransport(options);
    const perPage = options.perPage ?? MAX_PER_PAGE;
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_PER_PAGE) {
      throw new Error(
        `Invalid Metal API per-page size "${perPage}": use an integer from 1 to ${MAX_PER_PAGE}`,
      );
    }
    this.#perPage = perPage;
  }

  /** The base URL requests go to. */
  get baseUrl(): string {
    return this.#transport.baseUrl;
  }

  listDevices(projectId: string, options?: IncludeOptions): Promise<Device[]> {
    return this.#listAll({
      operation: "list_devices",
      path: `/projects/${id(projectId)}/devices`,
      query: includeQuery(options?.include),
      key: "devices",
      schema: deviceSchema,
      signal: options?.signal,
      priority: options?.priority,
    });
  }

  async getDevice(deviceId: string, options?: IncludeOptions): Promise<Device> {
    const spec = this.#get("get_device", `/devices/${id(deviceId)}`, options, includeQuery(options?.include));
    return decode(spec, deviceSchema, await this.#request(spec));
  }

  listIpReservations(projectId: string, options?: ListIpReservationsOptions): Promise<IpReservation[]> {
    const query = includeQuery(options?.includeAssignments ? ["assignments"] : undefined);
    for (const type of options?.types ?? []) query.append("types", type);
    return this.#listAll({
      operation: "list_ip_reservations",
      path: `/projects/${id(projectId)}/ips`,
      query,
      key: "ip_addresses",
      schema: ipReservationSchema,
      signal: options?.signal,
      priority: options?.priority,
      // VRF blocks have another shape and are never ours; skipping them is what the CCM needs.
      skip: (item) => isRecord(item) && item.type === "vrf",
    });
  }

  async createIpReservation(
    projectId: string,
    request: IpReservationRequest,
    options?: CallOptions,
  ): Promise<IpReservation> {
    const spec: RequestSpec = {
      operation: "create_ip_reservation",
      method: "POST",
      path: `/projects/${id(projectId)}/ips`,
      body: compact({
        type: request.type,
        quantity: request.quantity,
        metro: request.metro,
        facility: request.facility,
        tags: request.tags,
        details: request.details,
        customdata: request.customdata,
        fail_on_approval_required: request.failOnApprovalRequired,
      }),
      retry: "rate-limit-only",
      signal: options?.signal,
      priority: options?.priority,
    };
    return decode(spec, ipReservationSchema, await this.#request(spec));
  }

  async getIpReservation(reservationId: string, options?: IncludeOptions): Promise<IpReservation> {
    const spec = this.#get(
      "get_ip_reservation",
      `/ips/${id(reservationId)}`,
      options,
      includeQuery(options?.include),
    );
    return decodeReservation(spec, await this.#request(spec));
  }

  async updateIpReservation(
    reservationId: string,
    update: IpReservationUpdate,
    options?: CallOptions,
  ): Promise<IpReservation> {
    const spec: RequestSpec = {
      operation: "update_ip_reservation",
      method: "PATCH",
      path: `/ips/${id(reservationId)}`,
      body: compact({ details: update.details, tags: update.tags, customdata: update.customdata }),
      // Sets fields to given values, so repeating it is harmless.
      retry: "idempotent",
      signal: options?.signal,
      priority: options?.priority,
    };
    return decodeReservation(spec, await this.#request(spec));
  }

  async deleteIpReservation(reservationId: string, options?: CallOptions): Promise<void> {
    await this.#request(this.#delete("delete_ip_reservation", reservationId, options));
  }

  async assignIp(deviceId: string, address: string, options?: CallOptions): Promise<IpAssignment> {
    const spec: RequestSpec = {
      operation: "assign_ip",
      method: "POST",
      path: `/devices/${id(deviceId)}/ips`,
      body: { address },
      retry: "rate-limit-only",
      signal: options?.signal,
      priority: options?.priority,
    };
    return decode(spec, ipAssignmentSchema, await this.#request(spec));
  }

  async unassignIp(assignmentId: string, options?: CallOptions): Promise<void> {
    await this.#request(this.#delete("unassign_ip", assignmentId, options));
  }

  async getBgpConfig(projectId: string, options?: CallOptions): Promise<BgpConfig> {
    const spec = this.#get("get_bgp_config", `/projects/${id(projectId)}/bgp-config`, options);
    return decode(spec, bgpConfigSchema, (await this.#request(spec)) ?? {});
  }

  async createBgpConfig(projectId: string, request: BgpConfigRequest, options?: CallOptions): Promise<void> {
    await this.#request({
      operation: "create_bgp_config",
      method: "POST",
      path: `/projects/${id(projectId)}/bgp-configs`,
      body: compact({
        asn: request.asn,
        deployment_type: request.deploymentType,
        md5: request.md5 || undefined,
        use_case: request.useCase,
      }),
      retry: "rate-limit-only",
      signal: options?.signal,
      priority: options?.priority,
    });
  }

  async createBgpSession(
    deviceId: string,
    addressFamily: "ipv4" | "ipv6",
    options?: CallOptions,
  ): Promise<BgpSession> {
    const spec: RequestSpec = {
      operation: "create_bgp_session",
      method: "POST",
      path: `/devices/${id(deviceId)}/bgp/sessions`,
      body: { address_family: addressFamily },
      // A repeat is answered 422 "already has session", which callers treat as success.
      retry: "idempotent",
      signal: options?.signal,
      priority: options?.priority,
    };
    return decode(spec, bgpSessionSchema, await this.#request(spec));
  }

  async listProjectBgpSessions(projectId: string, options?: CallOptions): Promise<BgpSession[]> {
    const spec = this.#get("list_project_bgp_sessions", `/projects/${id(projectId)}/bgp/sessions`, options);
    return decodeItems(spec, "bgp_sessions", bgpSessionSchema, await this.#request(spec));
  }

  async listBgpSessions(deviceId: string, options?: CallOptions): Promise<BgpSession[]> {
    const spec = this.#get("list_bgp_sessions", `/devices/${id(deviceId)}/bgp/sessions`, options);
    return decodeItems(spec, "bgp_sessions", bgpSessionSchema, await this.#request(spec));
  }

  async getBgpNeighbors(deviceId: string, options?: CallOptions): Promise<BgpNeighbor[]> {
    const spec = this.#get("get_bgp_neighbors", `/devices/${id(deviceId)}/bgp/neighbors`, options);
    return decodeItems(spec, "bgp_neighbors", bgpNeighborSchema, await this.#request(spec));
  }

  async getProject(projectId: string, options?: CallOptions): Promise<Project> {
    const spec = this.#get("get_project", `/projects/${id(projectId)}`, options);
    return decode(spec, projectSchema, await this.#request(spec));
  }

  #get(operation: string, path: string, options?: CallOptions, query?: URLSearchParams): RequestSpec {
    return {
      operation,
      method: "GET",
      path,
      query,
      retry: "idempotent",
      signal: options?.signal,
      priority: options?.priority,
    };
  }

  #delete(operation: string, ipId: string, options?: CallOptions): RequestSpec {
    // Repeating a delete that already succeeded gives 404, which callers read as "already gone".
    return {
      operation,
      method: "DELETE",
      path: `/ips/${id(ipId)}`,
      retry: "idempotent",
      signal: options?.signal,
      priority: options?.priority,
    };
  }

  /** Reads every page of a list; items with an `id` seen twice (a page boundary shifted) are kept once. */
  async #listAll<S extends z.ZodType<{ id: string }>>(list: {
    operation: string;
    path: string;
    query: URLSearchParams;
    key: string;
    schema: S;
    signal: AbortSignal | undefined;
    priority?: RequestPriority;
    skip?: (item: unknown) => boolean;
  }): Promise<z.output<S>[]> {
    const items = new Map<string, z.output<S>>();
    for (let page = 1;; page++) {
      const query = new URLSearchParams(list.query);
      query.set("page", String(page));
      query.set("per_page", String(this.#perPage));
      const spec = this.#get(list.operation, list.path, list, query);
      const body = await this.#request(spec);
      if (!isRecord(body) || !Array.isArray(body[list.key])) {
        throw new MetalResponseError(
          requestInfo(spec),
          `unexpected response body: field '${list.key}' is not a list`,
        );
      }
      const raw = body[list.key] as unknown[];
      raw.forEach((item, index) => {
        if (list.skip?.(item)) return;
        const parsed = decode(spec, list.schema, item, `${list.key}[${index}]`);
        items.set(parsed.id, parsed);
      });
      const meta = decode(spec, metaSchema.optional(), body.meta ?? undefined, "meta");
      if (meta?.current_page !== undefined && meta.current_page !== page) {
        throw new MetalResponseError(
          requestInfo(spec),
          `unexpected response body: asked for page ${page} but got 'meta.current_page' ${meta.current_page}`,
        );
      }
      const more = meta?.last_page !== undefined
        ? meta.last_page > page
        : meta?.next?.href !== undefined && raw.length > 0;
      if (!more) return [...items.values()];
      if (page >= MAX_PAGES) {
        throw new MetalResponseError(requestInfo(spec), `pagination did not end after ${MAX_PAGES} pages`);
      }
    }
  }

  #request(spec: RequestSpec): Promise<unknown> {
    return this.#transport.request(spec);
  }
}

/** Encodes an id for a path segment; an empty id is a programming error, not a request for the collection. */
function id(value: string): string {
  if (!value) throw new TypeError("Cannot call the Metal API with an empty id");
  return encodeURIComponent(value);
}

function includeQuery(include: string[] | undefined): URLSearchParams {
  const query = new URLSearchParams();
  // The API reads `include` as one comma-separated value.
  if (include?.length) query.set("include", include.join(","));
  return query;
}

/** Drops `undefined` fields so they are not sent. */
function compact(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

/** Validates `value` with `schema`; a mismatch is a `MetalResponseError` naming the first bad fields. */
function decode<S extends z.ZodType>(spec: RequestSpec, schema: S, value: unknown, at?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 3).map((issue) => {
    const path = [at, ...issue.path.map(String)].filter(Boolean).join(".");
    return `${path || "body"}: ${issue.message}`;
  });
  throw new MetalResponseError(requestInfo(spec), `unexpected response body: ${problems.join("; ")}`);
}

function decodeItems<S extends z.ZodType>(
  spec: RequestSpec,
  key: string,
  schema: S,
  body: unknown,
): z.output<S>[] {
  const raw = isRecord(body) ? body[key] : undefined;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    throw new MetalResponseError(requestInfo(spec), `unexpected response body: field '${key}' is not a list`);
  }
  return raw.map((item, index) => decode(spec, schema, item, `${key}[${index}]`));
}

/** `GET|PATCH /ips/{id}` may answer an assignment or a VRF block; only a reservation is accepted. */
function decodeReservation(spec: RequestSpec, body: unknown): IpReservation {
  const type = isRecord(body) ? body.type : undefined;
  if (typeof type !== "string" || type === "vrf" || type === "IPAssignment") {
    throw new MetalResponseError(
      requestInfo(spec),
      `the address is not an IP reservation (type ${JSON.stringify(type ?? null)})`,
    );
  }
  return decode(spec, ipReservationSchema, body);
}
