import assert from "node:assert/strict";
import { FakeClock, settle } from "../../util/clock.ts";
import { isLbaasNotFound, LbaasClient, LbaasError } from "./lbaas_client.ts";
import type { TokenProvider } from "./token_source.ts";
import { errorMessage } from "../../util/errors.ts";

function fakeTokens(): TokenProvider & { invalidations: number } {
  let n = 1;
  return {
    invalidations: 0,
    authorization: () => Promise.resolve(`Bearer t${n}`),
    invalidate() {
      this.invalidations++;
      n++;
    },
  };
}

function setup(answers: Array<(req: Request) => Response>) {
  const requests: Array<
    { method: string; url: string; auth: string | null; body: string; type: string | null }
  > = [];
  let i = 0;
  const fetch = async (req: Request) => {
    requests.push({
      method: req.method,
      url: req.url,
      auth: req.headers.get("authorization"),
      body: await req.text(),
      type: req.headers.get("content-type"),
    });
    const answer = answers[Math.min(i++, answers.length - 1)] as (req: Request) => Response;
    return answer(req);
  };
  const clock = new FakeClock(0);
  const tokens = fakeTokens();
  const client = new LbaasClient({
    baseUrl: "http://lb.test/",
    projectId: "proj",
    tokens,
    fetch,
    clock,
    random: () => 0.5,
    retry: { maxRetries: 2 },
  });
  return { client, requests, clock, tokens };
}

/** Runs `fn` while advancing the fake clock whenever the client sleeps. */
async function withClock<T>(clock: FakeClock, fn: () => Promise<T>): Promise<T> {
  let done = false;
  const p = fn();
  p.then(() => (done = true), () => (done = true));
  while (!done) {
    await settle();
    if (clock.pendingSleeps > 0) await clock.advance(60_000);
  }
  return await p;
}

const status = (code: number, body = "") => () => new Response(body, { status: code });

Deno.test("createLoadBalancer sends upstream's body and returns the id", async () => {
  const { client, requests } = setup([() => Response.json({ id: "lb-1", message: "ok" })]);
  const id = await client.createLoadBalancer({ name: "n", locationId: "loc", providerId: "prov" });
  assert.equal(id, "lb-1");
  assert.deepEqual(requests[0], {
    method: "POST",
    url: "http://lb.test/v1/projects/proj/loadbalancers",
    auth: "Bearer t1",
    body: JSON.stringify({ name: "n", "location_id": "loc", "port_ids": null, "provider_id": "prov" }),
    type: "application/json",
  });
});

Deno.test("GET is retried on 5xx; POST is not", async () => {
  let s = setup([status(503), () => Response.json({ id: "lb", ports: [], ips: ["1.2.3.4"] })]);
  const lb = await withClock(s.clock, () => s.client.getLoadBalancer("lb"));
  assert.deepEqual(lb.ips, ["1.2.3.4"]);
  assert.equal(s.requests.length, 2);
  s = setup([status(503), () => Response.json({ id: "x" })]);
  await assert.rejects(
    s.client.createPool("p"),
    (err: unknown) => err instanceof LbaasError && err.kind === "transient",
  );
  assert.equal(s.requests.length, 1);
});

Deno.test("429 is retried for every method, honouring Retry-After", async () => {
  const s = setup([
    () => new Response("", { status: 429, headers: { "retry-after": "2" } }),
    () => Response.json({ id: "pool-1" }),
  ]);
  const id = await withClock(s.clock, () => s.client.createPool("p"));
  assert.equal(id, "pool-1");
  assert.deepEqual(JSON.parse(s.requests[0]?.body ?? ""), { name: "p", protocol: "tcp" });
});

Deno.test("401 refreshes the token once, then fails", async () => {
  let s = setup([status(401), () => Response.json({ origins: [] })]);
  assert.deepEqual(await s.client.listOrigins("pool"), []);
  assert.deepEqual(s.requests.map((r) => r.auth), ["Bearer t1", "Bearer t2"]);
  assert.equal(s.tokens.invalidations, 1);
  s = setup([status(401)]);
  await assert.rejects(
    s.client.listOrigins("pool"),
    (err: unknown) => err instanceof LbaasError && err.kind === "unauthorized",
  );
  assert.equal(s.requests.length, 2);
});

Deno.test("delete of a missing object succeeds; get of one is a not-found error", async () => {
  const s = setup([status(404, JSON.stringify({ errors: ["not found"] }))]);
  await s.client.deletePool("pool-x");
  await assert.rejects(s.client.getLoadBalancer("lb-x"), (err: unknown) => {
    assert.ok(isLbaasNotFound(err));
    assert.match(
      errorMessage(err),
      /'get_load_balancer' \(GET \/v1\/loadbalancers\/lb-x\) failed: HTTP 404: not found/,
    );
    return true;
  });
});

Deno.test("a 4xx rejection carries the server's messages", async () => {
  const s = setup([status(422, JSON.stringify({ errors: ["port already exists"] }))]);
  await assert.rejects(
    s.client.createPort("lb", { name: "p", number: 80, poolIds: ["pool"] }),
    (err: unknown) =>
      err instanceof LbaasError && err.kind === "rejected" && /port already exists/.test(err.message),
  );
});

Deno.test("answers are validated leniently: unknown fields pass, missing ids fail clearly", async () => {
  let s = setup([() => Response.json({ id: "lb", extra: 1, ports: [{ id: "p", number: 80, odd: true }] })]);
  assert.equal((await s.client.getLoadBalancer("lb")).ports?.[0]?.number, 80);
  s = setup([() => Response.json({ ports: [] })]);
  await assert.rejects(s.client.getLoadBalancer("lb"), /unexpected answer: id:/);
});

Deno.test("no call is made with an empty id (upstream did, docs/upstream.md#emlb)", async () => {
  const s = setup([status(200)]);
  await assert.rejects(s.client.deleteLoadBalancer(""), /empty/);
  assert.equal(s.requests.length, 0);
});

Deno.test("a call that gets no answer times out; idempotent calls are retried first", async () => {
  const requests: string[] = [];
  const hang = (req: Request) =>
    new Promise<Response>((_, reject) => {
      requests.push(req.method);
      req.signal.addEventListener("abort", () => reject(req.signal.reason));
    });
  const clock = new FakeClock(0);
  const client = new LbaasClient({
    baseUrl: "http://lb.test",
    projectId: "proj",
    tokens: fakeTokens(),
    fetch: hang,
    clock,
    timeoutMs: 20,
    retry: { maxRetries: 1 },
    random: () => 0,
  });
  await assert.rejects(
    withClock(clock, () => client.listPools()),
    (err: unknown) =>
      err instanceof LbaasError && err.kind === "transient" && /no answer within 20 ms/.test(err.message),
  );
  assert.deepEqual(requests, ["GET", "GET"]);
});
