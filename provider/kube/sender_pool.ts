/**
 * One HTTP connection pool for every client with the same TLS settings, as client-go's transport cache gives
 * the controllers' clients of one process: each controller keeps its own rate limiter and user agent, but a
 * request reuses any idle connection instead of opening (TCP and TLS) one per client — on a loaded API server
 * the first write of a fresh client waited seconds for its handshake.
 *
 * @module
 */
import { type HttpSender, type TlsOptions, UndiciSender } from "./transport.ts";

interface Entry {
  sender: HttpSender;
  users: number;
}

/** Hands out senders shared by TLS settings; a pool closes when the last client using it closes. */
export class SenderPool {
  readonly #entries = new Map<string, Entry>();
  readonly #create: (tls: TlsOptions) => HttpSender;

  /** `create` builds a sender for TLS settings not seen yet; default an {@linkcode UndiciSender}. */
  constructor(create: (tls: TlsOptions) => HttpSender = (tls) => new UndiciSender(tls)) {
    this.#create = create;
  }

  /** A sender for `tls`; its `close()` releases this client's share (idempotent). */
  acquire(tls: TlsOptions): HttpSender & { close(): Promise<void> } {
    const key = JSON.stringify([tls.ca, tls.cert, tls.key, tls.rejectUnauthorized, tls.servername]);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { sender: this.#create(tls), users: 0 };
      this.#entries.set(key, entry);
    }
    entry.users++;
    const shared = entry;
    let closed = false;
    return {
      send: (url, init) => shared.sender.send(url, init),
      close: async () => {
        if (closed) return;
        closed = true;
        if (--shared.users > 0) return;
        if (this.#entries.get(key) === shared) this.#entries.delete(key);
        await shared.sender.close?.();
      },
    };
  }

  /** Pools open now (for tests). */
  get size(): number {
    return this.#entries.size;
  }
}
