/**
 * A pass-through proxy in front of the simulator for one `ccm run` replica: it appends ` replica/<name>` to the
 * User-Agent, so the simulator's request log tells replicas apart (they send the same User-Agent otherwise).
 * Nothing is recorded here; headers and bodies pass unchanged otherwise.
 *
 * @module
 */
import { errorMessage } from "../../util/errors.ts";

/** Marker appended to the User-Agent. */
export function replicaUserAgent(userAgent: string, replica: string): string {
  return `${userAgent} replica/${replica}`;
}

/** The replica named in a User-Agent rewritten by {@linkcode MetalProxy}, or `undefined`. */
export function replicaOf(userAgent: string): string | undefined {
  return /\breplica\/(\S+)$/.exec(userAgent)?.[1];
}

/** See the module documentation. */
export class MetalProxy implements AsyncDisposable {
  readonly replica: string;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #target: string;

  /** Listens on a free loopback port and forwards to `target` (the simulator root). */
  constructor(options: { replica: string; target: string }) {
    this.replica = options.replica;
    this.#target = options.target;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#forward(request),
    );
  }

  /** The proxy's root URL; use `<url>/metal/v1` as `METAL_BASE_URL`. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async #forward(request: Request): Promise<Response> {
    const incoming = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.set("User-Agent", replicaUserAgent(headers.get("User-Agent") ?? "", this.replica));
    headers.delete("host");
    const body = request.body === null ? undefined : await request.arrayBuffer();
    try {
      const res = await fetch(`${this.#target}${incoming.pathname}${incoming.search}`, {
        method: request.method,
        headers,
        body,
        signal: request.signal,
      });
      // Read in full here: the request's signal may abort once this handler has answered.
      const payload = await res.arrayBuffer();
      return new Response(res.status === 204 ? null : payload, { status: res.status, headers: res.headers });
    } catch (err) {
      // The client went away (its timeout) or the simulator is down: answer like a dead gateway.
      return Response.json({ errors: [`proxy: ${errorMessage(err)}`] }, { status: 502 });
    }
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
