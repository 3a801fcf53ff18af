/**
 * What every part needs from a thrown value: its message, whatever was thrown.
 *
 * @module
 */

/**
 * The message of a thrown value: `err.message` for an `Error` (or any object with a string `message`), else
 * `String(err)`. JavaScript may throw anything, so `catch (err)` gives `unknown`; this replaces
 * `(err as Error).message`, which is `undefined` for a thrown string.
 */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "object" && err !== null && typeof (err as { message?: unknown }).message === "string") {
    return (err as { message: string }).message;
  }
  return String(err);
}
