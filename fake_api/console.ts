/**
 * The simulator console at `/console`: a live web page of the simulated project (static files in
 * `fake_api/console/`), fed by
 *
 * | Method & path | Answer |
 * |---|---|
 * | GET `/console/` | the page (`index.html`, `app.js`, `style.css`) |
 * | GET `/console/api/state?page=&per_page=&q=&ips_page=&ips_q=&ips_all=` | projects, summary, a page of devices and reservations, BGP, load balancers, faults |
 * | GET `/console/api/stream` | Server-Sent Events: `changed` when the store or the faults change, `requests` with new request-log entries |
 * | any `/console/api/admin/...` | the admin API (`/_fake/...`), for the page's buttons (non-GET needs `X-Requested-By: ccm-console`) |
 *
 * With an admin token every console path needs it too: `?token=<token>` once (it is kept in an HttpOnly,
 * SameSite=Strict cookie and the URL is cleaned), or `Authorization: Bearer <token>`.
 *
 * Console requests are not recorded in the request log.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Hono, type MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { streamSSE } from "hono/streaming";
import { applyTransitions } from "./domain/devices.ts";
import { LBAAS_LOCATIONS } from "./domain/lbaas.ts";
import type { Faults } from "./faults.ts";
import type { DeviceRecord, ReservationRecord } from "./model.ts";
import { renderBgpConfig } from "./render/bgp.ts";
import { deviceMatchesSearch } from "./render/device.ts";
import { Expand } from "./render/expand.ts";
import type { RequestLog, RequestLogEntry } from "./request_log.ts";
import type { Store } from "./store.ts";
import { errorMessage } from "../util/errors.ts";

/** Cookie holding the admin token once the console was opened with `?token=`. */
export const CONSOLE_COOKIE = "ccm_console_token";
/** Header the page sends on state-changing calls (a cross-site form cannot set it). */
export const CONSOLE_HEADER = "x-requested-by";
/** Rows per page of the device and reservation views. */
export const PAGE_SIZE = 100;
/** How often the event stream looks for changes. */
const STREAM_TICK_MS = 200;
/** Request-log entries sent when a stream opens. */
const STREAM_BACKLOG = 500;

const STATIC_FILES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
};

/** What the console shows and acts on. */
export interface ConsoleDeps {
  store: Store;
  faults: Faults;
  requestLog: RequestLog;
  /** The admin app (mounted again at `/console/api/admin`). */
  admin: Hono;
  /** When set, every console path needs it. */
  adminToken?: string;
}

/** A mounted console. */
export interface MountedConsole {
  /** Ends the open event streams (they are long-lived: a server waiting for them would never stop). */
  close(): void;
}

/** Mounts the console on `parent` at `prefix` (`/console`). */
export function mountConsole(parent: Hono, prefix: string, deps: ConsoleDeps): MountedConsole {
  const closing = new AbortController();
  if (deps.adminToken !== undefined) {
    const auth = consoleAuth(deps.adminToken);
    parent.use(prefix, auth);
    parent.use(`${prefix}/*`, auth);
  }
  // Relative URLs in the page need the trailing slash.
  parent.get(prefix, (c) => c.redirect(`${prefix}/${new URL(c.req.url).search}`, 308));
  parent.get(`${prefix}/`, () => serveStatic("index.html"));
  parent.route(prefix, consoleRoutes(deps, closing.signal));
  return { close: () => closing.abort() };
}

