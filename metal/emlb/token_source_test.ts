import assert from "node:assert/strict";
import { FakeClock, settle } from "../../util/clock.ts";
import { ExchangeTokenSource, expiryOf, TokenExchangeError } from "./token_source.ts";

const URL = "http://iam.test/api-keys/exchange";
const KEY = "metal-key-123";

function scripted(answers: Array<() => Response>) {
  const requests: Request[] = [];
  let i = 0;
  const fetch = (req: Request) => {
    requests.push(req);
    const next = answers[Math.min(i++, answers.length - 1)];
    return Promise.resolve((next as () => Response)());
  };
  return { fetch, requests };
}

const token = (n: number, expiresIn = 3600) => () =>
  Response.json({ access_token: `tok-${n}`, token_type: "bearer", expires_in: expiresIn });

Deno.test("token is exchanged once and cached until shortly before expiry (upstream exchanged per call, docs/upstream.md#emlb)", async () => {
  const clock = new FakeClock(0);
  const { fetch, requests } = scripted([token(1), token(2)]);
  const source = new ExchangeTokenSource({ url: URL, apiKey: KEY, fetch, clock, refreshMarginMs: 60_000 });
  assert.equal(await source.authorization(), "Bearer tok-1");
  assert.equal(await source.authorization(), "Bearer tok-1");
  assert.equal(requests.length, 1);
  assert.equal(requests[0]?.method, "POST");
  assert.equal(requests[0]?.headers.get("authorization"), `Bearer ${KEY}`);
  await clock.advance(3600_000 - 60_001);
  assert.equal(await source.authorization(), "Bearer tok-1", "still fresh just before the margin");
  await clock.advance(2);
  assert.equal(await source.authorization(), "Bearer tok-2", "refreshed within the margin");
  assert.equal(requests.length, 2);
});

Deno.test("concurrent callers share one exchange", async () => {
  const { fetch, requests } = scripted([token(1)]);
  const source = new ExchangeTokenSource({ url: URL, apiKey: KEY, fetch, clock: new FakeClock(0) });
  const all = await Promise.all([source.authorization(), source.authorization(), source.authorization()]);
  assert.deepEqual(all, ["Bearer tok-1", "Bearer tok-1", "Bearer tok-1"]);
  assert.equal(requests.length, 1);
});

Deno.test("invalidate forces a new exchange", async () => {
  const { fetch, requests } = scripted([token(1), token(2)]);
  const source = new ExchangeTokenSource({ url: URL, apiKey: KEY, fetch, clock: new FakeClock(0) });
  await source.authorization();
  source.invalidate();
  assert.equal(await source.authorization(), "Bearer tok-2");
  assert.equal(requests.length, 2);
});

Deno.test("a short-lived token is refreshed at half its lifetime at the latest", async () => {
  const clock = new FakeClock(0);
  const { fetch } = scripted([token(1, 10), token(2, 10)]);
  const source = new ExchangeTokenSource({ url: URL, apiKey: KEY, fetch, clock, refreshMarginMs: 60_000 });
  await source.authorization();
  await clock.advance(4_999);
  assert.equal(await source.authorization(), "Bearer tok-1");
  await clock.advance(1);
  assert.equal(await source.authorization(), "Bearer tok-2");
});

Deno.test("expiryOf reads expires_in, then expiry, then the JWT exp claim", () => {
  const jwt = (exp: number) => `h.${btoa(JSON.stringify({ exp })).replace(/=+$/, "")}.s`;
  const cases: Array<[string, Parameters<typeof expiryOf>[0], number | undefined]> = [
    ["expires_in", { access_token: "x", expires_in: 60 }, 1_000 + 60_000],
    ["expiry", { access_token: "x", expiry: "1970-01-01T00:01:40Z" }, 100_000],
    ["jwt exp", { access_token: jwt(500) }, 500_000],
    ["none", { access_token: "opaque" }, undefined],
    ["zero expires_in falls through", { access_token: jwt(7), expires_in: 0 }, 7_000],
  ];
  for (const [name, tok, want] of cases) assert.equal(expiryOf(tok, 1_000), want, name);
});

Deno.test("the default lifetime applies when the answer has no expiry", async () => {
  const clock = new FakeClock(0);
  const { fetch, requests } = scripted([() => Response.json({ access_token: "opaque" })]);
  const source = new ExchangeTokenSource({
    url: URL,
    apiKey: KEY,
    fetch,
    clock,
    defaultTtlMs: 100_000,
    refreshMarginMs: 10_000,
  });
  await source.authorization();
  await clock.advance(89_999);
  await source.authorization();
  assert.equal(requests.length, 1);
  await clock.advance(1);
  await source.authorization();
  assert.equal(requests.length, 2);
});

Deno.test("a refused exchange fails with the status and body, never the key", async () => {
  const { fetch } = scripted([() => new Response("invalid key", { status: 401 })]);
  const source = new ExchangeTokenSource({ url: URL, apiKey: KEY, fetch, clock: new FakeClock(0) });
  await assert.rejects(source.authorization(), (err: unknown) => {
    assert.ok(err instanceof TokenExchangeError);
    assert.equal(err.status, 401);
    assert.match(err.message, /status 401, body "invalid key"; check METAL_API_KEY/);
    assert.doesNotMatch(err.message, new RegExp(KEY));
    return true;
  });
});

Deno.test("5xx answers are retried with backoff, then succeed", async () => {
  const clock = new FakeClock(0);
  const { fetch, requests } = scripted([() => new Response("", { status: 503 }), token(1)]);
  const source = new ExchangeTokenSource({ url: URL, apiKey: KEY, fetch, clock, random: () => 0.5 });
  const pending = source.authorization();
  while (clock.pendingSleeps === 0) await settle();
  await clock.advance(1_000);
  assert.equal(await pending, "Bearer tok-1");
  assert.equal(requests.length, 2);
});

Deno.test("a 200 without access_token is an error", async () => {
  const { fetch } = scripted([() => Response.json({ token_type: "Bearer" })]);
  const source = new ExchangeTokenSource({ url: URL, apiKey: KEY, fetch, clock: new FakeClock(0) });
  await assert.rejects(source.authorization(), /without an access_token/);
});
