/**
 * LBaaS and token-exchange schemas, written from the reconstructed LBaaS spec (the generated Go client's
 * models): responses strict, request bodies as the client sends them.
 *
 * @module
 */
import { z } from "zod";
import { DateTime } from "./common.ts";

/** `LoadBalancerPort`. */
export const LoadBalancerPort = z.strictObject({
  id: z.string(),
  name: z.string(),
  number: z.int32(),
  loadbalancer_id: z.string(),
  pool_ids: z.array(z.string()),
  created_at: DateTime,
  updated_at: DateTime,
});

const PoolShort = z.strictObject({
  id: z.string(),
  name: z.string(),
  created_at: DateTime,
  updated_at: DateTime,
});

/** `LoadBalancer` (`pools` is an array of arrays parallel to `ports`). */
export const LoadBalancer = z.strictObject({
  id: z.string(),
  name: z.string(),
  created_at: DateTime,
  updated_at: DateTime,
  provider: z.strictObject({ id: z.string().optional(), name: z.string() }),
  ports: z.array(LoadBalancerPort),
  pools: z.array(z.array(PoolShort)),
  ips: z.array(z.string()),
  location: z.strictObject({ id: z.string(), name: z.string(), created_at: DateTime, updated_at: DateTime }),
}).refine((lb) => lb.pools.length === lb.ports.length, { message: "pools must be parallel to ports" });

/** `LoadBalancerPoolOrigin` (`port_number` a JSON integer). */
export const LoadBalancerPoolOrigin = z.strictObject({
  id: z.string(),
  name: z.string(),
  target: z.string(),
  port_number: z.int32(),
  active: z.boolean(),
  pool_id: z.string(),
  created_at: DateTime,
  updated_at: DateTime,
});

/** `LoadBalancerPool` (protocol enum tcp, udp). */
export const LoadBalancerPool = z.strictObject({
  id: z.string(),
  name: z.string(),
  protocol: z.enum(["tcp", "udp"]),
  project_id: z.string(),
  created_at: DateTime,
  updated_at: DateTime,
  ports: z.array(LoadBalancerPort),
  origins: z.array(LoadBalancerPoolOrigin),
  loadbalancers: z.array(
    z.strictObject({ id: z.string(), name: z.string(), created_at: DateTime, updated_at: DateTime }),
  ),
});

/** `LoadBalancerCollection`. */
export const LoadBalancerCollection = z.strictObject({ loadbalancers: z.array(LoadBalancer) });
/** `LoadBalancerPortCollection`. */
export const LoadBalancerPortCollection = z.strictObject({ ports: z.array(LoadBalancerPort) });
/** `LoadBalancerPoolCollection`. */
export const LoadBalancerPoolCollection = z.strictObject({ pools: z.array(LoadBalancerPool) });
/** `LoadBalancerPoolOriginCollection`. */
export const LoadBalancerPoolOriginCollection = z.strictObject({ origins: z.array(LoadBalancerPoolOrigin) });

/** `ResourceCreatedResponse` (the CCM reads only `id`). */
export const ResourceCreatedResponse = z.strictObject({
  id: z.string(),
  message: z.string().optional(),
  version: z.string().optional(),
  status: z.int32().optional(),
});

/** Token exchange answer (decoded by golang.org/x/oauth2 as a Token). */
export const TokenResponse = z.strictObject({
  access_token: z.string().min(1),
  token_type: z.literal("Bearer"),
  expires_in: z.int().positive(),
  refresh_token: z.string().optional(),
  expiry: DateTime.optional(),
});

const Ids = z.array(z.string());
const PortNumber = z.int32();

/** `LoadBalancerCreate` (`port_ids` required but sent as null by the CCM). */
export const LoadBalancerCreate = z.object({
  name: z.string().min(1),
  location_id: z.string(),
  provider_id: z.string(),
  port_ids: Ids.nullable().optional(),
});
/** `LoadBalancerUpdate`. */
export const LoadBalancerUpdate = z.object({
  name: z.string().min(1).optional(),
  add_port_ids: Ids.optional(),
  remove_port_ids: Ids.optional(),
  clear_ports: z.boolean().optional(),
});
/** `LoadBalancerPortCreate`. */
export const LoadBalancerPortCreate = z.object({
  name: z.string().min(1),
  number: PortNumber,
  pool_ids: Ids.nullable().optional(),
});
/** `LoadBalancerPortUpdate`. */
export const LoadBalancerPortUpdate = z.object({
  name: z.string().min(1).optional(),
  number: PortNumber.optional(),
  add_pool_ids: Ids.optional(),
  remove_pool_ids: Ids.optional(),
});
/** `LoadBalancerPoolCreate`. */
export const LoadBalancerPoolCreate = z.object({
  name: z.string().min(1),
  protocol: z.enum(["tcp", "udp"]),
  port_ids: Ids.nullable().optional(),
  origin_ids: Ids.nullable().optional(),
});
/** `LoadBalancerPoolUpdate`. */
export const LoadBalancerPoolUpdate = z.object({
  name: z.string().min(1).optional(),
  protocol: z.enum(["tcp", "udp"]).optional(),
  add_port_ids: Ids.optional(),
  remove_port_ids: Ids.optional(),
  clear_ports: z.boolean().optional(),
  add_origin_ids: Ids.optional(),
  remove_origin_ids: Ids.optional(),
  clear_origins: z.boolean().optional(),
});
/** `LoadBalancerPoolOriginCreate`. */
export const LoadBalancerPoolOriginCreate = z.object({
  name: z.string().min(1),
  target: z.string(),
  port_number: PortNumber,
  active: z.boolean(),
  pool_id: z.string(),
});
/** `LoadBalancerPoolOriginUpdate`. */
export const LoadBalancerPoolOriginUpdate = z.object({
  name: z.string().min(1).optional(),
  target: z.string().optional(),
  port_number: PortNumber.optional(),
  active: z.boolean().optional(),
});
