/**
 * Test support: a seeded in-process simulator on a fake clock, and `call()`, which sends a request through
 * `app.request()` and checks every response — JSON content type, and the body against the project's schema for
 * that route (errors against `ErrorBody`) — so no test can accidentally accept an unfaithful response.
 *
 * @example
 * ```ts
 * const api = await createTestApi();
 * const res = await api.call("GET", `/metal/v1/projects/${TEST_PROJECT_ID}/devices`);
 * assert.equal(res.status, 200);
 * ```
 *
 * @module
 */
import { FakeClock } from "../util/clock.ts";
import { createFakeApi, type FakeApi, type FakeApiOptions } from "./app.ts";
import { responseSchema } from "./schemas/responses.ts";
import { describeIssues } from "./http.ts";
import type { Seed } from "./seed.ts";

/** Project of {@linkcode testSeed}, visible to {@linkcode TEST_API_KEY}. */
export const TEST_PROJECT_ID = "6f1d2c3b-0000-4000-8000-000000000001";
/** A second project, visible only to {@linkcode OTHER_API_KEY} and the user key. */
export const OTHER_PROJECT_ID = "6f1d2c3b-0000-4000-8000-000000000002";
/** Project-scoped key for {@linkcode TEST_PROJECT_ID}. */
export const TEST_API_KEY = "test-key-project-1";
/** Project-scoped key for {@linkcode OTHER_PROJECT_ID}. */
export const OTHER_API_KEY = "test-key-project-2";
/** User key that sees every project. */
export const USER_API_KEY = "test-key-user";
/** The fake clock's start: 2026-01-01T00:00:00Z. */
export const TEST_START_MS = Date.UTC(2026, 0, 1);

/** Two projects (the first with BGP disabled), three keys and no devices; extend with `extra`. */
export function testSeed(extra: Partial<Seed> = {}): Seed {
  return {
    projects: [
      { id: TEST_PROJECT_ID, name: "test-project" },
      { id: OTHER_PROJECT_ID, name: "other-project" },
    ],
    api_keys: [
      { token: TEST_API_KEY, project_ids: [TEST_PROJECT_ID] },
      { token: OTHER_API_KEY, project_ids: [OTHER_PROJECT_ID] },
      { token: USER_API_KEY },
    ],
    ...extra,
  };
}

/** A response as seen by a test: status, headers, parsed JSON body (`undefined` when empty). */
export interface ApiResponse {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** Options of {@linkcode TestApi.call}. */
export interface CallOptions {
  /** `X-Auth-Token` value; default {@linkcode TEST_API_KEY}; `null` sends none. */
  token?: string | null;
  /** JSON body (objects are serialised; strings are sent as-is). */
  body?: unknown;
  /** Extra or overriding headers. */
  headers?: Record<string, string>;
}

/** The in-process simulator plus its fake clock and the validating `call`. */
export interface TestApi extends FakeApi {
  clock: FakeClock;
  call(method: string, path: string, options?: CallOptions): Promise<ApiResponse>;
}

/** Builds a simulator from {@linkcode testSeed} (or `options.seed`) on a {@linkcode FakeClock}. */
export async function createTestApi(options: FakeApiOptions & { clock?: FakeClock } = {}): Promise<TestApi> {
  const clock = options.clock ?? new FakeClock(TEST_START_MS);
  const api = await createFakeApi({ seed: testSeed(), ...options, clock });
  const call = (method: string, path: string, opts: CallOptions = {}) => callApi(api, method, path, opts);
  return { ...api, clock, call };
}

/** Sends one request in-process and validates the response (throws when it breaks the contract). */
export async function callApi(
  api: Pick<FakeApi, "app">,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? TEST_API_KEY : options.token;
  if (token !== null) headers["X-Auth-Token"] = token;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  Object.assign(headers, options.headers);
  const res = await api.app.request(path, { method, headers, body });
  return await checkResponse(method, path, res);
}

/** Checks content type and schema of a response and returns it parsed. */
export async function checkResponse(method: string, path: string, res: Response): Promise<ApiResponse> {
  const text = await res.text();
  const where = `${method} ${path} → ${res.status}`;
  if (res.status === 204 || res.status === 202) {
    if (text !== "") throw new Error(`${where}: expected an empty body, got ${text.slice(0, 200)}`);
    return { status: res.status, headers: res.headers, body: undefined };
  }
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json")) {
    throw new Error(`${where}: Content-Type is "${type}", expected application/json`);
  }
  const json = JSON.parse(text);
  const pathname = path.split("?")[0]!;
  const schema = responseSchema(method, pathname, res.status);
  if (!schema) {
    if (pathname.startsWith("/_fake/")) return { status: res.status, headers: res.headers, body: json };
    throw new Error(`${where}: no response schema is registered for this route`);
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new Error(
      `${where}: response breaks the schema: ${describeIssues(result.error.issues, "response")}`,
    );
  }
  return { status: res.status, headers: res.headers, body: json };
}
