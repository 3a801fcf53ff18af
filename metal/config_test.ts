import { deepEqual, equal, match, throws } from "node:assert/strict";
import { ConfigError } from "../provider/mod.ts";
import { MASK } from "../util/log.ts";
import { loadMetalConfig, type LoadMetalConfigOptions, METAL_SETTINGS, type MetalConfig } from "./config.ts";
import { errorMessage } from "../util/errors.ts";

const DEFAULT_ANNOTATIONS = {
  annotationLocalAsn: "metal.equinix.com/bgp-peers-{{n}}-node-asn",
  annotationPeerAsn: "metal.equinix.com/bgp-peers-{{n}}-peer-asn",
  annotationPeerIp: "metal.equinix.com/bgp-peers-{{n}}-peer-ip",
  annotationSrcIp: "metal.equinix.com/bgp-peers-{{n}}-src-ip",
  annotationBgpPass: "metal.equinix.com/bgp-peers-{{n}}-bgp-pass",
  annotationNetworkIpv4Private: "metal.equinix.com/network-4-private",
  annotationEipMetro: "metal.equinix.com/eip-metro",
  annotationEipFacility: "metal.equinix.com/eip-facility",
};

/** upstream config_test's expected value: key/project `test`, ASN 65000, default annotations, rest empty. */
const EXPECTED = {
  apiKey: "test",
  projectId: "test",
  baseUrl: "https://api.equinix.com/metal/v1",
  metro: "",
  facility: "",
  localAsn: 65000,
  bgpPass: "",
  ...DEFAULT_ANNOTATIONS,
  eipTag: "",
  loadBalancerId: "",
  apiServerPort: 0,
  eipHealthCheckUseHostIp: false,
  controlPlaneCheckPeriod: 10,
  controlPlaneFailureThreshold: 2,
  bgpPasswordInAnnotations: true,
  metallbPasswordSecret: "",
  metallbBgpType: "auto",
  eipOrphanSweep: true,
  deviceCacheTtl: 30,
  apiRateLimit: 10,
  apiRateBurst: 20,
  apiTimeout: 30,
  lbaasUrl: "https://lb.metalctrl.io",
  tokenExchangeUrl: "https://iam.metalctrl.io/api-keys/exchange",
  debug: false,
};

const TEST_ENV = { METAL_API_KEY: "test", METAL_PROJECT_ID: "test" };

function load(options: Partial<LoadMetalConfigOptions> = {}): MetalConfig {
  return loadMetalConfig({ env: {}, readTextFile: noFiles, ...options });
}

function noFiles(path: string): string {
  throw new Deno.errors.NotFound(`No such file or directory (os error 2): readfile '${path}'`);
}

function plain(config: MetalConfig): Record<string, unknown> {
  const { loadBalancer, bgpNodeSelector, sources: _s, unknownKeys: _u, redacted: _r, toJSON: _t, ...rest } =
    config;
  equal(loadBalancer.kind, "disabled");
  equal(bgpNodeSelector.isEmpty(), true);
  return rest;
}

function fails(options: Partial<LoadMetalConfigOptions>, pattern: RegExp): string {
  let message = "";
  throws(() => load(options), (err: unknown) => {
    equal(err instanceof ConfigError, true, String(err));
    message = errorMessage(err);
    match(message, pattern);
    return true;
  });
  return message;
}

// upstream Test_getMetalConfig, case by case

Deno.test("loadMetalConfig() upstream case 1: no config file, env key and project", () => {
  deepEqual(plain(load({ env: TEST_ENV })), EXPECTED);
});

Deno.test("loadMetalConfig() upstream case 2: empty file is an error", () => {
  fails(
    { configFile: "", env: TEST_ENV },
    /Cannot parse the cloud config file: it is empty; it must hold a JSON/,
  );
});

