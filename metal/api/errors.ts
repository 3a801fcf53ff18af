/**
 * Typed errors of the Metal API client. Callers branch on the class; the message says what failed (operation,
 * method, path, status and the server's own messages) and never contains the API token.
 *
 * @module
 */
import { TRANSIENT } from "../../provider/mod.ts";

/** Where a failed request went; carried by every {@linkcode MetalApiError}. */
export interface MetalRequestInfo {
  /** Stable operation name, for example `get_device`. */
  operation: string;
  method: string;
  /** Path and query below the base URL, for example `/devices/<id>?include=facility`. */
  path: string;
  /** HTTP status, when the server answered. */
  status?: number;
}

/** Base class of all Metal API client errors. */
export class MetalApiError extends Error {
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly status: number | undefined;
  /** Messages from the server's error body (`errors[]` and `error`), in order. */
  readonly serverMessages: readonly string[];

  constructor(
    info: MetalRequestInfo,
    detail: string,
    options?: ErrorOptions & { serverMessages?: readonly string[] },
  ) {
    const messages = options?.serverMessages ?? [];
    const suffix = messages.length > 0 ? `: ${messages.join(", ")}` : "";
    super(
      `Metal API request '${info.operation}' (${info.method} ${info.path}) failed: ${detail}${suffix}`,
      options,
    );
    this.name = "MetalApiError";
    this.operation = info.operation;
    this.method = info.method;
    this.path = info.path;
    this.status = info.status;
    this.serverMessages = messages;
  }
}

/** The API answered 404: the resource does not exist (or is not visible with this token). */
export class MetalNotFoundError extends MetalApiError {
  constructor(
    info: MetalRequestInfo,
    detail: string,
    options?: ConstructorParameters<typeof MetalApiError>[2],
  ) {
    super(info, detail, options);
    this.name = "MetalNotFoundError";
  }
}

/** The API answered 401: the API key is missing, invalid or revoked. */
export class MetalUnauthorizedError extends MetalApiError {
  constructor(
    info: MetalRequestInfo,
    detail: string,
    options?: ConstructorParameters<typeof MetalApiError>[2],
  ) {
    super(info, detail, options);
    this.name = "MetalUnauthorizedError";
  }
}

/** The API answered 403: the API key is valid but may not access this resource. */
export class MetalForbiddenError extends MetalApiError {
  constructor(
    info: MetalRequestInfo,
    detail: string,
    options?: ConstructorParameters<typeof MetalApiError>[2],
  ) {
    super(info, detail, options);
    this.name = "MetalForbiddenError";
  }
}

/** The API kept answering 429 after the client's retries; retry after {@linkcode retryAfterMs}. */
export class MetalRateLimitedError extends MetalApiError {
  /** How long the server asked us to wait (or our backoff estimate when it did not say). */
  readonly retryAfterMs: number;
  readonly [TRANSIENT] = true;
  constructor(
    info: MetalRequestInfo,
    detail: string,
    options: ConstructorParameters<typeof MetalApiError>[2] & { retryAfterMs: number },
  ) {
    super(info, detail, options);
    this.name = "MetalRateLimitedError";
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Why a {@linkcode MetalTransientError} happened. */
export type TransientKind = "server" | "network" | "timeout";

/** A failure that may go away by itself: 5xx, connection error or timeout (after the client's retries). */
export class MetalTransientError extends MetalApiError {
  readonly kind: TransientKind;
  readonly [TRANSIENT] = true;
  constructor(
    info: MetalRequestInfo,
    detail: string,
    options: ConstructorParameters<typeof MetalApiError>[2] & { kind: TransientKind },
  ) {
    super(info, detail, options);
    this.name = "MetalTransientError";
    this.kind = options.kind;
  }
}

/** The API answered 422: the request was understood but refused; {@linkcode serverMessages} says why. */
export class MetalInvalidError extends MetalApiError {
  constructor(
    info: MetalRequestInfo,
    detail: string,
    options?: ConstructorParameters<typeof MetalApiError>[2],
  ) {
    super(info, detail, options);
    this.name = "MetalInvalidError";
  }
}

/**
 * Any other answer the client cannot use: an unexpected status (400, 409, ...), a body that is not JSON, or a
 * body that does not have the shape the client needs.
 */
export class MetalResponseError extends MetalApiError {
  constructor(
    info: MetalRequestInfo,
    detail: string,
    options?: ConstructorParameters<typeof MetalApiError>[2],
  ) {
    super(info, detail, options);
    this.name = "MetalResponseError";
  }
}

/**
 * Whether `err` proves the resource does not exist: only a 404 answer from the Metal API counts. Every other
 * failure (auth, 5xx, timeouts, rate limits, malformed answers, unrelated errors) means "unknown".
 */
export function isDefinitelyNotFound(err: unknown): boolean {
  return err instanceof MetalNotFoundError;
}

/** Whether `err` is a 422 whose server messages contain `text` (case-insensitive). */
export function isInvalidWith(err: unknown, text: string): boolean {
  if (!(err instanceof MetalInvalidError)) return false;
  const needle = text.toLowerCase();
  return err.serverMessages.some((m) => m.toLowerCase().includes(needle));
}
