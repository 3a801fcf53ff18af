/**
 * The secure serving port (`--bind-address`/`--secure-port`, default 0.0.0.0:10258): HTTPS with the given
 * certificate or a self-signed one generated in memory, serving `/healthz`, `/livez`, `/readyz` and `/metrics`.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { Hono } from "hono";
import type { Registry } from "prom-client";
import type { HealthChecks } from "./health.ts";
import { errorMessage } from "../util/errors.ts";

/** The check sets behind the three health endpoints. */
export interface HealthEndpoints {
  healthz: HealthChecks;
  livez: HealthChecks;
  readyz: HealthChecks;
}

/** Builds the HTTP app; tests call `app.request()` on it without a socket. */
export function createServerApp(options: { registry: Registry; health: HealthEndpoints }): Hono {
  const { registry, health } = options;
  const app = new Hono();
  for (const [endpoint, checks] of Object.entries(health)) {
    app.get(`/${endpoint}`, async (c) => {
      const report = await checks.run({
        verbose: c.req.query("verbose") !== undefined,
        exclude: c.req.queries("exclude") ?? [],
      });
      return c.text(report.body, report.status as 200 | 500);
    });
    app.get(`/${endpoint}/:name`, async (c) => {
      const report = await checks.runOne(c.req.param("name"));
      return c.text(report.body, report.status as 200 | 404 | 500);
    });
  }
  app.get("/metrics", async (c) => {
    return c.body(await registry.metrics(), 200, { "Content-Type": registry.contentType });
  });
  return app;
}

/** Options for {@linkcode startServer}. */
export interface ServerOptions {
  /** `--bind-address`. */
  bindAddress: string;
  /** `--secure-port`; 0 picks a free port (callers treat the flag's 0 as "disabled" and do not start). */
  port: number;
  /** `--tls-cert-file`; with `tlsPrivateKeyFile`, replaces the self-signed certificate. */
  tlsCertFile?: string;
  /** `--tls-private-key-file`. */
  tlsPrivateKeyFile?: string;
  registry: Registry;
  health: HealthEndpoints;
  /** Stops the server when aborted. */
  signal: AbortSignal;
}

/** A running server. */
export interface RunningServer {
  /** Port actually bound. */
  port: number;
  /** PEM of the serving certificate (to trust it in tests). */
  certificate: string;
  /** Resolves once the server has stopped. */
  finished: Promise<void>;
}

/**
 * Starts the HTTPS server.
 *
 * @throws {Error} When only one of the TLS files is given, a file cannot be read, or the port is taken.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const logger = getLogger(["ccm", "server"]);
  const { cert, key } = await loadCertificate(options);
  const app = createServerApp(options);
  const server = Deno.serve({
    hostname: options.bindAddress,
    port: options.port,
    cert,
    key,
    signal: options.signal,
    onListen: ({ hostname, port }) => logger.info("Serving securely", { address: `${hostname}:${port}` }),
    onError: (err) => {
      logger.error("Failed to serve request", { err });
      return new Response("internal server error\n", { status: 500 });
    },
  }, app.fetch);
  return { port: server.addr.port, certificate: cert, finished: server.finished };
}

async function loadCertificate(options: ServerOptions): Promise<{ cert: string; key: string }> {
  const { tlsCertFile = "", tlsPrivateKeyFile = "" } = options;
  if ((tlsCertFile === "") !== (tlsPrivateKeyFile === "")) {
    throw new Error(
      "Cannot serve HTTPS: '--tls-cert-file' and '--tls-private-key-file' must be given together; " +
        "set both, or neither for a self-signed certificate",
    );
  }
  if (tlsCertFile !== "") {
    try {
      return { cert: await Deno.readTextFile(tlsCertFile), key: await Deno.readTextFile(tlsPrivateKeyFile) };
    } catch (err) {
      throw new Error(
        `Cannot serve HTTPS: reading the TLS certificate or key failed: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
  }
  return await selfSignedCertificate(options.bindAddress);
}

/**
 * Generates a self-signed serving certificate in memory (as upstream does when no certificate is given), valid
 * for localhost, 127.0.0.1, ::1, the hostname and the bind address.
 */
export async function selfSignedCertificate(bindAddress = "0.0.0.0"): Promise<{ cert: string; key: string }> {
  const host = safeHostname();
  const dns = [...new Set(["localhost", host].filter((h) => h !== ""))];
  const ips = [...new Set(["127.0.0.1", "::1", bindAddress].filter((ip) => ip !== "0.0.0.0" && ip !== "::"))];
  const notBeforeDate = new Date(Date.now() - 60_000);
  // Loaded only when needed: the X.509 library costs ~7 MB of memory that a given certificate saves.
  const { generate } = await import("selfsigned");
  const pems = await generate([{
    name: "commonName",
    value: `${host || "localhost"}@${Math.floor(Date.now() / 1000)}`,
  }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          ...dns.map((value) => ({ type: 2 as const, value })),
          ...ips.map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

function safeHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}
