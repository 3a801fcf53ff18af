/**
 * The Equinix Metal API client: the {@linkcode MetalClient} seam, its `fetch` implementation
 * {@linkcode HttpMetalClient}, typed errors, resource types and metrics.
 *
 * @module
 */
export type { CallOptions, IncludeOptions, ListIpReservationsOptions, MetalClient } from "./client.ts";
export * from "./errors.ts";
export * from "./http_client.ts";
export * from "./metrics.ts";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.ts";
export type {
  BgpConfig,
  BgpConfigRequest,
  BgpNeighbor,
  BgpSession,
  Device,
  Facility,
  IpAssignment,
  IpReservation,
  IpReservationRequest,
  IpReservationType,
  IpReservationUpdate,
  Metro,
  ParentBlock,
  Project,
} from "./types.ts";