Deno.test("loadMetalConfig() upstream case 3: '{}' without env fails for the API key", () => {
  const message = fails({ configFile: "{}" }, /^Missing API key: set METAL_API_KEY \(or METAL_API_KEY_FILE/);
  match(message, /; Missing project ID: set METAL_PROJECT_ID, or "projectID" in the cloud config file$/);
});

Deno.test("loadMetalConfig() upstream case 4: '{}' with env gives the defaults", () => {
  deepEqual(plain(load({ configFile: "{}", env: TEST_ENV })), EXPECTED);
});

Deno.test("loadMetalConfig() upstream case 5: key and project from the file", () => {
  deepEqual(plain(load({ configFile: '{"apiKey":"test","projectId":"test"}' })), EXPECTED);
});

Deno.test("loadMetalConfig() upstream case 6: trailing comma is an error", () => {
  fails(
    { configFile: '{"apiKey":"test",}', env: TEST_ENV },
    /Cannot parse the cloud config file as JSON: .*no trailing commas/,
  );
});

Deno.test("loadMetalConfig() upstream case 7: '{]' is an error", () => {
  fails({ configFile: "{]", env: TEST_ENV }, /Cannot parse the cloud config file as JSON/);
});

// Precedence and file semantics

Deno.test("loadMetalConfig() matches file keys case-insensitively (projectID, PROJECTID)", () => {
  for (const key of ["projectID", "projectId", "PROJECTID", "projectid"]) {
    equal(load({ configFile: `{"APIKEY":"k","${key}":"p"}` }).projectId, "p", key);
  }
});

Deno.test("loadMetalConfig() lets a later duplicate key win, as Go does", () => {
  equal(load({ env: TEST_ENV, configFile: '{"metro":"da","METRO":"sv"}' }).metro, "sv");
});

Deno.test("loadMetalConfig() prefers non-empty env over file over default", () => {
  const configFile = JSON.stringify({
    apiKey: "file-key",
    projectID: "file-project",
    metro: "da",
    localASN: 65100,
  });
  const fromFile = load({ configFile });
  equal(fromFile.apiKey, "file-key");
  equal(fromFile.metro, "da");
  equal(fromFile.localAsn, 65100);
  const fromEnv = load({
    configFile,
    env: { METAL_API_KEY: "env-key", METAL_METRO_NAME: "sv", METAL_LOCAL_ASN: "65200", METAL_PROJECT_ID: "" },
  });
  equal(fromEnv.apiKey, "env-key");
  equal(fromEnv.metro, "sv");
  equal(fromEnv.localAsn, 65200);
  equal(fromEnv.projectId, "file-project", "an empty env var counts as unset");
  deepEqual(fromEnv.sources, {
    apiKey: "env METAL_API_KEY",
    projectId: 'cloud config "projectID"',
    metro: "env METAL_METRO_NAME",
    localAsn: "env METAL_LOCAL_ASN",
  });
});

Deno.test("loadMetalConfig(): a file or env false turns off settings that default to true", () => {
  const fromFile = load({
    env: TEST_ENV,
    configFile: '{"bgpPasswordInAnnotations":false,"eipOrphanSweep":false}',
  });
  equal(fromFile.bgpPasswordInAnnotations, false);
  equal(fromFile.eipOrphanSweep, false);
  const fromEnv = load({
    env: { ...TEST_ENV, METAL_BGP_PASSWORD_IN_ANNOTATIONS: "0", METAL_EIP_ORPHAN_SWEEP: "false" },
    configFile: '{"bgpPasswordInAnnotations":true}',
  });
  equal(fromEnv.bgpPasswordInAnnotations, false);
  equal(fromEnv.eipOrphanSweep, false);
  equal(load({ env: TEST_ENV }).eipOrphanSweep, true);
});

Deno.test("loadMetalConfig() treats 0, false, empty strings and null in the file as unset", () => {
  const config = load({
    env: TEST_ENV,
    configFile: '{"localASN":0,"eipHealthCheckUseHostIP":false,"metro":"","eipTag":null,"apiServerPort":0}',
  });
  equal(config.localAsn, 65000);
  equal(config.eipHealthCheckUseHostIp, false);
  equal(config.metro, "");
  equal(config.eipTag, "");
  equal(config.apiServerPort, 0);
});

Deno.test("loadMetalConfig() reads every setting from its env var", () => {
  const config = load({
    env: {
      ...TEST_ENV,
      METAL_LOAD_BALANCER: "metallb:///lb/cm",
      METAL_METRO_NAME: "da",
      METAL_FACILITY_NAME: "da11",
      METAL_LOCAL_ASN: "+65001",
      METAL_BGP_PASS: "bgp-secret",
      METAL_ANNOTATION_LOCAL_ASN: "a/1",
      METAL_ANNOTATION_PEER_ASN: "a/2",
      METAL_ANNOTATION_PEER_IP: "a/3",
      METAL_ANNOTATION_SRC_IP: "a/4",
      METAL_ANNOTATION_BGP_PASS: "a/5",
      METAL_ANNOTATION_NETWORK_IPV4_PRIVATE: "a/6",
      METAL_ANNOTATION_EIP_METRO: "a/7",
      METAL_ANNOTATION_EIP_FACILITY: "a/8",
      METAL_EIP_TAG: "cp-eip",
      METAL_LOAD_BALANCER_ID: "lb-1",
      METAL_API_SERVER_PORT: "6443",
      METAL_BGP_NODE_SELECTOR: "bgp=true",
      METAL_EIP_HEALTH_CHECK_USE_HOST_IP: "T",
      METAL_BASE_URL: "http://127.0.0.1:8080/metal/v1/",
      METAL_LBAAS_URL: "http://127.0.0.1:8081",
      METAL_TOKEN_EXCHANGE_URL: "http://127.0.0.1:8082/api-keys/exchange",
      METAL_API_RATE_LIMIT: "50",
      METAL_API_RATE_BURST: "100",
      METAL_API_TIMEOUT: "5",
      METAL_METALLB_BGP_TYPE: "FRR",
      PACKNGO_DEBUG: "",
    },
  });
  deepEqual(config.loadBalancer, { kind: "metallb-configmap", namespace: "lb", configMapName: "cm" });
  equal(config.metro, "da");
  equal(config.facility, "da11");
  equal(config.localAsn, 65001);
  equal(config.bgpPass, "bgp-secret");
  deepEqual(
    [
      config.annotationLocalAsn,
      config.annotationPeerAsn,
      config.annotationPeerIp,
      config.annotationSrcIp,
      config.annotationBgpPass,
      config.annotationNetworkIpv4Private,
      config.annotationEipMetro,
      config.annotationEipFacility,
    ],
    ["a/1", "a/2", "a/3", "a/4", "a/5", "a/6", "a/7", "a/8"],
  );
  equal(config.eipTag, "cp-eip");
  equal(config.loadBalancerId, "lb-1");
  equal(config.apiServerPort, 6443);
  equal(config.bgpNodeSelector.matches({ bgp: "true" }), true);
  equal(config.bgpNodeSelector.matches({ bgp: "false" }), false);
  equal(config.eipHealthCheckUseHostIp, true);
  equal(config.baseUrl, "http://127.0.0.1:8080/metal/v1", "trailing slash dropped");
  equal(config.lbaasUrl, "http://127.0.0.1:8081");
  equal(config.tokenExchangeUrl, "http://127.0.0.1:8082/api-keys/exchange");
  equal(config.debug, true, "PACKNGO_DEBUG counts by presence");
  deepEqual([config.apiRateLimit, config.apiRateBurst, config.apiTimeout], [50, 100, 5]);
  equal(config.metallbBgpType, "frr", "choices match case-insensitively");
});

Deno.test("loadMetalConfig() reads every setting from its cloud-sa.json key", () => {
  const config = load({
    configFile: JSON.stringify({
      apiKey: "k",
      projectID: "p",
      "base-url": "http://127.0.0.1:8080/metal/v1",
      loadbalancer: "emlb:///da",
      metro: "da",
      facility: "da11",
      localASN: 65010,
      bgpPass: "b",
      annotationLocalASN: "x/1",
      annotationPeerASN: "x/2",
      annotationPeerIP: "x/3",
      annotationSrcIP: "x/4",
      annotationBGPPass: "x/5",
      annotationNetworkIPv4Private: "x/6",
      annotationEIPMetro: "x/7",
      annotationEIPFacility: "x/8",
      eipTag: "t",
      loadBalancerID: "lb",
      apiServerPort: 443,
      bgpNodeSelector: "role in (edge)",
      eipHealthCheckUseHostIP: true,
      lbaasURL: "http://127.0.0.1:8081",
      tokenExchangeURL: "http://127.0.0.1:8082/x",
      apiRateLimit: 5,
      apiRateBurst: 8,
      apiTimeout: 60,
      metallbBgpType: "frr-k8s",
    }),
  });
  deepEqual(config.loadBalancer, { kind: "emlb", metro: "da" });
  equal(config.baseUrl, "http://127.0.0.1:8080/metal/v1");
  equal(config.localAsn, 65010);
  equal(config.bgpPass, "b");
  equal(config.annotationEipFacility, "x/8");
  equal(config.loadBalancerId, "lb");
  equal(config.apiServerPort, 443);
  equal(config.bgpNodeSelector.toString(), "role in (edge)");
  equal(config.eipHealthCheckUseHostIp, true);
  equal(config.lbaasUrl, "http://127.0.0.1:8081");
  equal(config.tokenExchangeUrl, "http://127.0.0.1:8082/x");
  deepEqual([config.apiRateLimit, config.apiRateBurst, config.apiTimeout], [5, 8, 60]);
  deepEqual(config.unknownKeys, []);
  equal(config.metallbBgpType, "frr-k8s");
  equal(Object.keys(config.sources).length, 27);
});

Deno.test("loadMetalConfig() reports unknown file keys instead of failing", () => {
  const config = load({ env: TEST_ENV, configFile: '{"annotationPeerASNs":"x","metroName":"da"}' });
  deepEqual(config.unknownKeys, ["annotationPeerASNs", "metroName"]);
  equal(config.metro, "");
});

// Validation

const INVALID_ENV: [Record<string, string>, RegExp][] = [
  [{ METAL_LOCAL_ASN: "65k" }, /^Invalid METAL_LOCAL_ASN '65k': must be a whole number such as '65000'$/],
  [{ METAL_LOCAL_ASN: "0" }, /^Invalid METAL_LOCAL_ASN '0': must be between 1 and 4294967295$/],
  [
    { METAL_API_SERVER_PORT: "https" },
    /^Invalid METAL_API_SERVER_PORT 'https': must be a whole number such as '6443'$/,
  ],
  [
    { METAL_API_SERVER_PORT: "70000" },
    /^Invalid METAL_API_SERVER_PORT '70000': must be between 0 and 65535$/,
  ],
  [
    { METAL_BGP_NODE_SELECTOR: "a=b,," },
    /^Invalid METAL_BGP_NODE_SELECTOR 'a=b,,': expected a label key, found ',' at position 5; use Kubernetes label selector syntax such as 'bgp=true'/,
  ],
  [
    { METAL_EIP_HEALTH_CHECK_USE_HOST_IP: "yes" },
    /^Invalid METAL_EIP_HEALTH_CHECK_USE_HOST_IP 'yes': must be a boolean: 1, t, T, true/,
  ],
  [
    { METAL_LOAD_BALANCER: "nginx://" },
    /^Invalid METAL_LOAD_BALANCER 'nginx:\/\/': unknown load balancer type 'nginx'; use one of 'kube-vip:\/\/'/,
  ],
  [
    { METAL_LOAD_BALANCER: "emlb:///xx" },
    /^Invalid METAL_LOAD_BALANCER 'emlb:\/\/\/xx': Equinix Metal Load Balancers are not available in metro 'xx'; use one of 'da', 'ny', 'sv'/,
  ],
  [
    { METAL_LOAD_BALANCER: "metallb:///x?crdConfiguration=maybe" },
    /'crdConfiguration' must be 'true' or 'false', not 'maybe'/,
  ],
  [
    { METAL_LOAD_BALANCER: "metallb:///lb/cm?crdConfiguration=true" },
    /^Invalid METAL_LOAD_BALANCER 'metallb:\/\/\/lb\/cm\?crdConfiguration=true': custom resource mode \(crdConfiguration=true\) takes only a namespace/,
  ],
  [
    { METAL_LOAD_BALANCER: "metallb:///lb\n/cm" },
    /^Invalid METAL_LOAD_BALANCER 'metallb:\/\/\/lb\\n\/cm': it contains a newline at position 14; remove whitespace and control characters/,
  ],
  [
    { METAL_BASE_URL: "api.equinix.com" },
    /^Invalid METAL_BASE_URL 'api.equinix.com': must be an absolute http\(s\) URL such as/,
  ],
  [{ METAL_LBAAS_URL: "ftp://x" }, /^Invalid METAL_LBAAS_URL 'ftp:\/\/x': must be an absolute http\(s\) URL/],
  [{ METAL_TOKEN_EXCHANGE_URL: "/x" }, /^Invalid METAL_TOKEN_EXCHANGE_URL '\/x'/],
  [
    { METAL_API_RATE_LIMIT: "2.5" },
    /^Invalid METAL_API_RATE_LIMIT '2.5': must be a whole number of requests per second such as '10'$/,
  ],
  [{ METAL_API_RATE_LIMIT: "0" }, /^Invalid METAL_API_RATE_LIMIT '0': must be between 1 and 1000$/],
  [
    { METAL_API_RATE_BURST: "lots" },
    /^Invalid METAL_API_RATE_BURST 'lots': must be a whole number of requests such as '20'$/,
  ],
  [{ METAL_API_RATE_BURST: "-1" }, /^Invalid METAL_API_RATE_BURST '-1': must be between 1 and 10000$/],
  [
    { METAL_API_TIMEOUT: "30s" },
    /^Invalid METAL_API_TIMEOUT '30s': must be a whole number of seconds such as '30'$/,
  ],
  [{ METAL_API_TIMEOUT: "0" }, /^Invalid METAL_API_TIMEOUT '0': must be between 1 and 600$/],
  [
    { METAL_METALLB_BGP_TYPE: "bird" },
    /^Invalid METAL_METALLB_BGP_TYPE 'bird': must be one of 'auto', 'native', 'frr', 'frr-k8s'$/,
  ],
  [
    { METAL_DEVICE_CACHE_TTL: "1m" },
    /^Invalid METAL_DEVICE_CACHE_TTL '1m': must be a whole number of seconds such as '30'$/,
  ],
];

for (const [env, pattern] of INVALID_ENV) {
  Deno.test(`loadMetalConfig() rejects ${JSON.stringify(env)} naming the variable, value and fix`, () => {
    fails({ env: { ...TEST_ENV, ...env } }, pattern);
  });
}

Deno.test("loadMetalConfig() rejects type mismatches in the file, even when env overrides the key", () => {
  const message = fails(
    {
      env: { ...TEST_ENV, METAL_LOCAL_ASN: "65001" },
      configFile: '{"localASN":"65000","eipHealthCheckUseHostIP":"true","metro":5,"apiServerPort":1.5}',
      configPath: "/etc/cloud-sa/cloud-sa.json",
    },
    /^Invalid "metro" in cloud config file '\/etc\/cloud-sa\/cloud-sa.json': expected a string in double quotes, got 5 \(a number\)/,
  );
  match(
    message,
    /Invalid "localASN" in .*: expected a whole number without quotes, got "65000" \(a string\)/,
  );
  match(message, /Invalid "apiServerPort" in .*, got 1.5 \(a fractional or too large number\)/);
  match(
    message,
    /Invalid "eipHealthCheckUseHostIP" in .*: expected true or false without quotes, got "true"/,
  );
});

Deno.test("loadMetalConfig() reports problems in upstream's validation order", () => {
  const message = fails(
    {
      env: {
        METAL_EIP_HEALTH_CHECK_USE_HOST_IP: "x",
        METAL_BGP_NODE_SELECTOR: "!",
        METAL_API_SERVER_PORT: "x",
        METAL_LOCAL_ASN: "x",
      },
    },
    /./,
  );
  const order = [
    "METAL_API_KEY",
    "METAL_PROJECT_ID",
    "METAL_LOCAL_ASN",
    "METAL_API_SERVER_PORT",
    "METAL_BGP_NODE_SELECTOR",
    "METAL_EIP_HEALTH",
  ];
  const positions = order.map((name) => message.indexOf(name));
  deepEqual([...positions].sort((a, b) => a - b), positions, message);
  equal(positions.includes(-1), false, message);
});

Deno.test("loadMetalConfig() rejects a file that is not a JSON object", () => {
  fails({ env: TEST_ENV, configFile: "[]" }, /holds a list instead of a JSON object/);
  fails({ env: TEST_ENV, configFile: '"x"' }, /holds a string instead of a JSON object/);
  equal(load({ env: TEST_ENV, configFile: "null" }).apiKey, "test");
});

Deno.test("loadMetalConfig() names the --cloud-config path in file errors", () => {
  fails(
    { configFile: "{", configPath: "/etc/cloud-sa/cloud-sa.json" },
    /^Cannot parse cloud config file '\/etc\/cloud-sa\/cloud-sa.json' as JSON/,
  );
  fails(
    { configFile: "{}", configPath: "/x.json" },
    /set METAL_API_KEY .*, or "apiKey" in cloud config file '\/x.json'/,
  );
});

// Secrets

Deno.test("loadMetalConfig() reads secrets from *_FILE and trims the trailing newline", () => {
  const files: Record<string, string> = { "/run/key": "file-key\n", "/run/bgp": "  bgp-pass\r\n" };
  const config = load({
    env: { METAL_API_KEY_FILE: "/run/key", METAL_BGP_PASS_FILE: "/run/bgp", METAL_PROJECT_ID: "p" },
    configFile: '{"apiKey":"ignored"}',
    readTextFile: (path) => files[path] ?? noFiles(path),
  });
  equal(config.apiKey, "file-key");
  equal(config.bgpPass, "bgp-pass");
  equal(config.sources.apiKey, "env METAL_API_KEY_FILE");
});

Deno.test("loadMetalConfig() rejects unreadable, empty and conflicting secret files", () => {
  fails(
    { env: { METAL_API_KEY_FILE: "/missing", METAL_PROJECT_ID: "p" } },
    /^Cannot read METAL_API_KEY_FILE '\/missing': .*point it at a readable file that holds the API key$/,
  );
  fails(
    { env: { METAL_API_KEY_FILE: "/empty", METAL_PROJECT_ID: "p" }, readTextFile: () => "\n" },
    /^Invalid METAL_API_KEY_FILE '\/empty': the file is empty; put the API key in it$/,
  );
  fails(
    { env: { METAL_API_KEY: "k", METAL_API_KEY_FILE: "/k", METAL_PROJECT_ID: "p" }, readTextFile: () => "k" },
    /^Conflicting METAL_API_KEY and METAL_API_KEY_FILE: set only one of them$/,
  );
});

Deno.test("loadMetalConfig() never puts a secret in an error message", () => {
  const secret = "sk-DO-NOT-LEAK-0123456789";
  const cases: Partial<LoadMetalConfigOptions>[] = [
    { configFile: `{"apiKey":"${secret}",}` },
    { configFile: `{"apiKey":"${secret}" "projectID":"p"}` },
    { configFile: `{"apiKey":'${secret}'}` },
    { configFile: `{"apiKey":${secret}}` },
    { configFile: `${secret}` },
    { configFile: `{"apiKey":"${secret}\u0001"}` },
    { configFile: `{"bgpPass":"${secret}","apiKey":["${secret}"]}` },
    { configFile: `{"apiKey":{"v":"${secret}"}}` },
    { env: { METAL_API_KEY: secret, METAL_API_KEY_FILE: "/x" } },
    { env: { METAL_BGP_PASS: secret, METAL_BGP_PASS_FILE: "/x" } },
  ];
  for (const options of cases) {
    const message = fails(options, /./);
    equal(message.includes(secret), false, message);
    equal(message.includes("DO-NOT"), false, message);
  }
});

Deno.test("loadMetalConfig() hides even the first character of unquoted text in JSON errors", () => {
  fails({ configFile: '{"apiKey":sk-123}' }, /as JSON: Unexpected unquoted text; fix the syntax/);
  fails({ configFile: '{"apiKey":]}' }, /as JSON: Unexpected token '\]'; fix the syntax/);
});

Deno.test("MetalConfig.redacted() masks secrets and JSON.stringify uses it", () => {
  const config = load({
    env: { METAL_API_KEY: "sk-secret", METAL_BGP_PASS: "bgp-secret", METAL_PROJECT_ID: "p" },
    configFile: '{"loadbalancer":"metallb:///","bgpNodeSelector":"a in (y,x)"}',
  });
  const view = config.redacted();
  equal(view.apiKey, MASK);
  equal(view.bgpPass, MASK);
  equal(view.projectId, "p");
  equal(view.loadBalancer, "metallb:///metallb-system/config");
  equal(view.bgpNodeSelector, "a in (x,y)");
  deepEqual(view.sources, {
    apiKey: "env METAL_API_KEY",
    projectId: "env METAL_PROJECT_ID",
    bgpPass: "env METAL_BGP_PASS",
    loadBalancer: 'cloud config "loadbalancer"',
    bgpNodeSelector: 'cloud config "bgpNodeSelector"',
  });
  const json = JSON.stringify({ config });
  equal(json.includes("secret"), false, json);
  equal(load({ env: TEST_ENV }).redacted().bgpPass, "", "an unset secret shows as empty");
});

Deno.test("loadMetalConfig() returns a frozen config", () => {
  const config = load({ env: TEST_ENV });
  equal(Object.isFrozen(config), true);
  equal(Object.isFrozen(config.sources), true);
  equal(Object.isFrozen(config.loadBalancer), true);
});

Deno.test("METAL_SETTINGS covers every config field once, with unique env vars and JSON keys", () => {
  const config = load({ env: TEST_ENV });
  const fields = METAL_SETTINGS.map((s) => s.field as string);
  deepEqual(
    [...fields].sort(),
    Object.keys(config).filter((k) => !["sources", "unknownKeys", "redacted", "toJSON"].includes(k)).sort(),
  );
  const envs = METAL_SETTINGS.flatMap((s) => [s.env, ...(s.fileEnv ? [s.fileEnv] : [])]);
  equal(new Set(envs).size, envs.length);
  const keys = METAL_SETTINGS.flatMap((s) => (s.json ? [s.json.toLowerCase()] : []));
  equal(new Set(keys).size, keys.length);
});
