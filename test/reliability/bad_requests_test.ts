/**
 * Item 5 (simulator) — malformed requests to a real `ccm fake-api` process, over the wire: what
 * `fake_api/bad_input_test.ts` cannot send in-process (raw request lines and headers, cut-off bodies, huge
 * headers and URLs, odd methods and encodings) and a seeded fuzz of every write route's body (types, enums,
 * ids, sizes, truncated and corrupted JSON). Asserted: never a 5xx (the request log agrees), a JSON `errors`
 * body on 4xx, no state change on 4xx, no internal error in the simulator's log; and (item 6) the API key and
 * BGP password never in its log or request log.
 */
import assert from "node:assert/strict";
import { LBAAS_PROVIDER_ID } from "../../fake_api/domain/lbaas.ts";
import { startFakeApi } from "../harness/main_process.ts";
import { seededRandom } from "../loadbalancer_system.ts";
import { leakedLines, type LoggedRequest, SECRET_API_KEY, SECRET_BGP_PASS, SEED, SOAK } from "./bed.ts";
import { report } from "./report.ts";

const P = "6f1d2c3b-0000-4000-8000-00000000c0de";
const FUZZ_CASES = SOAK ? 3000 : 300;

interface RawAnswer {
  status: number | undefined;
  body: string;
}

