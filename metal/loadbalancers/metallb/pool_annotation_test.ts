import { equal } from "node:assert/strict";
import type { KubeClients } from "../../../provider/kube/mod.ts";
import { apiError } from "../../../provider/testing/mod.ts";
import {
  DEPRECATED_POOL_ANNOTATION,
  detectPoolAnnotation,
  METALLB_V1BETA2_OPENAPI_PATH,
  POOL_ANNOTATION,
  poolAnnotationForSchemas,
} from "./pool_annotation.ts";

const peerSchema = (spec: Record<string, unknown>) => ({
  "io.metallb.v1beta2.BGPPeer": { properties: { spec: { properties: spec } } },
  "io.metallb.v1beta2.BGPPeerList": { properties: {} },
});

Deno.test("poolAnnotationForSchemas: metallb.io/ only when the v1beta2 BGPPeer has dynamicASN (≥ 0.14.9)", () => {
  equal(poolAnnotationForSchemas(peerSchema({ myASN: {}, dynamicASN: { type: "string" } })), POOL_ANNOTATION);
  equal(poolAnnotationForSchemas(peerSchema({ myASN: {}, passwordSecret: {} })), DEPRECATED_POOL_ANNOTATION);
  equal(poolAnnotationForSchemas({}), DEPRECATED_POOL_ANNOTATION);
});

function fakeKube(get: (path: string) => Promise<unknown>): KubeClients {
  return { rest: { get } } as unknown as KubeClients;
}

Deno.test("detectPoolAnnotation reads MetalLB's v1beta2 OpenAPI document; no v1beta2 (0.13) is the old key", async () => {
  const seen: string[] = [];
  const kube = fakeKube((path) => {
    seen.push(path);
    return Promise.resolve({ components: { schemas: peerSchema({ dynamicASN: {} }) } });
  });
  equal(await detectPoolAnnotation(kube), POOL_ANNOTATION);
  equal(seen[0], METALLB_V1BETA2_OPENAPI_PATH);
  const notFound = apiError(404, "not found");
  equal(await detectPoolAnnotation(fakeKube(() => Promise.reject(notFound))), DEPRECATED_POOL_ANNOTATION);
});
