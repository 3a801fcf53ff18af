/**
 * Small helpers for calls through the typed Kubernetes clients: per-request options (merge-patch content type,
 * cancellation) and status checks on their errors.
 *
 * @module
 */
import {
  ApiException,
  type ConfigurationOptions,
  type ObservableMiddleware,
  PatchStrategy,
  setHeaderMiddleware,
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
  const middleware: ObservableMiddleware[] = [];
  if (options.mergePatch) middleware.push(setHeaderMiddleware("Content-Type", PatchStrategy.MergePatch));
  const signal = options.signal;
  if (signal) {
    // The generated clients' Observable type is not exported; reuse a header middleware's to pass the request on.
    const inner = setHeaderMiddleware("Accept", "application/json");
    middleware.push({
      pre: (ctx) => {
        ctx.setSignal(signal);
        return inner.pre(ctx);
      },
      post: inner.post,
    });
  }
  if (middleware.length === 0) return undefined;
  return { middleware, middlewareMergeStrategy: "append" };
}

/** The HTTP status of a failed typed-client call, or `undefined` when no response arrived. */
export function kubeErrorStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** Whether a typed-client call failed with 404 Not Found. */
export function isKubeNotFound(err: unknown): boolean {
  return kubeErrorStatus(err) === 404;
}

/** Whether a typed-client call failed with 409 Conflict (stale resourceVersion or name taken). */
export function isKubeConflict(err: unknown): boolean {
  return kubeErrorStatus(err) === 409;
}

/** Whether a typed-client call failed with 409 AlreadyExists on create. */
export function isKubeAlreadyExists(err: unknown): boolean {
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
