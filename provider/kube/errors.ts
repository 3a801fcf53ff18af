/**
 * Kubernetes API errors: a failed call of our client (`api.ts`, `watch.ts`) throws a {@linkcode KubeApiError}
 * with the Status `code`, `reason` and `message`; these helpers answer the usual questions (`isNotFound`,
 * `isConflict`, ...). Test fakes throw the same class (`apiError` in `provider/testing`).
 *
 * @module
 */
import { errorMessage } from "../../util/errors.ts";

/** Status reasons as the API server spells them (metav1.StatusReason). */
export type StatusReason =
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Gone"
  | "Expired"
  | "Invalid"
  | "Forbidden"
  | "Unauthorized"
  | "TooManyRequests"
  | "BadRequest"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "UnsupportedMediaType"
  | "RequestEntityTooLarge"
  | "Timeout"
  | "ServerTimeout"
  | "InternalError"
  | "ServiceUnavailable"
  | "Unknown"
  | (string & Record<never, never>);

/** A failed API request: HTTP status `code`, Status `reason` and the server's `message`. */
export class KubeApiError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  /** The Status object's `details` (kind, name, causes), when the server sent one. */
  readonly details?: Record<string, unknown>;
  /** Seconds the server asked us to wait (`Retry-After` or `details.retryAfterSeconds`). */
  readonly retryAfterSeconds?: number;

  constructor(
    init: {
      code: number;
      reason: StatusReason;
      message: string;
      details?: Record<string, unknown>;
      retryAfterSeconds?: number;
    },
    options?: ErrorOptions,
  ) {
    super(init.message, options);
    this.name = "KubeApiError";
    this.code = init.code;
    this.reason = init.reason;
    this.details = init.details;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** Reason the API server uses for a bare HTTP status, when the body is not a Status. */
function reasonForCode(code: number): StatusReason {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "Unknown";
  }
}

/**
 * Builds a {@linkcode KubeApiError} from an HTTP status and a response body (a Status object as JSON, as
 * parsed JSON, or anything else).
 */
export function kubeApiErrorFromResponse(
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
  cause?: unknown,
): KubeApiError {
  let status: Record<string, unknown> | undefined;
  if (typeof body === "string" && body.trim().startsWith("{")) {
    try {
      status = JSON.parse(body);
    } catch {
      status = undefined;
    }
  } else if (body && typeof body === "object" && !(body instanceof Uint8Array)) {
    status = body as Record<string, unknown>;
  }
  const details = status?.details as Record<string, unknown> | undefined;
  const retryAfterHeader = Number(headers["retry-after"]);
  const retryAfterDetail = Number(details?.retryAfterSeconds);
  const text = typeof body === "string" && !status ? body.trim().slice(0, 200) : "";
  const statusCode = typeof status?.code === "number" && status.code > 0 ? status.code : code;
  return new KubeApiError({
    code: statusCode,
    reason: typeof status?.reason === "string" && status.reason ? status.reason : reasonForCode(statusCode),
    message: typeof status?.message === "string" && status.message
      ? status.message
      : text || noMessage(statusCode),
    details,
    retryAfterSeconds: retryAfterHeader > 0
      ? retryAfterHeader
      : retryAfterDetail > 0
      ? retryAfterDetail
      : undefined,
  }, { cause });
}

/** Message of a {@linkcode KubeApiError} whose response said nothing but its status. */
function noMessage(code: number): string {
  return `the server responded with HTTP ${code}`;
}

/** Returns `err` when it is a {@linkcode KubeApiError}; otherwise `undefined` (network errors, bugs). */
export function asKubeApiError(err: unknown): KubeApiError | undefined {
  return err instanceof KubeApiError ? err : undefined;
}

/** HTTP status of a failed API call; `undefined` when `err` is no {@linkcode KubeApiError} (no answer). */
export function kubeStatusCode(err: unknown): number | undefined {
  return asKubeApiError(err)?.code;
}

/**
 * One line for an error message: `HTTP <code>: <the server's message>` for a failed API call (`HTTP <code>`
 * when the server said nothing more), else the error's own message.
 */
export function kubeErrorMessage(err: unknown): string {
  const apiErr = asKubeApiError(err);
  if (!apiErr) return errorMessage(err);
  return apiErr.message === noMessage(apiErr.code)
    ? `HTTP ${apiErr.code}`
    : `HTTP ${apiErr.code}: ${apiErr.message}`;
}

function hasCode(err: unknown, code: number, reason?: string): boolean {
  const apiErr = asKubeApiError(err);
  return apiErr !== undefined && (apiErr.code === code || (reason !== undefined && apiErr.reason === reason));
}

/** 404 NotFound. */
export function isNotFound(err: unknown): boolean {
  return hasCode(err, 404, "NotFound");
}

/** 409 Conflict (a stale resourceVersion on update). */
export function isConflict(err: unknown): boolean {
  const apiErr = asKubeApiError(err);
  return apiErr !== undefined && apiErr.code === 409 && apiErr.reason !== "AlreadyExists";
}

/** 409 AlreadyExists (create of an existing name). */
export function isAlreadyExists(err: unknown): boolean {
  const apiErr = asKubeApiError(err);
  return apiErr !== undefined && apiErr.reason === "AlreadyExists";
}

/** 410 Gone / Expired: the resourceVersion is too old; re-list. */
export function isGone(err: unknown): boolean {
  return hasCode(err, 410, "Expired");
}

/** 403 Forbidden (RBAC). */
export function isForbidden(err: unknown): boolean {
  return hasCode(err, 403, "Forbidden");
}

/** 429 TooManyRequests (API priority and fairness). */
export function isTooManyRequests(err: unknown): boolean {
  return hasCode(err, 429, "TooManyRequests");
}
