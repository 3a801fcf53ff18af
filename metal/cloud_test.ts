import { deepEqual, equal, match, rejects, throws } from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { Registry } from "prom-client";
import { captureLogs, forgetSecretsForTesting, MASK } from "../util/log.ts";
import { type CloudInitContext, ConfigError, getCloudProviderFactory } from "../provider/mod.ts";
import { json, stubFetch } from "./api/testing.ts";
import { loadMetalConfig } from "./config.ts";
import { createMetalCloud, MetalCloud, PROVIDER_NAME } from "./mod.ts";
import { errorMessage } from "../util/errors.ts";

const logger = getLogger(["ccm", "equinixmetal"]);

function cloud(env: Record<string, string> = {}): MetalCloud {
  return createMetalCloud({
    env: { METAL_API_KEY: "12345678", METAL_PROJECT_ID: "p", ...env },
    logger,
    version: "v1",
  });
}

Deno.test("importing metal/mod.ts registers the 'equinixmetal' provider", () => {
  equal(PROVIDER_NAME, "equinixmetal");
  equal(getCloudProviderFactory("equinixmetal"), createMetalCloud);
});

Deno.test("MetalCloud reports upstream's provider name and cluster id support (TestProviderName, TestHasClusterID)", () => {
  const provider = cloud();
  equal(provider.providerName, "equinixmetal");
  equal(provider.hasClusterID(), true);
  equal(provider.version, "v1");
});

Deno.test("MetalCloud.initialize() without load balancer or control-plane settings builds instances only, touching neither Metal nor Kubernetes (TestLoadBalancerDefaultDisabled)", async () => {
  const config = loadMetalConfig({ env: { METAL_API_KEY: "12345678", METAL_PROJECT_ID: "p" } });
  equal(config.loadBalancer.kind, "disabled");
  const fetch = stubFetch(() => json({}));
  const provider = new MetalCloud({ config, logger, version: "v1", fetch });
  const untouchable = (what: string) =>
    new Proxy({}, {
      get: (_, key) => {
        throw new Error(`initialize() used ${what}.${String(key)}`);
      },
    });
  const services = await provider.initialize({
    kube: untouchable("kube"),
    informers: untouchable("informers"),
    recorder: { event() {}, warn() {} },
    metrics: new Registry(),
    signal: new AbortController().signal,
    logger,
  } as unknown as CloudInitContext);
  equal(services.loadBalancer, undefined, "no service controller");
  deepEqual(services.controllers, [], "no provider loops");
  equal(typeof services.instances.instanceMetadata, "function");
  equal(fetch.requests.length, 0, "no Metal API call");
});

Deno.test("createMetalCloud() keeps the config it validated", () => {
  const provider = cloud({ METAL_LOAD_BALANCER: "kube-vip://", METAL_METRO_NAME: "da" });
  equal(provider.config.loadBalancer.kind, "kube-vip");
  equal(provider.config.metro, "da");
});

Deno.test("createMetalCloud() rejects invalid configuration with a ConfigError", () => {
  throws(
    () => createMetalCloud({ env: {}, logger, version: "v1" }),
    (err: unknown) => err instanceof ConfigError && /METAL_API_KEY/.test(errorMessage(err)),
  );
  throws(() => cloud({ METAL_LOAD_BALANCER: "nginx://" }), /unknown load balancer type 'nginx'/);
});

Deno.test("createMetalCloud() logs the configuration once, masked, and warns about unknown keys", async () => {
  try {
    await using logs = await captureLogs();
    createMetalCloud({
      env: { METAL_BGP_PASS: "bgp-very-secret" },
      configFile: '{"apiKey":"key-very-secret","projectID":"p","metroName":"da"}',
      configPath: "/etc/cloud-sa/cloud-sa.json",
      logger,
      version: "v1",
    });
    const records = logs.records();
    equal(records.length, 2);
    equal(records[0]?.msg, "Loaded Equinix Metal configuration");
    const config = records[0]?.config as Record<string, unknown>;
    equal(config.apiKey, MASK);
    equal(config.bgpPass, MASK);
    equal(config.projectId, "p");
    equal(records[1]?.level, "warning");
    equal(records[1]?.msg, "Ignored unknown key metroName in the cloud config file");
    equal(logs.text().includes("very-secret"), false, logs.text());
    // The values are registered: they stay masked in any later line.
    getLogger(["ccm", "test"]).info("Using key-very-secret and bgp-very-secret");
    match(logs.lines.at(-1) as string, new RegExp(`Using ${MASK} and ${MASK}`));
  } finally {
    forgetSecretsForTesting();
  }
});

Deno.test("createMetalCloud() masks raw env secrets even when loading fails", async () => {
  try {
    await using logs = await captureLogs();
    await rejects(async () => {
      await Promise.resolve();
      cloud({ METAL_API_KEY: "env-key-secret", METAL_PROJECT_ID: "" });
    }, ConfigError);
    getLogger(["ccm", "test"]).error("Failed with env-key-secret");
    equal(logs.text().includes("env-key-secret"), false);
  } finally {
    forgetSecretsForTesting();
  }
});

/** A MetalCloud over `fetch`, initialized; its metrics land in `metrics`. */
async function initializedCloud(
  env: Record<string, string>,
  fetch: (request: Request) => Promise<Response>,
  metrics = new Registry(),
) {
  const config = loadMetalConfig({ env: { METAL_API_KEY: "12345678", METAL_PROJECT_ID: "p", ...env } });
  const provider = new MetalCloud({ config, logger, version: "v1", fetch });
  const ctx = { metrics, recorder: { event() {}, warn() {} }, logger };
  return (await provider.initialize(ctx as unknown as CloudInitContext)).client;
}

Deno.test("MetalCloud's API client uses METAL_API_RATE_LIMIT and METAL_API_RATE_BURST", async () => {
  const metrics = new Registry();
  const fetch = stubFetch(() => json({ ip_addresses: [] }));
  const client = await initializedCloud(
    { METAL_API_RATE_LIMIT: "100", METAL_API_RATE_BURST: "1" },
    fetch,
    metrics,
  );
  await Promise.all([1, 2, 3].map(() => client.listIpReservations("p")));
  equal(fetch.requests.length, 3);
  const waitSeconds = await metrics.getSingleMetric(
    "cloudprovider_equinixmetal_api_rate_limit_wait_seconds_total",
  )
    ?.get();
  const waited = waitSeconds?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
  // A burst of 1 at 100 requests/s: the second call waits 10 ms, the third 20 ms. The defaults (burst 20)
  // would let all three through at once; 10 requests/s would make the waits 100 and 200 ms.
  equal(waited >= 0.025 && waited < 0.15, true, `waited ${waited} s`);
});

Deno.test("MetalCloud's API client gives up on an attempt after METAL_API_TIMEOUT seconds", async () => {
  // A server that never answers: the attempt ends only when the client aborts it.
  const fetch = (request: Request) =>
    new Promise<Response>((_, reject) =>
      request.signal.addEventListener("abort", () => reject(request.signal.reason))
    );
  const client = await initializedCloud({ METAL_API_TIMEOUT: "1" }, fetch);
  const started = performance.now();
  // A POST is not retried after a timeout: one attempt.
  await rejects(
    client.createIpReservation("p", { type: "public_ipv4", quantity: 1, metro: "da" }),
    /no answer within 1000 ms/,
  );
  const elapsed = performance.now() - started;
  equal(elapsed >= 900 && elapsed < 5_000, true, `gave up after ${elapsed} ms`);
});
