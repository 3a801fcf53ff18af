import assert from "node:assert/strict";
import { CommanderError } from "commander";
import { fakeApiCommand, type FakeApiFlags, parseListen } from "./command.ts";
import { exportLines, metalEnv } from "./serve.ts";

async function parse(args: string[]): Promise<{ flags?: FakeApiFlags; error?: string }> {
  let flags: FakeApiFlags | undefined;
  let stderr = "";
  const command = fakeApiCommand({ serve: (f) => Promise.resolve(void (flags = f)) })
    .exitOverride()
    .configureOutput({ writeErr: (s) => void (stderr += s), writeOut: () => {} });
  try {
    await command.parseAsync(args, { from: "user" });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    assert.equal(err.exitCode, err.code === "ccm.flags" ? 2 : 1);
    return { error: stderr || err.message };
  }
  return { flags };
}

Deno.test("fake-api flags: defaults", async () => {
  const { flags } = await parse([]);
  assert.deepEqual(flags, {
    listen: { hostname: "127.0.0.1", port: 8080 },
    adminToken: undefined,
    state: undefined,
    seed: undefined,
    provisionDelayMs: 0,
    powerDelayMs: undefined,
    latencyMs: 0,
    errorRate: 0,
    rateLimit: 0,
    verbosity: 0,
    loggingFormat: "json",
  });
});

Deno.test("fake-api flags: Go durations, shares, klog -v=2, listen address, files", async () => {
  const { flags } = await parse([
    "--listen",
    "0.0.0.0:9000",
    "--admin-token",
    "0123456789abcdef0123",
    "--state",
    "/tmp/s.json",
    "--seed=/tmp/seed.json",
    "--provision-delay",
    "1m30s",
    "--power-delay=500ms",
    "--latency",
    "50ms",
    "--error-rate",
    "0.05",
    "--rate-limit",
    "20",
    "-v=2",
    "--logging-format",
    "text",
  ]);
  assert.deepEqual(flags, {
    listen: { hostname: "0.0.0.0", port: 9000 },
    adminToken: "0123456789abcdef0123",
    state: "/tmp/s.json",
    seed: "/tmp/seed.json",
    provisionDelayMs: 90_000,
    powerDelayMs: 500,
    latencyMs: 50,
    errorRate: 0.05,
    rateLimit: 20,
    verbosity: 2,
    loggingFormat: "text",
  });
  assert.equal((await parse(["--v", "4"])).flags?.verbosity, 4);
});

Deno.test("fake-api flags: bad values are usage errors that say what is expected", async () => {
  assert.match((await parse(["--provision-delay", "5"])).error ?? "", /Cannot parse duration '5'/);
  assert.match((await parse(["--error-rate", "2"])).error ?? "", /share from 0 to 1/);
  assert.match((await parse(["--rate-limit", "-1"])).error ?? "", /whole number/);
  assert.match((await parse(["--listen", "localhost"])).error ?? "", /HOST:PORT/);
  assert.match((await parse(["--logging-format", "xml"])).error ?? "", /json, text/);
});

Deno.test("fake-api flags: a non-loopback --listen needs --admin-token, which must be long enough", async () => {
  for (const listen of ["0.0.0.0:8080", "[::]:8080", "192.0.2.10:8080", "example.com:8080"]) {
    assert.match(
      (await parse(["--listen", listen])).error ?? "",
      /Refusing to serve the unauthenticated admin API \(\/_fake\) on '.*', which is not a loopback address; pass --admin-token TOKEN/,
      listen,
    );
  }
  for (const listen of ["127.0.0.1:0", "127.0.0.2:0", "[::1]:0", "localhost:0", ":0"]) {
    assert.equal((await parse(["--listen", listen])).error, undefined, listen);
  }
  assert.match((await parse(["--admin-token", "short"])).error ?? "", /at least 16 characters/);
  assert.match((await parse(["--admin-token", "0123456789abcdef 0"])).error ?? "", /at least 16 characters/);
  assert.equal((await parse(["--admin-token", "0123456789abcdef"])).flags?.adminToken, "0123456789abcdef");
});

Deno.test("fake-api flags: --intercept listens on loopback 8443 unless told, with a given CA or a new one", async () => {
  assert.deepEqual((await parse(["--intercept"])).flags?.intercept, {
    listen: { hostname: "127.0.0.1", port: 8443 },
    caCert: undefined,
    caKey: undefined,
  });
  assert.deepEqual(
    (await parse([
      "--intercept",
      "--intercept-listen",
      "127.0.0.1:0",
      "--ca-cert",
      "/c.pem",
      "--ca-key",
      "/k.pem",
    ]))
      .flags?.intercept,
    { listen: { hostname: "127.0.0.1", port: 0 }, caCert: "/c.pem", caKey: "/k.pem" },
  );
  assert.match(
    (await parse(["--intercept", "--ca-cert", "/c.pem"])).error ?? "",
    /--ca-cert and --ca-key go together/,
  );
  assert.match(
    (await parse(["--intercept", "--intercept-listen", "0.0.0.0:8443"])).error ?? "",
    /--intercept-listen: Refusing .* pass --admin-token TOKEN/,
  );
  const token = "0123456789abcdef0123";
  assert.equal(
    (await parse(["--intercept", "--intercept-listen", "0.0.0.0:8443", "--admin-token", token])).flags
      ?.intercept
      ?.listen.hostname,
    "0.0.0.0",
  );
  assert.match((await parse(["--intercept", "--intercept-listen", "8443"])).error ?? "", /HOST:PORT/);
});

Deno.test("parseListen handles IPv6 and empty hosts", () => {
  assert.deepEqual(parseListen("[::1]:8081"), { hostname: "::1", port: 8081 });
  assert.deepEqual(parseListen(":0"), { hostname: "127.0.0.1", port: 0 });
  assert.throws(() => parseListen("127.0.0.1:70000"), /HOST:PORT/);
});

Deno.test("the printed environment points every client at the server", () => {
  const env = metalEnv("http://127.0.0.1:8080", { projectId: "p-id", apiKey: "k" });
  assert.equal(
    exportLines(env),
    "export METAL_API_KEY=k\n" +
      "export METAL_PROJECT_ID=p-id\n" +
      "export METAL_BASE_URL=http://127.0.0.1:8080/metal/v1\n" +
      "export METAL_LBAAS_URL=http://127.0.0.1:8080/lbaas\n" +
      "export METAL_TOKEN_EXCHANGE_URL=http://127.0.0.1:8080/iam/api-keys/exchange\n",
  );
  assert.deepEqual(Object.keys(metalEnv("http://h:1")), [
    "METAL_BASE_URL",
    "METAL_LBAAS_URL",
    "METAL_TOKEN_EXCHANGE_URL",
  ]);
});
