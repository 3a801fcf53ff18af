/**
 * Small helpers for calls through the typed Kubernetes clients: per-request options (merge-patch content type,
 * cancellation) and status checks on their errors.
 *
 * @module
 */
import {
  ApiException,
  type ConfigurationOptions,
  Observable,
  type ObservableMiddleware,
  PatchStrategy,
  type RequestContext,
  type ResponseContext,
} from "@kubernetes/client-node";

/** Options of {@linkcode kubeRequestOptions}. */
export interface KubeRequestOptions {
  /** Send the body as a JSON merge patch (RFC 7386). */
  mergePatch?: boolean;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** Per-request configuration for a typed client call, or `undefined` when nothing is needed. */
export function kubeRequestOptions(options: KubeRequestOptions): ConfigurationOptions | undefined {
  const { mergePatch, signal } = options;
  if (!mergePatch && !signal) return undefined;
  const middleware: ObservableMiddleware = {
    pre: (ctx: RequestContext) => {
      if (mergePatch) ctx.setHeaderParam("Content-Type", PatchStrategy.MergePatch);
      if (signal) ctx.setSignal(signal);
      return new Observable(Promise.resolve(ctx));
    },
    post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: "append" };
}

function kubeErrorStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** Whether a typed-client call failed with 404 Not Found. */
export function isKubeNotFound(err: unknown): boolean {
  return kubeErrorStatus(err) === 404;
}

/** Whether a typed-client call failed with 409: a stale resourceVersion, or on create a name already taken. */
export function isKubeConflict(err: unknown): boolean {
  return kubeErrorStatus(err) === 409;
}

/** A one-line description of a typed-client error: the server's Status message when there is one. */
export function kubeErrorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as unknown;
    let message: string | undefined;
    if (typeof body === "string") {
      try {
        message = (JSON.parse(body) as { message?: string }).message;
      } catch {
        message = body.slice(0, 200);
      }
    } else if (body && typeof body === "object") {
      message = (body as { message?: string }).message;
    }
    return `HTTP ${err.code}${message ? `: ${message}` : ""}`;
  }
  return err instanceof Error ? err.message : String(err);
}