function consoleRoutes(deps: ConsoleDeps, closing: AbortSignal): Hono {
  const changeKey = changeTracker(deps.store);
  const app = new Hono();
  app.get("/:file{[a-z]+\\.(?:html|js|css)}", (c) => {
    const file = c.req.param("file");
    if (!(file in STATIC_FILES)) {
      return c.json({ errors: [`Not found: the console has no file "${file}"`] }, 404);
    }
    return serveStatic(file);
  });

  app.get("/api/state", (c) => c.json(consoleState(deps.store, deps.faults, stateQuery(c.req.query()))));

  app.get("/api/stream", (c) => {
    c.header("Cache-Control", "no-store");
    return streamSSE(c, async (stream) => {
      let aborted = false;
      stream.onAbort(() => {
        aborted = true;
      });
      const backlog = deps.requestLog.list();
      let seq = backlog.at(-1)?.seq ?? 0;
      const key = () => `${changeKey()}/${JSON.stringify([deps.faults.settings, deps.faults.scripted])}`;
      let seen = key();
      await stream.writeSSE({ event: "hello", data: JSON.stringify({ generation: deps.store.generation }) });
      if (backlog.length > 0) await sendRequests(stream, backlog.slice(-STREAM_BACKLOG));
      while (!aborted && !closing.aborted) {
        await stream.sleep(STREAM_TICK_MS);
        const now = key();
        if (now !== seen) {
          seen = now;
          await stream.writeSSE({
            event: "changed",
            data: JSON.stringify({ generation: deps.store.generation }),
          });
        }
        const fresh = deps.requestLog.list(seq);
        if (fresh.length > 0) {
          seq = fresh.at(-1)!.seq;
          await sendRequests(stream, fresh);
        }
      }
    });
  });

  app.use("/api/admin/*", async (c, next) => {
    if (c.req.method !== "GET" && c.req.header(CONSOLE_HEADER) !== "ccm-console") {
      return c.json({
        errors: [`Missing header: console calls that change state need '${CONSOLE_HEADER}: ccm-console'`],
      }, 403);
    }
    await next();
  });
  app.route("/api/admin", deps.admin);
  return app;
}

async function sendRequests(
  stream: { writeSSE(m: { event: string; data: string }): Promise<void> },
  entries: RequestLogEntry[],
): Promise<void> {
  await stream.writeSSE({ event: "requests", data: JSON.stringify(entries) });
}

/**
 * Changes the page must show: committed changes (`generation`) and device transitions that came due since
 * (power and provisioning delays apply lazily, without a commit).
 */
/**
 * A key that changes whenever what the console shows does: the store's generation, and power transitions that
 * came due (they apply lazily, without a commit). One per mounted console.
 */
function changeTracker(store: Store): () => string {
  let changedByTime = 0;
  return () => {
    const now = store.clock.now();
    let due = 0;
    for (const d of store.devices.values()) {
      if (d.transitions.length > 0 && d.transitions[0]!.at <= now) {
        applyTransitions(d, now);
        due++;
      }
    }
    if (due > 0) changedByTime++;
    return `${store.generation}/${changedByTime}`;
  };
}