/** Sends `bytes` as they are on a new connection and reads the answer until the server closes it. */
async function raw(
  port: number,
  bytes: Uint8Array,
  options: { halfClose?: boolean } = {},
): Promise<RawAnswer> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const chunks: number[] = [];
  const timer = setTimeout(() => conn.close(), 10_000);
  try {
    await conn.write(bytes).catch(() => {});
    if (options.halfClose) await conn.closeWrite().catch(() => {});
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(...buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
  const text = new TextDecoder().decode(new Uint8Array(chunks));
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
  return { status: status ? Number(status) : undefined, body: text.slice(text.indexOf("\r\n\r\n") + 4) };
}

const enc = (s: string) => new TextEncoder().encode(s);
const HEAD = `Host: x\r\nX-Auth-Token: ${SECRET_API_KEY}\r\nConnection: close\r\n`;
const get = (target: string, extra = "") => enc(`GET ${target} HTTP/1.1\r\n${HEAD}${extra}\r\n`);
const post = (target: string, body: string, type = "application/json") =>
  enc(
    `POST ${target} HTTP/1.1\r\n${HEAD}Content-Type: ${type}\r\nContent-Length: ${
      enc(body).length
    }\r\n\r\n${body}`,
  );

/** A JSON value of an unexpected kind. */
const WEIRD: unknown[] = [
  null,
  true,
  -1,
  0,
  1.5,
  1e308,
  "",
  "x".repeat(2000),
  "東京",
  "<script>",
  [],
  {},
  [1, 2],
  { a: 1 },
  "1",
  "NaN",
  9007199254740993,
  "../../etc/passwd",
  "00000000-0000-0000-0000-000000000000",
];

Deno.test({
  name: "simulator: malformed requests over the wire get a 4xx with errors, never a 5xx, and change nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ccm-bad-requests-" });
    const fake = await startFakeApi({
      dir,
      seed: {
        projects: [{ id: P, name: "bad-requests" }],
        api_keys: [{ token: SECRET_API_KEY, project_ids: [P] }],
        devices: [{ project_id: P, hostname: "d1", metro: "sv" }, {
          project_id: P,
          hostname: "d2",
          metro: "sv",
        }],
      },
    });
    const port = Number(new URL(fake.url).port);
    const api = async (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const res = await fetch(`${fake.url}${path}`, {
        method,
        headers: { "X-Auth-Token": SECRET_API_KEY, "Content-Type": "application/json", ...headers },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, text };
    };
    try {
      // Objects for the routes to act on.
      const devices = JSON.parse((await api("GET", `/metal/v1/projects/${P}/devices`)).text).devices;
      const [d1, d2] = devices.map((d: { id: string }) => d.id);
      const ip = JSON.parse(
        (await api("POST", `/metal/v1/projects/${P}/ips`, { type: "public_ipv4", quantity: 1, metro: "sv" }))
          .text,
      );
      const token = JSON.parse(
        (await api("POST", "/iam/api-keys/exchange", undefined, {
          Authorization: `Bearer ${SECRET_API_KEY}`,
        })).text,
      ).access_token;
      const bearer = { Authorization: `Bearer ${token}` };
      const lb = JSON.parse(
        (await api("POST", `/lbaas/v1/projects/${P}/loadbalancers`, {
          name: "lb",
          location_id: "lctnloc-H5rl2M2VL5dcFmdxhbEKx",
          provider_id: LBAAS_PROVIDER_ID,
        }, bearer)).text,
      );
      const pool = JSON.parse(
        (await api(
          "POST",
          `/lbaas/v1/projects/${P}/loadbalancers/pools`,
          { name: "p", protocol: "tcp" },
          bearer,
        ))
          .text,
      );
      const state = async () => {
        const reads = await Promise.all([
          fetch(`${fake.url}/_fake/stats`).then((r) => r.text()),
          api("GET", `/metal/v1/projects/${P}/ips?include=assignments`),
          api("GET", `/metal/v1/projects/${P}/devices?include=ip_addresses`),
          api("GET", `/metal/v1/projects/${P}/bgp-config`),
          api("GET", `/lbaas/v1/projects/${P}/loadbalancers`, undefined, bearer),
          api("GET", `/lbaas/v1/projects/${P}/loadbalancers/pools`, undefined, bearer),
        ]);
        return JSON.stringify(reads);
      };

      // Hand-written wire-level corpus.
      const corpus: Array<{ name: string; bytes: Uint8Array; halfClose?: boolean }> = [
        { name: "invalid percent-encoding in an id", bytes: get("/metal/v1/devices/%zz") },
        { name: "path traversal", bytes: get("/metal/v1/../_fake/faults") },
        { name: "encoded traversal", bytes: get("/metal/v1/devices/..%2F..%2F_fake%2Ffaults") },
        { name: "unknown method", bytes: enc(`FOO /metal/v1/projects HTTP/1.1\r\n${HEAD}\r\n`) },
        { name: "TRACE", bytes: enc(`TRACE /metal/v1/projects HTTP/1.1\r\n${HEAD}\r\n`) },
        {
          name: "DELETE on a collection",
          bytes: enc(`DELETE /metal/v1/projects/${P}/ips HTTP/1.1\r\n${HEAD}\r\n`),
        },
        { name: "garbage request line", bytes: enc("\u0000\u0001garbage\r\n\r\n") },
        { name: "200 KB header", bytes: get("/metal/v1/projects", `X-Big: ${"a".repeat(200_000)}\r\n`) },
        { name: "200 KB URL", bytes: get(`/metal/v1/projects?${"a".repeat(200_000)}`) },
        {
          name: "non-ASCII token",
          bytes: new Uint8Array([
            ...enc("GET /metal/v1/projects HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Auth-Token: "),
            0xe6,
            0x9d,
            0xb1,
            ...enc("\r\n\r\n"),
          ]),
        },
        {
          name: "10 KB token",
          bytes: enc(
            `GET /metal/v1/projects HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Auth-Token: ${
              "k".repeat(10_000)
            }\r\n\r\n`,
          ),
        },
        {
          name: "empty token",
          bytes: enc(
            "GET /metal/v1/projects HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Auth-Token: \r\n\r\n",
          ),
        },
        {
          name: "body cut off before Content-Length",
          bytes: enc(
            `POST /metal/v1/projects/${P}/ips HTTP/1.1\r\n${HEAD}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":`,
          ),
          halfClose: true,
        },
        {
          name: "deeply nested JSON",
          bytes: post(`/metal/v1/projects/${P}/ips`, "[".repeat(100_000) + "]".repeat(100_000)),
        },
        {
          name: "JSON with a BOM",
          bytes: post(`/metal/v1/projects/${P}/ips`, '\ufeff{"type":"public_ipv4"}'),
        },
        {
          name: "UTF-16 charset",
          bytes: post(
            `/metal/v1/projects/${P}/ips`,
            '{"type":"public_ipv4"}',
            "application/json; charset=utf-16",
          ),
        },
        {
          name: "number overflow",
          bytes: post(`/metal/v1/projects/${P}/ips`, '{"type":"public_ipv4","quantity":1e400,"metro":"sv"}'),
        },
        { name: "JSON null", bytes: post(`/metal/v1/projects/${P}/ips`, "null") },
        {
          name: "duplicate keys",
          bytes: post(
            `/metal/v1/projects/${P}/ips`,
            '{"type":"public_ipv4","type":"vrf","quantity":1,"metro":"sv"}',
          ),
        },
        { name: "per_page not a number", bytes: get(`/metal/v1/projects/${P}/devices?per_page=abc`) },
        { name: "page beyond 2^64", bytes: get(`/metal/v1/projects/${P}/devices?page=99999999999999999999`) },
        { name: "unknown types enum", bytes: get(`/metal/v1/projects/${P}/ips?types=bogus`) },
        { name: "upper-case device id", bytes: get(`/metal/v1/devices/${String(d1).toUpperCase()}`) },
        { name: "braced device id", bytes: get(`/metal/v1/devices/{${d1}}`) },
        { name: "unicode id", bytes: get(`/metal/v1/ips/${encodeURIComponent("東京")}`) },
        {
          name: "LBaaS without a token",
          bytes: enc(
            `GET /lbaas/v1/projects/${P}/loadbalancers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
          ),
        },
        {
          name: "LBaaS with an unsigned token",
          bytes: enc(
            `GET /lbaas/v1/projects/${P}/loadbalancers HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.\r\n\r\n`,
          ),
        },
        {
          name: "LBaaS with a tampered token",
          bytes: enc(
            `GET /lbaas/v1/projects/${P}/loadbalancers HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${
              String(token).slice(0, -3)
            }abc\r\n\r\n`,
          ),
        },
        {
          name: "LBaaS with Basic auth",
          bytes: enc(
            `GET /lbaas/v1/projects/${P}/loadbalancers HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic ${
              btoa("a:b")
            }\r\n\r\n`,
          ),
        },
        {
          name: "token exchange without a key",
          bytes: enc(
            "POST /iam/api-keys/exchange HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer \r\nContent-Length: 0\r\n\r\n",
          ),
        },
        {
          name: "admin faults with garbage",
          bytes: enc(
            `PUT /_fake/faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{"errorRate":"x"}`,
          ),
        },
        {
          name: "admin scripted status 200",
          bytes: enc(
            `POST /_fake/faults/scripted HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{"path":"/x","status":200} `,
          ),
        },
        {
          name: "admin device of a missing project",
          bytes: enc(
            `POST /_fake/projects/${d2}/devices HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
          ),
        },
      ];
      const failures: string[] = [];
      let before = await state();
      for (const c of corpus) {
        const answer = await raw(port, c.bytes, { halfClose: c.halfClose });
        const after = await state();
        if (answer.status === undefined || answer.status >= 500 || answer.status < 400) {
          failures.push(`${c.name}: status ${answer.status}`);
        } else if (answer.body.startsWith("{") && !Array.isArray(JSON.parse(answer.body).errors)) {
          failures.push(`${c.name}: no errors array in ${answer.body.slice(0, 200)}`);
        }
        if (after !== before) failures.push(`${c.name}: state changed`);
        before = after;
      }

      // Seeded fuzz of every write route's body.
      const templates: Array<
        { method: string; path: string; body: Record<string, unknown>; headers?: Record<string, string> }
      > = [
        {
          method: "POST",
          path: `/metal/v1/projects/${P}/ips`,
          body: { type: "public_ipv4", quantity: 1, metro: "sv", tags: ["a"] },
        },
        {
          method: "PATCH",
          path: `/metal/v1/ips/${ip.id}`,
          body: { tags: ["x"], details: "d", customdata: { a: 1 } },
        },
        { method: "POST", path: `/metal/v1/devices/${d1}/ips`, body: { address: ip.address } },
        {
          method: "POST",
          path: `/metal/v1/projects/${P}/bgp-configs`,
          body: {
            asn: 65000,
            deployment_type: "local",
            md5: SECRET_BGP_PASS,
            use_case: "kubernetes-load-balancer",
          },
        },
        { method: "POST", path: `/metal/v1/devices/${d2}/bgp/sessions`, body: { address_family: "ipv4" } },
        {
          method: "POST",
          path: `/metal/v1/projects/${P}/devices`,
          body: { plan: "c3.small.x86", metro: "sv", operating_system: "ubuntu_24_04", hostname: "n1" },
        },
        {
          method: "POST",
          path: `/lbaas/v1/projects/${P}/loadbalancers`,
          body: { name: "lb2", location_id: "lctnloc-H5rl2M2VL5dcFmdxhbEKx", provider_id: LBAAS_PROVIDER_ID },
          headers: bearer,
        },
        {
          method: "POST",
          path: `/lbaas/v1/projects/${P}/loadbalancers/pools`,
          body: { name: "p2", protocol: "tcp" },
          headers: bearer,
        },
        {
          method: "POST",
          path: `/lbaas/v1/loadbalancers/${lb.id}/ports`,
          body: { name: "http", number: 80, pool_ids: [pool.id] },
          headers: bearer,
        },
        {
          method: "POST",
          path: `/lbaas/v1/loadbalancers/pools/${pool.id}/origins`,
          body: { name: "o", target: "10.0.0.1", port_number: 80, active: true, pool_id: pool.id },
          headers: bearer,
        },
      ];
      const random = seededRandom(SEED);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
      const statuses: Record<string, number> = {};
      for (let i = 0; i < FUZZ_CASES; i++) {
        const t = pick(templates);
        const body: Record<string, unknown> = structuredClone(t.body);
        const keys = Object.keys(body);
        let text: string;
        switch (Math.floor(random() * 6)) {
          case 0:
            delete body[pick(keys)];
            text = JSON.stringify(body);
            break;
          case 1:
            body[pick(keys)] = pick(WEIRD);
            text = JSON.stringify(body);
            break;
          case 2:
            body[`unknown_${i}`] = pick(WEIRD);
            body[pick(keys)] = pick(WEIRD);
            text = JSON.stringify(body);
            break;
          case 3:
            text = JSON.stringify(
              pick(WEIRD.filter((w) => typeof w !== "object" || w === null || Array.isArray(w))),
            );
            break;
          case 4: {
            const whole = JSON.stringify(body);
            text = whole.slice(0, Math.floor(random() * whole.length));
            break;
          }
          default: {
            const whole = JSON.stringify(body);
            const at = Math.floor(random() * whole.length);
            text = whole.slice(0, at) + String.fromCharCode(Math.floor(random() * 0x2fff)) +
              whole.slice(at + 1);
          }
        }
        const res = await api(t.method, t.path, text, t.headers);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        const after = await state();
        const where = `fuzz #${i} ${t.method} ${t.path} ${text.slice(0, 120)}`;
        if (res.status >= 500) failures.push(`${where}: ${res.status} ${res.text.slice(0, 200)}`);
        if (res.status >= 400 && after !== before) failures.push(`${where}: ${res.status} but state changed`);
        if (res.status >= 400 && !Array.isArray(JSON.parse(res.text || "{}").errors)) {
          failures.push(`${where}: no errors array`);
        }
        before = after;
      }

      const log = (await (await fetch(`${fake.url}/_fake/requests`)).json()).requests as LoggedRequest[];
      const fiveXX = log.filter((r) => r.status >= 500);
      if (fiveXX.length > 0) failures.push(`request log shows 5xx: ${JSON.stringify(fiveXX.slice(0, 5))}`);
      assert.deepEqual(failures, []);
      await fake.process.kill("SIGTERM");
      const output = await Deno.readTextFile(fake.process.logPath);
      assert.doesNotMatch(output, /Failed to handle request/, "no internal error");
      assert.deepEqual(leakedLines(output + JSON.stringify(log)), [], "no secret in the log or request log");
      report("bad-requests", {
        corpus: corpus.length,
        fuzz: FUZZ_CASES,
        seed: SEED,
        statuses,
        logged: log.length,
      });
    } finally {
      await fake.process.kill("SIGTERM");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
