/**
 * Test support for the control-plane managers: a throw-away CA (made with the `openssl` command, like the
 * test cluster's) and stand-in API servers — HTTPS `/healthz` endpoints on loopback addresses sharing one port,
 * whose answers a test switches at will. For tests only.
 *
 * @module
 */

/** A CA that issues server certificates. */
export interface TestCa {
  /** PEM of the CA certificate. */
  cert: string;
  /** Issues a server certificate (PEM `cert` and `key`) for `ips`. */
  issue(name: string, ips: readonly string[]): Promise<{ cert: string; key: string }>;
  /** Removes the working directory. */
  remove(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** Creates a CA in a temporary directory. */
export async function createTestCa(subject = "/CN=control-plane-test-ca"): Promise<TestCa> {
  const dir = await Deno.makeTempDir({ prefix: "ccm-cp-ca-" });
  await openssl([
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    subject,
  ], dir);
  return {
    cert: await Deno.readTextFile(`${dir}/ca.crt`),
    async issue(name, ips) {
      await openssl([
        "req",
        "-x509",
        ...EC_KEY,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.crt`,
        "-days",
        "2",
        "-subj",
        `/CN=${name}`,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        `subjectAltName=DNS:${name}${ips.map((ip) => `,IP:${ip}`).join("")}`,
      ], dir);
      return {
        cert: await Deno.readTextFile(`${dir}/${name}.crt`),
        key: await Deno.readTextFile(`${dir}/${name}.key`),
      };
    },
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}

/** How a stand-in API server answers `/healthz`: an HTTP status, or `"hang"` (never answers). */
export type HealthAnswer = number | "hang";

/** Stand-in API servers on several loopback addresses, all on {@linkcode ApiServers.port}. */
export interface ApiServers extends AsyncDisposable {
  readonly port: number;
  /** Sets the answer of the server on `address`. */
  set(address: string, answer: HealthAnswer): void;
  /** `/healthz` requests received per address. */
  readonly hits: Map<string, number>;
  close(): Promise<void>;
}

/**
 * Starts one HTTPS server per address (for example `127.0.0.2`–`127.0.0.4`), all on the same free port, with a
 * certificate that does not name the addresses (health checks verify the chain, not the host name).
 */
export async function startApiServers(
  options: { addresses: readonly string[]; cert: string; key: string },
): Promise<ApiServers> {
  const answers = new Map<string, HealthAnswer>(options.addresses.map((a) => [a, 200]));
  const hits = new Map<string, number>(options.addresses.map((a) => [a, 0]));
  const hanging = new Set<() => void>();
  for (let attempt = 0;; attempt++) {
    const controller = new AbortController();
    const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
    try {
      let port = 0;
      for (const address of options.addresses) {
        const server = Deno.serve({
          hostname: address,
          port,
          cert: options.cert,
          key: options.key,
          signal: controller.signal,
          onListen: () => {},
        }, (req) => {
          if (new URL(req.url).pathname !== "/healthz") return new Response("not found", { status: 404 });
          hits.set(address, (hits.get(address) ?? 0) + 1);
          const answer = answers.get(address) ?? 200;
          if (answer === "hang") {
            return new Promise<Response>((resolve) => {
              const release = () => resolve(new Response("released", { status: 503 }));
              hanging.add(release);
            });
          }
          return new Response(answer === 200 ? "ok" : "unhealthy", { status: answer });
        });
        servers.push(server);
        port = server.addr.port;
      }
      const close = async () => {
        for (const release of hanging) release();
        hanging.clear();
        controller.abort();
        await Promise.all(servers.map((s) => s.finished));
      };
      return {
        port,
        hits,
        set: (address, answer) => answers.set(address, answer),
        close,
        [Symbol.asyncDispose]: close,
      };
    } catch (err) {
      controller.abort();
      await Promise.all(servers.map((s) => s.finished));
      if (!(err instanceof Deno.errors.AddrInUse) || attempt >= 20) throw err;
    }
  }
}
