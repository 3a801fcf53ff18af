import { deepEqual, equal, ok } from "node:assert/strict";
import type { KubernetesObject } from "@kubernetes/client-node";
import { getLogger } from "@logtape/logtape";
import { Registry } from "prom-client";
import type { CloudInitContext } from "../provider/mod.ts";
import { FakeClock } from "../util/clock.ts";
import { json, stubFetch } from "./api/testing.ts";
import { MetalCloud } from "./cloud.ts";
import { loadMetalConfig } from "./config.ts";

const PROJECT = "5d3a1e0c-7f43-4a8e-b1f2-0c9d8e7f6a5b";
const DEVICE = "e1b2c3d4-0000-4000-8000-000000000001";
const logger = getLogger(["ccm", "equinixmetal"]);

Deno.test("MetalCloud.initialize() wires InstancesV2 to a Metal API client on the configured base URL", async () => {
  const fetch = stubFetch((request) => {
    const path = new URL(request.url).pathname;
    if (path.endsWith("/devices")) {
      return json({
        devices: [{
          id: DEVICE,
          hostname: "worker-1",
          state: "active",
          plan: { slug: "c3.small.x86" },
          metro: { code: "da" },
          facility: { code: "da11" },
          ip_addresses: [
            { address: "10.0.0.2", address_family: 4, public: false },
            { address: "147.75.0.2", address_family: 4, public: true },
          ],
        }],
        meta: { current_page: 1, last_page: 1 },
      });
    }
    return json({ errors: ["Not found"] }, { status: 404 });
  });
  const config = loadMetalConfig({
    env: {
      METAL_API_KEY: "key-1234",
      METAL_PROJECT_ID: PROJECT,
      METAL_BASE_URL: "http://127.0.0.1:9/metal/v1",
    },
  });
  const cloud = new MetalCloud({ config, logger, version: "v9.9.9", fetch });

  const registry = new Registry();
  const warnings: string[] = [];
  const recorder = {
    event() {},
    warn(_obj: KubernetesObject, reason: string) {
      warnings.push(reason);
    },
  };
  const { instances } = await cloud.initialize(
    { metrics: registry, recorder, logger } as unknown as CloudInitContext,
  );
  equal(fetch.requests.length, 0, "initialize() calls no API; the first lookup lists the devices");

  const meta = await instances.instanceMetadata({ metadata: { name: "worker-1" } });
  deepEqual([meta.providerID, meta.instanceType, meta.region, meta.zone], [
    `equinixmetal://${DEVICE}`,
    "c3.small.x86",
    "da",
    "da11",
  ]);
  const request = fetch.requests[0]!;
  equal(
    new URL(request.url).origin + new URL(request.url).pathname,
    `http://127.0.0.1:9/metal/v1/projects/${PROJECT}/devices`,
  );
  equal(request.headers.get("X-Auth-Token"), "key-1234");
  equal(request.headers.get("User-Agent"), "cloud-provider-equinix-metal/v9.9.9 ccm");

  await instances.instanceMetadata({ metadata: { name: "stranger" } }).catch(() => {});
  deepEqual(warnings, ["DeviceNotFound"], "Events go through the recorder from initialize");
  ok(
    (await registry.metrics()).includes(
      'cloudprovider_equinixmetal_api_requests_total{request="list_devices",code="200"}',
    ),
  );
});

Deno.test("METAL_DEVICE_CACHE_TTL sets how long one device list serves every lookup (default 30 s)", async () => {
  const listsAfter = async (env: Record<string, string>, ages: number[]) => {
    const fetch = stubFetch(() =>
      json({
        devices: [{
          id: DEVICE,
          hostname: "worker-1",
          state: "active",
          plan: { slug: "c3.small.x86" },
          metro: { code: "da" },
          ip_addresses: [
            { address: "10.0.0.2", address_family: 4, public: false },
            { address: "147.75.0.2", address_family: 4, public: true },
          ],
        }],
        meta: { current_page: 1, last_page: 1 },
      })
    );
    const config = loadMetalConfig({
      env: { METAL_API_KEY: "key-1234", METAL_PROJECT_ID: PROJECT, ...env },
    });
    const clock = new FakeClock(0);
    const cloud = new MetalCloud({ config, logger, version: "v9.9.9", fetch, clock });
    const recorder = { event() {}, warn() {} };
    const { instances } = await cloud.initialize(
      { metrics: new Registry(), recorder, logger } as unknown as CloudInitContext,
    );
    const node = { metadata: { name: "n1" }, spec: { providerID: `equinixmetal://${DEVICE}` } };
    const counts: number[] = [];
    for (const age of ages) {
      await clock.advance(age - clock.now());
      await instances.instanceShutdown(node);
      counts.push(fetch.requests.length);
    }
    return counts;
  };
  deepEqual(await listsAfter({ METAL_DEVICE_CACHE_TTL: "5" }, [0, 4_999, 5_000]), [1, 1, 2]);
  deepEqual(await listsAfter({}, [0, 29_999, 30_000]), [1, 1, 2]);
});
