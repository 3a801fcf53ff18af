/**
 * LBaaS identity: the token exchange (`POST /api-keys/exchange`, `Authorization: Bearer <Metal API key>`) hands
 * out short-lived HS256 JWT access tokens; LBaaS routes require `Authorization: Bearer <access token>`.
 * Tokens carry the key's internal id (never the key itself) and are signed with a secret kept in the state
 * file, so they stay valid across restarts.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { sign, verify } from "hono/jwt";
import { ApiError } from "./api_error.ts";
import type { AppEnv } from "./deps.ts";
import type { Store } from "./store.ts";

/** Access token lifetime. */
export const TOKEN_TTL_SECONDS = 3600;
const ISSUER = "ccm-fake-api";

function bearer(c: Context): string | undefined {
  const header = c.req.header("authorization") ?? "";
  const m = /^bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** Handles the token exchange: 200 with an OAuth2 token for a valid Metal API key, 401 otherwise. */
export async function exchangeToken(c: Context, store: Store): Promise<Response> {
  const apiKey = bearer(c);
  if (!apiKey) {
    throw new ApiError(401, "Missing API key: send it as 'Authorization: Bearer <Metal API key>'");
  }
  const key = store.apiKeys.get(apiKey);
  if (!key) throw new ApiError(401, "Invalid API key: the Metal API key is not recognised");
  const now = Math.floor(store.clock.now() / 1000);
  const accessToken = await sign(
    { iss: ISSUER, sub: key.id, iat: now, exp: now + TOKEN_TTL_SECONDS },
    store.tokenSecret,
    "HS256",
  );
  return c.json({ access_token: accessToken, token_type: "Bearer", expires_in: TOKEN_TTL_SECONDS });
}

/** Middleware: 401 unless the request carries a valid, unexpired access token of a still-existing key. */
export function lbaasAuth(store: Store): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = bearer(c);
    if (!token) {
      throw new ApiError(
        401,
        "Missing access token: send 'Authorization: Bearer <token>' with a token from POST /api-keys/exchange",
      );
    }
    let keyId: unknown;
    try {
      // Expiry is checked against the store clock below, not the wall clock, so fake clocks work.
      const payload = await verify(token, store.tokenSecret, {
        alg: "HS256",
        iss: ISSUER,
        exp: false,
        iat: false,
      });
      if (typeof payload.exp !== "number" || payload.exp * 1000 <= store.clock.now()) {
        throw new Error("expired");
      }
      keyId = payload.sub;
    } catch {
      throw new ApiError(401, "Invalid or expired access token: exchange your Metal API key again");
    }
    const key = typeof keyId === "string" ? store.apiKeysById.get(keyId) : undefined;
    if (!key) throw new ApiError(401, "Invalid access token: its API key no longer exists");
    c.set("apiKey", key);
    await next();
  };
}
