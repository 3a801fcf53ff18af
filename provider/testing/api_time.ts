/**
 * Times in test objects as our client returns them.
 *
 * @module
 */

/**
 * `ms` as the RFC 3339 string the API server sends (`metadata.creationTimestamp`, `deletionTimestamp`, ...),
 * typed as the `Date` that the official model types declare, so a test's `V1Node` holds at run time what a
 * real one holds: a string (see `provider/kube/json_types.ts`).
 */
export function apiTime(ms: number = Date.now()): Date {
  return new Date(ms).toISOString() as unknown as Date;
}
