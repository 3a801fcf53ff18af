/**
 * The error type domain code throws; the app turns it into `{"errors": [...]}` with its status.
 *
 * @module
 */

/** An API error response: HTTP status plus the messages for the `errors` array. */
export class ApiError extends Error {
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 503;
  readonly errors: string[];

  constructor(status: ApiError["status"], ...errors: [string, ...string[]]) {
    super(errors.join(", "));
    this.name = "ApiError";
    this.status = status;
    this.errors = errors;
  }
}

/** 404 with the message Metal clients recognise ("Not found" is what isNotFound checks for). */
export function notFound(what: string): ApiError {
  return new ApiError(404, `Not found: ${what}`);
}

/** 422 Unprocessable Entity, Metal's status for invalid input and refused operations. */
export function unprocessable(message: string): ApiError {
  return new ApiError(422, message);
}
