/**
 * Host allowlist and path mapping for `ccm fake-api --intercept` (an HTTPS proxy for tools with a
 * hard-coded API URL). Only the hosts the simulator mirrors may be tunnelled to; each one's paths map onto
 * the simulator's own prefixes (see fake_api/README.md).
 */

/** The real hosts the simulator mirrors, with the simulator path prefix each host's paths map onto. */
export const INTERCEPT_HOSTS: Readonly<Record<string, { from: string; to: string }>> = {
  "api.equinix.com": { from: "/metal/v1", to: "/metal/v1" },
  "lb.metalctrl.io": { from: "", to: "/lbaas" },
  "iam.metalctrl.io": { from: "/api-keys/exchange", to: "/iam/api-keys/exchange" },
};

/** The outcome of checking a CONNECT target (`host:port`). */
export type ConnectTarget = { ok: true; host: string } | { ok: false; reason: string };

/** Checks a CONNECT request target: only port 443 of an intercepted host is accepted. */
export function checkConnectTarget(authority: string): ConnectTarget {
  const match = /^([^:\s]+):(\d+)$/.exec(authority.trim());
  if (!match) {
    return { ok: false, reason: `CONNECT target "${authority}" is not host:port` };
  }
  const host = match[1]!.toLowerCase().replace(/\.$/, "");
  const port = match[2]!;
  if (!(host in INTERCEPT_HOSTS)) {
    return {
      ok: false,
      reason: `host "${host}" is not simulated; the proxy only serves ${
        Object.keys(INTERCEPT_HOSTS).join(", ")
      }`,
    };
  }
  if (port !== "443") {
    return { ok: false, reason: `port ${port} is not served; the proxy only serves ${host}:443` };
  }
  return { ok: true, host };
}

/**
 * Maps a request path on an intercepted host to the simulator's path, or undefined when the host is not
 * intercepted or the path lies outside the part of it the simulator mirrors.
 */
export function simulatorPath(host: string, path: string): string | undefined {
  const entry = INTERCEPT_HOSTS[host.toLowerCase().replace(/:443$/, "").replace(/\.$/, "")];
  if (!entry) return undefined;
  if (entry.from === "") return entry.to + (path.startsWith("/") ? path : `/${path}`);
  if (path === entry.from || path.startsWith(`${entry.from}/`) || path.startsWith(`${entry.from}?`)) {
    return entry.to + path.slice(entry.from.length);
  }
  return undefined;
}

/** Options of {@linkcode startInterceptProxy}. */
export interface InterceptProxyOptions {
  /** Serves a request already mapped onto the simulator's paths (the simulator's Hono `fetch`). */
  handler: (request: Request) => Response | Promise<Response>;
  /** Leaf certificate and key for the intercepted hosts (see tls_ca.ts). */
  leaf: { cert: string; key: string };
  /** Proxy listen address; default 127.0.0.1. */
  hostname?: string;
  /** Proxy listen port; 0 (default) picks a free one. */
  port?: number;
}

/** A running intercepting proxy. */
export interface InterceptProxy {
  /** Proxy URL for HTTPS_PROXY, e.g. `http://127.0.0.1:PORT`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const encoder = new TextEncoder();

function plainResponse(status: number, reason: string, body: string): Uint8Array {
  const bytes = encoder.encode(`${body}\n`);
  return encoder.encode(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${bytes.length}\r\n` +
      `Connection: close\r\n\r\n${body}\n`,
  );
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await conn.write(data.subarray(written));
}

/** Reads the request head (up to the blank line); returns it and any bytes read past it. */
async function readHead(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array } | undefined> {
  let buffered = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  while (buffered.length < 16_384) {
    const n = await conn.read(chunk);
    if (n === null) return undefined;
    const next = new Uint8Array(buffered.length + n);
    next.set(buffered);
    next.set(chunk.subarray(0, n), buffered.length);
    buffered = next;
    const text = new TextDecoder("latin1").decode(buffered);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) return { head: text.slice(0, end), rest: buffered.subarray(end + 4) };
  }
  return undefined;
}

/**
 * Starts the intercepting proxy: CONNECT to an intercepted host is answered 200 and the tunnel is joined to
 * an internal loopback TLS server holding the leaf certificate, which maps each host's paths onto the
 * simulator's; CONNECT to any other host gets 403, any other method 405. The proxy never dials out.
 */
export function startInterceptProxy(options: InterceptProxyOptions): InterceptProxy {
  const tls = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: options.leaf.cert,
    key: options.leaf.key,
    onListen: () => {},
  }, (request) => {
    const url = new URL(request.url);
    const host = request.headers.get("host") ?? url.host;
    const path = simulatorPath(host, url.pathname);
    if (path === undefined) {
      return new Response(`${host}${url.pathname} is not simulated\n`, { status: 404 });
    }
    const target = new URL(path + url.search, url.origin);
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    return options.handler(
      new Request(target, {
        method: request.method,
        headers: request.headers,
        body: hasBody ? request.body : undefined,
        duplex: "half",
      } as RequestInit),
    );
  });
  const tlsPort = tls.addr.port;
  const listener = Deno.listen({ hostname: options.hostname ?? "127.0.0.1", port: options.port ?? 0 });
  const conns = new Set<Deno.Conn>();
  const handle = async (conn: Deno.Conn) => {
    conns.add(conn);
    try {
      const read = await readHead(conn);
      if (!read) return;
      const [method = "", target = ""] = read.head.split("\r\n")[0]!.split(" ");
      if (method.toUpperCase() !== "CONNECT") {
        await writeAll(
          conn,
          plainResponse(405, "Method Not Allowed", "this proxy only accepts CONNECT to the simulated hosts"),
        );
        return;
      }
      const checked = checkConnectTarget(target);
      if (!checked.ok) {
        await writeAll(conn, plainResponse(403, "Forbidden", checked.reason));
        return;
      }
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port: tlsPort });
      conns.add(upstream);
      await writeAll(conn, encoder.encode("HTTP/1.1 200 Connection Established\r\n\r\n"));
      if (read.rest.length > 0) await writeAll(upstream, read.rest);
      await Promise.allSettled([
        conn.readable.pipeTo(upstream.writable),
        upstream.readable.pipeTo(conn.writable),
      ]);
      conns.delete(upstream);
    } catch {
      // a dropped client or tunnel ends that connection only
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch { /* already closed by pipeTo */ }
    }
  };
  (async () => {
    try {
      for await (const conn of listener) void handle(conn);
    } catch { /* listener closed */ }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `http://${options.hostname ?? "127.0.0.1"}:${port}`,
    port,
    close: async () => {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      await tls.shutdown();
    },
  };
}
