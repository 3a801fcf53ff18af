/**
 * Which Service annotation names the MetalLB pool. MetalLB ≤ 0.14.8 reads only
 * `metallb.universe.tf/address-pool`; MetalLB 0.14.9 renamed its annotations to `metallb.io/...` and, from then
 * on, still reads the old key but logs a `deprecatedAnnotation` warning and a Warning Event each time it
 * updates a Service carrying any `metallb.universe.tf/` annotation.
 *
 * ccm tells the two apart by MetalLB's CRDs as the API server serves them, through the OpenAPI v3 document of
 * `metallb.io/v1beta2` (readable by every authenticated client, no extra RBAC): the BGPPeer schema of 0.14.9
 * and later has `spec.dynamicASN`, added in the same release as the rename. No `v1beta2` (MetalLB 0.13) or no
 * such field means the old key. ConfigMap mode (MetalLB ≤ 0.12) always uses the old key.
 *
 * @module
 */
import { isNotFound, type KubeClients, requestOptions } from "../../../provider/kube/mod.ts";

/** The pool annotation every MetalLB version reads; deprecated since MetalLB 0.14.9. */
export const DEPRECATED_POOL_ANNOTATION = "metallb.universe.tf/address-pool";
/** The pool annotation of MetalLB ≥ 0.14.9. */
export const POOL_ANNOTATION = "metallb.io/address-pool";

/** OpenAPI v3 document of MetalLB's `v1beta2` API. */
export const METALLB_V1BETA2_OPENAPI_PATH = "/openapi/v3/apis/metallb.io/v1beta2";

/** `schema.properties[name]`, when both are objects. */
function property(schema: unknown, name: string): unknown {
  if (typeof schema !== "object" || schema === null) return undefined;
  const properties = (schema as { properties?: unknown }).properties;
  if (typeof properties !== "object" || properties === null) return undefined;
  return (properties as Record<string, unknown>)[name];
}

/**
 * The pool annotation the MetalLB whose CRDs are installed expects: {@linkcode POOL_ANNOTATION} when the served
 * `metallb.io/v1beta2` BGPPeer schema has `spec.dynamicASN` (MetalLB ≥ 0.14.9), else
 * {@linkcode DEPRECATED_POOL_ANNOTATION}. Errors other than 404 are thrown (the caller keeps its choice).
 */
export async function detectPoolAnnotation(kube: KubeClients, signal?: AbortSignal): Promise<string> {
  let doc: { components?: { schemas?: Record<string, unknown> } };
  try {
    doc = await kube.rest.get(METALLB_V1BETA2_OPENAPI_PATH, {}, requestOptions({ signal }));
  } catch (err) {
    if (isNotFound(err)) return DEPRECATED_POOL_ANNOTATION;
    throw err;
  }
  return poolAnnotationForSchemas(doc.components?.schemas ?? {});
}

/** {@linkcode detectPoolAnnotation} on an OpenAPI v3 `components.schemas` map. */
export function poolAnnotationForSchemas(schemas: Record<string, unknown>): string {
  const peer = Object.entries(schemas).find(([name]) => name.endsWith(".v1beta2.BGPPeer"))?.[1];
  return property(property(peer, "spec"), "dynamicASN") !== undefined
    ? POOL_ANNOTATION
    : DEPRECATED_POOL_ANNOTATION;
}