async function serveStatic(file: string): Promise<Response> {
  // Read from the module's own directory, which `deno compile --include fake_api/console` embeds.
  let body: Uint8Array<ArrayBuffer>;
  try {
    body = await Deno.readFile(new URL(`./console/${file}`, import.meta.url));
  } catch (err) {
    throw new Error(
      `console file ${file} is missing from this build (deno compile needs --include fake_api/console): ` +
        errorMessage(err),
    );
  }
  return new Response(body, {
    headers: { "content-type": STATIC_FILES[file]!, "cache-control": "no-cache" },
  });
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function consoleAuth(token: string): MiddlewareHandler {
  const want = sha256(token);
  const matches = (given: string | undefined) => given !== undefined && timingSafeEqual(sha256(given), want);
  const fix =
    "open /console/?token=<token> once (a cookie keeps it) or send 'Authorization: Bearer <token>', " +
    "with the token given to 'ccm fake-api --admin-token'";
  return async (c, next) => {
    const fromQuery = c.req.query("token");
    if (fromQuery !== undefined) {
      if (!matches(fromQuery)) return c.json({ errors: [`Wrong admin token in ?token=: ${fix}`] }, 401);
      setCookie(c, CONSOLE_COOKIE, token, { path: "/console", httpOnly: true, sameSite: "Strict" });
      const url = new URL(c.req.url);
      url.searchParams.delete("token");
      return c.redirect(`${url.pathname}${url.search}`, 303);
    }
    const header = c.req.header("authorization");
    const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (matches(bearer) || matches(getCookie(c, CONSOLE_COOKIE))) return await next();
    const problem = header !== undefined ? "Wrong admin token" : "Missing admin token";
    return c.json({ errors: [`${problem}: the console needs the admin token: ${fix}`] }, 401);
  };
}

/** Paging and filters of {@linkcode consoleState}. */
export interface StateQuery {
  /** Device page, from 1. */
  page: number;
  /** Device filter: substring of hostname, id, state, plan, metro, facility, address or tag. */
  q: string;
  /** Reservation page, from 1. */
  ipsPage: number;
  /** Reservation filter: substring of network, id, type, metro, tag or assigned device. */
  ipsQ: string;
  /** Also list the management blocks the platform makes for devices (a /31 per device...). */
  ipsAll: boolean;
}

function pageNumber(text: string | undefined): number {
  const n = Number(text ?? "1");
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

/** Reads {@linkcode StateQuery} from query parameters; bad values fall back to the first page, no filter. */
export function stateQuery(params: Record<string, string>): StateQuery {
  return {
    page: pageNumber(params.page),
    q: (params.q ?? "").trim().toLowerCase(),
    ipsPage: pageNumber(params.ips_page),
    ipsQ: (params.ips_q ?? "").trim().toLowerCase(),
    ipsAll: params.ips_all === "1" || params.ips_all === "true",
  };
}

/** A page of matching items. */
interface Page<T> {
  total: number;
  matched: number;
  page: number;
  pages: number;
  perPage: number;
  items: T[];
}

function paged<T, R>(
  all: Iterable<T>,
  total: number,
  page: number,
  match: (t: T) => boolean,
  map: (t: T) => R,
) {
  const matchedItems: T[] = [];
  for (const t of all) if (match(t)) matchedItems.push(t);
  const pages = Math.max(1, Math.ceil(matchedItems.length / PAGE_SIZE));
  const p = Math.min(page, pages);
  const out: Page<R> = {
    total,
    matched: matchedItems.length,
    page: p,
    pages,
    perPage: PAGE_SIZE,
    items: matchedItems.slice((p - 1) * PAGE_SIZE, p * PAGE_SIZE).map(map),
  };
  return out;
}

/** Decoded tags of a reservation: ccm's `usage=`, `service=` and `cluster=` tags, and the rest. */
export interface DecodedTags {
  usage?: string;
  /** The Service's hash (base64 SHA-256 of `namespace/name`); the page names it when it knows the Service. */
  service?: string;
  cluster?: string;
  other: string[];
}

/** Splits ccm's tags out of `tags`. */
export function decodeTags(tags: readonly string[]): DecodedTags {
  const out: DecodedTags = { other: [] };
  for (const tag of tags) {
    const m = /^(usage|service|cluster)=(.*)$/.exec(tag);
    if (m && out[m[1] as "usage"] === undefined) out[m[1] as "usage" | "service" | "cluster"] = m[2]!;
    else out.other.push(tag);
  }
  return out;
}

function deviceRow(store: Store, d: DeviceRecord) {
  return {
    id: d.id,
    projectId: d.projectId,
    hostname: d.hostname,
    state: d.state,
    plan: d.plan,
    metro: d.metro,
    facility: d.facility,
    tags: d.tags,
    locked: d.locked,
    createdAt: d.createdAt,
    addresses: d.ipIds.map((id) => {
      const a = store.assignments.get(id)!;
      const block = store.reservations.get(a.reservationId);
      return {
        id: a.id,
        address: a.address,
        cidr: a.cidr,
        family: a.family,
        public: block?.type !== "private_ipv4",
        management: block?.kind !== "elastic" && block?.kind !== "global",
        reservationId: a.reservationId,
      };
    }),
    bgpSessions: store.sessionsOf(d.id).map((s) => ({
      id: s.id,
      addressFamily: s.addressFamily,
      status: d.state === "active" ? "up" : "down",
    })),
  };
}

/** The API's `search` (hostname, tags, plan, facility, addresses…), plus what the console shows: id, state, metro. */
function deviceMatches(d: DeviceRecord, store: Store, q: string): boolean {
  return q === "" || deviceMatchesSearch(store, d, q) ||
    [d.id, d.state, d.metro].some((s) => s.toLowerCase().includes(q));
}

function reservationRow(store: Store, r: ReservationRecord) {
  return {
    id: r.id,
    projectId: r.projectId,
    type: r.type,
    kind: r.kind,
    management: r.kind !== "elastic" && r.kind !== "global",
    network: r.network,
    cidr: r.cidr,
    metro: r.metro ?? null,
    state: r.state,
    details: r.details ?? null,
    tags: r.tags,
    decodedTags: decodeTags(r.tags),
    assignments: r.assignmentIds.map((id) => {
      const a = store.assignments.get(id)!;
      return {
        id: a.id,
        address: a.address,
        cidr: a.cidr,
        deviceId: a.deviceId,
        hostname: store.devices.get(a.deviceId)?.hostname ?? null,
      };
    }),
  };
}

function reservationMatches(r: ReservationRecord, store: Store, query: StateQuery): boolean {
  if (!query.ipsAll && r.kind !== "elastic" && r.kind !== "global") return false;
  const q = query.ipsQ;
  if (q === "") return true;
  if ([r.network, r.id, r.type, r.metro ?? ""].some((s) => s.toLowerCase().includes(q))) return true;
  if (r.tags.some((t) => t.toLowerCase().includes(q))) return true;
  return r.assignmentIds.some((id) => {
    const a = store.assignments.get(id);
    return a !== undefined &&
      (a.address.includes(q) || (store.devices.get(a.deviceId)?.hostname.toLowerCase().includes(q) ?? false));
  });
}

/** The console's view of the whole simulator (the feed behind `/console/api/state`). */
export function consoleState(store: Store, faults: Faults, query: StateQuery = stateQuery({})) {
  const now = store.clock.now();
  const byState: Record<string, number> = {};
  for (const d of store.devices.values()) {
    applyTransitions(d, now);
    byState[d.state] = (byState[d.state] ?? 0) + 1;
  }
  let userReservations = 0;
  for (const r of store.reservations.values()) {
    if (r.kind === "elastic" || r.kind === "global") userReservations++;
  }
  let sessionsUp = 0;
  for (const s of store.bgpSessions.values()) {
    if (store.devices.get(s.deviceId)?.state === "active") sessionsUp++;
  }

  return {
    generation: store.generation,
    time: new Date(now).toISOString(),
    projects: [...store.projects.values()].map((p) => ({
      id: p.id,
      name: p.name,
      devices: store.devicesOf(p.id).length,
      bgpConfig: p.bgp ? renderBgpConfig(store, p, Expand.NONE) : null,
    })),
    summary: {
      devices: store.devices.size,
      devicesByState: byState,
      reservations: store.reservations.size,
      userReservations,
      assignments: store.assignments.size,
      bgpSessions: store.bgpSessions.size,
      bgpSessionsUp: sessionsUp,
      loadBalancers: store.loadBalancers.size,
      lbPools: store.lbPools.size,
      lbOrigins: store.lbOrigins.size,
    },
    devices: paged(
      store.devices.values(),
      store.devices.size,
      query.page,
      (d) => deviceMatches(d, store, query.q),
      (d) => deviceRow(store, d),
    ),
    reservations: paged(
      store.reservations.values(),
      store.reservations.size,
      query.ipsPage,
      (r) => reservationMatches(r, store, query),
      (r) => reservationRow(store, r),
    ),
    loadBalancers: [...store.loadBalancers.values()].map((lb) => ({
      id: lb.id,
      projectId: lb.projectId,
      name: lb.name,
      metro: LBAAS_LOCATIONS.get(lb.locationId)?.metro ?? null,
      ips: lb.ips,
      ports: lb.portIds.map((id) => store.lbPorts.get(id)!).map((port) => ({
        id: port.id,
        name: port.name,
        number: port.number,
        pools: port.poolIds.map((id) => store.lbPools.get(id)!).map((pool) => ({
          id: pool.id,
          name: pool.name,
          protocol: pool.protocol,
          origins: pool.originIds.map((id) => store.lbOrigins.get(id)!).map((o) => ({
            id: o.id,
            name: o.name,
            target: o.target,
            portNumber: o.portNumber,
            active: o.active,
          })),
        })),
      })),
    })),
    faults: { ...faults.settings, scripted: faults.scripted },
  };
}
