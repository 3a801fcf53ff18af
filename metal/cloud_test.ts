import { equal, match, rejects, throws } from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { Registry } from "prom-client";
import { captureLogs, forgetSecretsForTesting, MASK } from "../provider/log.ts";
import { getCloudProviderFactory } from "../provider/registry.ts";
import type { CloudInitContext } from "../provider/cloud.ts";
import { ConfigError } from "../provider/errors.ts";
import { createMetalCloud, MetalCloud, PROVIDER_NAME } from "./mod.ts";

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

Deno.test("MetalCloud without a load balancer setting reports no load balancer (TestLoadBalancerDefaultDisabled)", () => {
  equal(cloud().loadBalancer(), undefined);
  equal(cloud().config.loadBalancer.kind, "disabled");
});

Deno.test("MetalCloud.initialize() resolves", async () => {
  const ctx = { metrics: new Registry(), recorder: { event() {}, warn() {} }, logger };
  await cloud().initialize(ctx as unknown as CloudInitContext);
});

Deno.test("createMetalCloud() keeps the config it validated", () => {
  const provider = cloud({ METAL_LOAD_BALANCER: "kube-vip://", METAL_METRO_NAME: "da" });
  equal(provider.config.loadBalancer.kind, "kube-vip");
  equal(provider.config.metro, "da");
});

Deno.test("createMetalCloud() rejects invalid configuration with a ConfigError", () => {
  throws(
    () => createMetalCloud({ env: {}, logger, version: "v1" }),
    (err: unknown) => err instanceof ConfigError && /METAL_API_KEY/.test((err as Error).message),
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
