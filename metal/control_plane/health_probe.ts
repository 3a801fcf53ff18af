/**
 * The API server health check: `GET https://<address>:<port>/healthz`, healthy on HTTP 200 only, within a
 * deadline (5 s by default), the response body always read to the end.
 *
 * TLS: the server's certificate chain is verified against the cluster CA when one is known. The host name is
 * not checked: nodes are probed by IP address, and an API server certificate need not list every address a
 * node has (ExternalIP, InternalIP, the EIP). A chain signed by the cluster CA is what proves it is our API
 * server. With no CA known, verification is skipped (upstream always skipped it); the caller says so in a log.
 *
 * @module
 */
import https from "node:https";

/** Outcome of one probe. */
export interface ProbeOutcome {
  ok: boolean;
  /** `HTTP 200`, `HTTP 500`, `timed out after 5000 ms`, `connection refused`, ... */
  detail: string;
  /** Duration in seconds. */
  seconds: number;
}

/** Checks API server health; tests substitute their own. */
export interface HealthProber {
  /** Probes `url`; never rejects (failures are outcomes). */
  probe(url: string, signal?: AbortSignal): Promise<ProbeOutcome>;
}

/** Options of {@linkcode HttpsHealthProber}. */
export interface HttpsHealthProberOptions {
  /** Deadline of one probe, connection to last body byte; default 5000 ms. */
  timeoutMs?: number;
  /** PEM CA certificates to verify servers with, read at every probe; empty means "skip verification". */
  caCertificates?: () => readonly string[];
}

/** {@linkcode HealthProber} over `node:https`. */
export class HttpsHealthProber implements HealthProber {
  readonly #timeoutMs: number;
  readonly #ca: () => readonly string[];

  constructor(options: HttpsHealthProberOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#ca = options.caCertificates ?? (() => []);
  }

  probe(url: string, signal?: AbortSignal): Promise<ProbeOutcome> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    const ca = this.#ca();
    const timeoutMs = this.#timeoutMs;
    return new Promise<ProbeOutcome>((resolve) => {
      let settled = false;
      const finish = (ok: boolean, detail: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve({ ok, detail, seconds: seconds() });
      };
      const req = https.request(url, {
        method: "GET",
        agent: false,
        headers: { Accept: "text/plain", Connection: "close" },
        ...(ca.length > 0
          ? { ca: [...ca], rejectUnauthorized: true, checkServerIdentity: () => undefined }
          : { rejectUnauthorized: false }),
      }, (res) => {
        const status = res.statusCode ?? 0;
        // Read the body to the end so the connection is released (upstream leaked these).
        res.on("data", () => {});
        res.on("end", () => finish(status === 200, `HTTP ${status}`));
        res.on("error", (err) => finish(false, describeError(err)));
      });
      const timer = setTimeout(() => {
        finish(false, `timed out after ${timeoutMs} ms`);
        req.destroy();
      }, timeoutMs);
      const onAbort = () => {
        finish(false, "cancelled");
        req.destroy();
      };
      if (signal?.aborted) onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", (err) => finish(false, describeError(err)));
      req.end();
    });
  }
}

function describeError(err: Error & { code?: string }): string {
  switch (err.code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ECONNRESET":
      return "connection reset";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "host unreachable";
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message;
  }
}
