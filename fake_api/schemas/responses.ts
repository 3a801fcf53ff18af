/**
 * Which schema describes each response: route pattern + method → success schema. Errors (status ≥ 400) are
 * always `ErrorBody`. Tests validate every JSON response through this table (see `testing.ts`).
 *
 * @module
 */
import type { z } from "zod";
import {
  ErrorBody,
  FacilityList,
  Metro,
  MetroList,
  OperatingSystemList,
  PlanList,
  Project,
  ProjectList,
} from "./common.ts";
import {
  BgpConfig,
  BgpSession,
  BgpSessionList,
  BgpSessionNeighbors,
  Device,
  DeviceList,
  IPAssignment,
  IPAssignmentList,
  IPAvailabilitiesList,
  IpById,
  IPReservation,
  IPReservationList,
} from "./metal.ts";
import {
  Event,
  EventList,
  HardwareReservation,
  HardwareReservationList,
  Organization,
  OrganizationList,
  SSHKey,
  SSHKeyList,
  User,
} from "./account.ts";
import {
  LoadBalancer,
  LoadBalancerCollection,
  LoadBalancerPool,
  LoadBalancerPoolCollection,
  LoadBalancerPoolOrigin,
  LoadBalancerPoolOriginCollection,
  LoadBalancerPort,
  LoadBalancerPortCollection,
  ResourceCreatedResponse,
  TokenResponse,
} from "./lbaas.ts";

const ID = "[^/]+";

/** One route's success schema. */
export interface ResponseRoute {
  method: string;
  pattern: RegExp;
  schema: z.ZodType;
}

function route(method: string, path: string, schema: z.ZodType): ResponseRoute {
  return { method, pattern: new RegExp(`^${path.replaceAll("{id}", ID)}$`), schema };
}

const M = "/metal/v1";
const L = "/lbaas/v1";

/** Success schemas of every JSON-returning API route. */
export const RESPONSE_ROUTES: readonly ResponseRoute[] = [
  route("GET", `${M}/projects`, ProjectList),
  route("GET", `${M}/projects/{id}`, Project),
  route("GET", `${M}/projects/{id}/devices`, DeviceList),
  route("POST", `${M}/projects/{id}/devices`, Device),
  route("GET", `${M}/devices/{id}`, Device),
  route("PUT", `${M}/devices/{id}`, Device),
  route("GET", `${M}/projects/{id}/ips`, IPReservationList),
  route("POST", `${M}/projects/{id}/ips`, IPReservation),
  route("GET", `${M}/ips/{id}`, IpById),
  route("PATCH", `${M}/ips/{id}`, IpById),
  route("GET", `${M}/ips/{id}/available`, IPAvailabilitiesList),
  route("PATCH", `${M}/devices/{id}`, Device),
  route("GET", `${M}/devices/{id}/ips`, IPAssignmentList),
  route("POST", `${M}/devices/{id}/ips`, IPAssignment),
  route("GET", `${M}/projects/{id}/bgp-config`, BgpConfig),
  route("GET", `${M}/projects/{id}/bgp/sessions`, BgpSessionList),
  route("GET", `${M}/devices/{id}/bgp/sessions`, BgpSessionList),
  route("POST", `${M}/devices/{id}/bgp/sessions`, BgpSession),
  route("GET", `${M}/devices/{id}/bgp/neighbors`, BgpSessionNeighbors),
  route("GET", `${M}/bgp/sessions/{id}`, BgpSession),
  route("GET", `${M}/locations/metros`, MetroList),
  route("GET", `${M}/locations/metros/{id}`, Metro),
  route("GET", `${M}/facilities`, FacilityList),
  route("GET", `${M}/plans`, PlanList),
  route("GET", `${M}/projects/{id}/plans`, PlanList),
  route("GET", `${M}/projects/{id}/facilities`, FacilityList),
  route("GET", `${M}/operating-systems`, OperatingSystemList),
  route("GET", `${M}/user`, User),
  route("GET", `${M}/users/{id}`, User),
  route("GET", `${M}/organizations`, OrganizationList),
  route("GET", `${M}/organizations/{id}`, Organization),
  route("GET", `${M}/ssh-keys`, SSHKeyList),
  route("POST", `${M}/ssh-keys`, SSHKey),
  route("GET", `${M}/ssh-keys/{id}`, SSHKey),
  route("PUT", `${M}/ssh-keys/{id}`, SSHKey),
  route("PATCH", `${M}/ssh-keys/{id}`, SSHKey),
  route("GET", `${M}/projects/{id}/ssh-keys`, SSHKeyList),
  route("POST", `${M}/projects/{id}/ssh-keys`, SSHKey),
  route("GET", `${M}/events`, EventList),
  route("GET", `${M}/events/{id}`, Event),
  route("GET", `${M}/organizations/{id}/events`, EventList),
  route("GET", `${M}/projects/{id}/events`, EventList),
  route("GET", `${M}/devices/{id}/events`, EventList),
  route("GET", `${M}/projects/{id}/hardware-reservations`, HardwareReservationList),
  route("GET", `${M}/hardware-reservations/{id}`, HardwareReservation),
  route("POST", "/iam/api-keys/exchange", TokenResponse),
  route("GET", `${L}/projects/{id}/loadbalancers`, LoadBalancerCollection),
  route("POST", `${L}/projects/{id}/loadbalancers`, ResourceCreatedResponse),
  route("GET", `${L}/projects/{id}/loadbalancers/pools`, LoadBalancerPoolCollection),
  route("POST", `${L}/projects/{id}/loadbalancers/pools`, ResourceCreatedResponse),
  route("PATCH", `${L}/loadbalancers/ports/{id}`, LoadBalancerPort),
  route("GET", `${L}/loadbalancers/pools/origins/{id}`, LoadBalancerPoolOrigin),
  route("PATCH", `${L}/loadbalancers/pools/origins/{id}`, LoadBalancerPoolOrigin),
  route("GET", `${L}/loadbalancers/pools/{id}`, LoadBalancerPool),
  route("PATCH", `${L}/loadbalancers/pools/{id}`, LoadBalancerPool),
  route("GET", `${L}/loadbalancers/pools/{id}/origins`, LoadBalancerPoolOriginCollection),
  route("POST", `${L}/loadbalancers/pools/{id}/origins`, ResourceCreatedResponse),
  route("GET", `${L}/loadbalancers/{id}`, LoadBalancer),
  route("PATCH", `${L}/loadbalancers/{id}`, ResourceCreatedResponse),
  route("GET", `${L}/loadbalancers/{id}/ports`, LoadBalancerPortCollection),
  route("POST", `${L}/loadbalancers/{id}/ports`, ResourceCreatedResponse),
  route("GET", `${L}/loadbalancers/{id}/ports/{id}`, LoadBalancerPort),
];

/**
 * The schema a response must satisfy: `ErrorBody` for errors, the route's schema for success, `undefined` when
 * the route is not an API route with a JSON body.
 */
export function responseSchema(method: string, path: string, status: number): z.ZodType | undefined {
  if (status >= 400) return ErrorBody;
  return RESPONSE_ROUTES.find((r) => r.method === method && r.pattern.test(path))?.schema;
}
