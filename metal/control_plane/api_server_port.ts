/**
 * The port the control-plane API servers listen on: `METAL_API_SERVER_PORT` when set, else the target port of
 * Service `default/kubernetes`. A named target port is resolved through the Service's EndpointSlices (whose
 * ports carry the Service port's name and the resolved number); upstream read it as 0 forever.
 *
 * @module
 */
import type { V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import { KUBERNETES_SERVICE, SERVICE_NAME_LABEL } from "./names.ts";

/** A resolved port and where it came from. */
export type ApiServerPort =
  | { ok: true; port: number; source: "METAL_API_SERVER_PORT" | "default/kubernetes" }
  | { ok: false; problem: string };

/** Input of {@linkcode resolveApiServerPort}. */
export interface ResolveApiServerPortInput {
  /** `METAL_API_SERVER_PORT`; 0 means unset. */
  configured: number;
  /** Service `default/kubernetes`, when known. */
  service?: V1Service;
  /** EndpointSlices of `default/kubernetes` (see {@linkcode isKubernetesEndpointSlice}). */
  slices: readonly V1EndpointSlice[];
}

/** Whether `slice` belongs to Service `default/kubernetes` (and not to any other Service in `default`). */
export function isKubernetesEndpointSlice(slice: V1EndpointSlice): boolean {
  return slice.metadata?.namespace === KUBERNETES_SERVICE.namespace &&
    slice.metadata?.labels?.[SERVICE_NAME_LABEL] === KUBERNETES_SERVICE.name;
}

/** Resolves the API server port; `problem` says what is missing and how to fix it. */
export function resolveApiServerPort(input: ResolveApiServerPortInput): ApiServerPort {
  if (input.configured > 0) return { ok: true, port: input.configured, source: "METAL_API_SERVER_PORT" };
  const fix = "or set METAL_API_SERVER_PORT";
  if (!input.service) {
    return { ok: false, problem: `Service default/kubernetes was not found; wait for the API server ${fix}` };
  }
  const first = input.service.spec?.ports?.[0];
  if (!first) return { ok: false, problem: `Service default/kubernetes has no ports; ${fix}` };
  const target = first.targetPort;
  if (target === undefined || target === "") {
    return { ok: true, port: first.port, source: "default/kubernetes" };
  }
  if (typeof target === "number") return { ok: true, port: target, source: "default/kubernetes" };
  if (/^\d+$/.test(target)) return { ok: true, port: Number(target), source: "default/kubernetes" };
  const name = first.name ?? "";
  const protocol = first.protocol ?? "TCP";
  for (const slice of input.slices) {
    for (const p of slice.ports ?? []) {
      if ((p.name ?? "") === name && (p.protocol ?? "TCP") === protocol && p.port) {
        return { ok: true, port: p.port, source: "default/kubernetes" };
      }
    }
  }
  return {
    ok: false,
    problem:
      `Named target port "${target}" of Service default/kubernetes is not resolved: no EndpointSlice ` +
      `port named "${name}" yet; ${fix}`,
  };
}
