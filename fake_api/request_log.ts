/**
 * The admin request log: one entry per API request (method, path, query, status, time, duration, user agent and
 * the answer's `Retry-After`). No other header and no body is recorded, so API keys, tokens and BGP passwords
 * cannot leak through it.
 *
 * @module
 */

/** One logged request. */
export interface RequestLogEntry {
  /** Increasing sequence number (use `?since=` to read only newer entries). */
  seq: number;
  method: string;
  /** URL path without the query string. */
  path: string;
  /** Query string without the leading `?` ("" when none). */
  query: string;
  status: number;
  /** When the request arrived (ISO 8601). */
  time: string;
  durationMs: number;
  /** The request's `User-Agent` ("" when none), to tell clients apart. */
  userAgent: string;
  /** The `Retry-After` header of the answer (429s and scripted failures), when there was one. */
  retryAfter?: string;
}

/** A bounded in-memory log (oldest entries are dropped beyond `capacity`). */
export class RequestLog {
  #entries: RequestLogEntry[] = [];
  #seq = 0;
  readonly capacity: number;

  constructor(capacity = 10_000) {
    this.capacity = capacity;
  }

  /** Appends an entry and returns it. */
  add(entry: Omit<RequestLogEntry, "seq">): RequestLogEntry {
    const e = { seq: ++this.#seq, ...entry };
    this.#entries.push(e);
    if (this.#entries.length > this.capacity * 1.1) this.#entries = this.#entries.slice(-this.capacity);
    return e;
  }

  /** Entries with `seq > since`, oldest first. */
  list(since = 0): RequestLogEntry[] {
    const out = this.#entries.length > this.capacity ? this.#entries.slice(-this.capacity) : this.#entries;
    return since > 0 ? out.filter((e) => e.seq > since) : [...out];
  }

  /** Forgets every entry (sequence numbers keep increasing). */
  clear(): void {
    this.#entries = [];
  }
}
