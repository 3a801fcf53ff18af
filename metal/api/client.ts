/**
 * The one seam between the CCM and the Equinix Metal API: {@linkcode MetalClient} lists only the calls the CCM
 * makes. {@linkcode HttpMetalClient} (`http_client.ts`) implements it over `fetch`; tests may use any object that
 * satisfies it.
 *
 * Errors: every method rejects with a subclass of `MetalApiError` (`errors.ts`) when the API refuses or cannot
 * be reached, or with the caller's `signal.reason` when the caller aborts.
 *
 * @module
 */
import type { AcquirePriority } from "../../util/token_bucket.ts";
import type {
  BgpConfig,
  BgpConfigRequest,
  BgpNeighbor,
  BgpSession,
  Device,
  IpAssignment,
  IpReservation,
  IpReservationRequest,
  IpReservationType,
  IpReservationUpdate,
  Project,
} from "./types.ts";

/** Options every call accepts. */
export interface CallOptions {
  /** Cancels the call, including waits for the rate limiter and between retries. */
  signal?: AbortSignal;
  /**
   * `background` calls (BGP backfill) wait for the shared rate limiter behind every `normal` call (node
   * initialization, Services); default `normal`.
   */
  priority?: RequestPriority;
}

/** Priority of a call at the shared client-side rate limiter. */
export type RequestPriority = AcquirePriority;

/** Options of calls that can expand referenced resources. */
export interface IncludeOptions extends CallOptions {
  /** Resources to expand, for example `["ip_addresses.parent_block", "parent_block"]`. */
  include?: string[];
}

/** Options of {@linkcode MetalClient.listIpReservations}. */
export interface ListIpReservationsOptions extends CallOptions {
  /** Only these reservation types (VRF reservations are skipped whatever this says). */
  types?: IpReservationType[];
  /** Also read each reservation's `assignments`. */
  includeAssignments?: boolean;
}

/** The Metal API calls the CCM makes. Lists return every page. */
export interface MetalClient {
  /** All devices of a project (`GET /projects/{id}/devices`, every page). */
  listDevices(projectId: string, options?: IncludeOptions): Promise<Device[]>;
  /** One device (`GET /devices/{id}`); 404 → `MetalNotFoundError`. */
  getDevice(deviceId: string, options?: IncludeOptions): Promise<Device>;

  /** All IP reservations of a project (`GET /projects/{id}/ips`, every page), VRF reservations skipped. */
  listIpReservations(projectId: string, options?: ListIpReservationsOptions): Promise<IpReservation[]>;
  /**
   * Reserves addresses (`POST /projects/{id}/ips`). Not retried after it may have reached the server: on a
   * timeout, look the reservation up by its tags before asking again.
   */
  createIpReservation(
    projectId: string,
    request: IpReservationRequest,
    options?: CallOptions,
  ): Promise<IpReservation>;
  /** One reservation (`GET /ips/{id}`); an id that names an assignment or a VRF block is a `MetalResponseError`. */
  getIpReservation(reservationId: string, options?: IncludeOptions): Promise<IpReservation>;
  /** Changes a reservation's details, tags or custom data (`PATCH /ips/{id}`). */
  updateIpReservation(
    reservationId: string,
    update: IpReservationUpdate,
    options?: CallOptions,
  ): Promise<IpReservation>;
  /** Releases a reservation (`DELETE /ips/{id}`); 404 → `MetalNotFoundError` (already gone). */
  deleteIpReservation(reservationId: string, options?: CallOptions): Promise<void>;

  /** Assigns a reserved address to a device (`POST /devices/{id}/ips`). */
  assignIp(deviceId: string, address: string, options?: CallOptions): Promise<IpAssignment>;
  /** Removes an assignment (`DELETE /ips/{assignmentId}`); 404 → `MetalNotFoundError` (already gone). */
  unassignIp(assignmentId: string, options?: CallOptions): Promise<void>;

  /** The project's BGP configuration (`GET /projects/{id}/bgp-config`); all fields absent when never enabled. */
  getBgpConfig(projectId: string, options?: CallOptions): Promise<BgpConfig>;
  /** Enables BGP on the project (`POST /projects/{id}/bgp-configs`). */
  createBgpConfig(projectId: string, request: BgpConfigRequest, options?: CallOptions): Promise<void>;
  /**
   * Creates a device's BGP session (`POST /devices/{id}/bgp/sessions`). A duplicate is a 422 "already has
   * session" (`isInvalidWith(err, "already has session")`), which makes retrying safe.
   */
  createBgpSession(
    deviceId: string,
    addressFamily: "ipv4" | "ipv6",
    options?: CallOptions,
  ): Promise<BgpSession>;
  /**
   * Every BGP session of a project's devices (`GET /projects/{id}/bgp/sessions`, one call, not paginated);
   * each names its device (`deviceId`).
   */
  listProjectBgpSessions(projectId: string, options?: CallOptions): Promise<BgpSession[]>;
  /** A device's BGP sessions (`GET /devices/{id}/bgp/sessions`). */
  listBgpSessions(deviceId: string, options?: CallOptions): Promise<BgpSession[]>;
  /** A device's BGP neighbour data (`GET /devices/{id}/bgp/neighbors`). */
  getBgpNeighbors(deviceId: string, options?: CallOptions): Promise<BgpNeighbor[]>;

  /** A project (`GET /projects/{id}`); a cheap authenticated call for health checks. */
  getProject(projectId: string, options?: CallOptions): Promise<Project>;
}
