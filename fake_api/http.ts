/**
 * Request helpers shared by the route modules: JSON bodies validated by zod (errors name the field),
 * list-valued query parameters, UUID path parameters.
 *
 * @module
 */
import type { Context } from "hono";
import type { z } from "zod";
import { ApiError, notFound } from "./api_error.ts";
import { isUuid } from "./ids.ts";
import { errorMessage } from "../util/errors.ts";

/** Largest request body accepted (real clients send a few hundred bytes). */
export const MAX_BODY_BYTES = 256 * 1024;

/**
 * Turns zod issues into one message that names each field and says what was expected. With `input`, fields
 * that are absent are reported as required.
 */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  where = "request body",
  input?: unknown,
): string {
  const parts = issues.slice(0, 5).map((issue) => {
    const field = issue.path.length === 0 ? where : `"${issue.path.join(".")}"`;
    const missing = issue.path.length > 0 && input !== undefined && valueAt(input, issue.path) === undefined;
    if (missing || (issue.code === "invalid_type" && issue.message.endsWith("received undefined"))) {
      return `${field} is required`;
    }
    if (issue.code === "unrecognized_keys") {
      return `${field} has unknown keys ${issue.keys.map((k) => `"${k}"`)}`;
    }
    return `${field}: ${issue.message}`;
  });
  return `Invalid ${where}: ${parts.join("; ")}`;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const key of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** Reads a JSON body, checks content type and size, and validates it; throws 4xx with a clear message. */
export async function readJson<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T>> {
  const type = c.req.header("content-type") ?? "";
  const text = await readText(c);
  if (text.trim() === "") {
    throw new ApiError(
      422,
      "Request body is required: send a JSON object with Content-Type: application/json",
    );
  }
  if (!/^application\/(.+\+)?json\s*(;|$)/i.test(type)) {
    throw new ApiError(
      415,
      `Unsupported Content-Type "${
        type || "(none)"
      }": send the body as JSON with Content-Type: application/json`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, `Malformed JSON in request body: ${errorMessage(err)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ApiError(422, "Invalid request body: expected a JSON object");
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw new ApiError(422, describeIssues(result.error.issues, "request body", parsed));
  return result.data;
}

async function readText(c: Context): Promise<string> {
  const length = Number(c.req.header("content-length") ?? "0");
  if (length > MAX_BODY_BYTES) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch (err) {
      // The client went away (or sent less than its Content-Length): its fault, not the simulator's.
      throw new ApiError(400, `Request body could not be read: ${errorMessage(err)}`);
    }
    const { done, value } = next;
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(all);
  } catch {
    throw new ApiError(400, "Request body is not valid UTF-8");
  }
}

function tooLarge(): ApiError {
  return new ApiError(413, `Request body is larger than ${MAX_BODY_BYTES} bytes`);
}

/** Values of a list query parameter, whether repeated (`a=1&a=2`) or comma-separated (`a=1,2`). */
export function queryList(query: URLSearchParams, name: string): string[] {
  return query.getAll(name).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
}

/** Query parameters of the request (parsed once per request). */
export function searchParams(c: Context): URLSearchParams {
  const url = c.req.url;
  const i = url.indexOf("?");
  return new URLSearchParams(i < 0 ? "" : url.slice(i + 1));
}

/** Checks a UUID path parameter; a malformed id is a 404 that says why. */
export function uuidParam(c: Context, name: string, what: string): string {
  const id = c.req.param(name) ?? "";
  if (!isUuid(id)) {
    throw notFound(`${what} "${id}" (ids are UUIDs such as "2aff579b-c169-4a5c-95f6-e451e3a11fa6")`);
  }
  return id;
}

/** Reads a boolean query parameter (`true`/`false`); anything else is a 422. */
export function queryBool(query: URLSearchParams, name: string): boolean | undefined {
  const v = query.get(name);
  if (v === null || v === "") return undefined;
  if (v === "true") return true;
  if (v === "false") return false;
  throw new ApiError(422, `Invalid ${name} "${v}": use true or false`);
}
