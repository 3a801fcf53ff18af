import { deepEqual, equal, match } from "node:assert/strict";
import { getLogger, type LogRecord } from "@logtape/logtape";
import {
  captureLogs,
  errorText,
  forgetSecretsForTesting,
  formatJsonLine,
  formatTextLine,
  MASK,
  maskSecrets,
  recordVerbosity,
  registerSecret,
  SecretMasker,
} from "./log.ts";

function record(overrides: Partial<LogRecord> = {}): LogRecord {
  return {
    category: ["ccm", "test"],
    level: "info",
    message: ["Ensured load balancer"],
    rawMessage: "Ensured load balancer",
    timestamp: Date.UTC(2025, 10, 21, 21, 2, 0, 123),
    properties: {},
    ...overrides,
  };
}

Deno.test("formatJsonLine() writes klog's shape with flattened keys", () => {
  const line = formatJsonLine(record({ properties: { v: 2, service: "ns/name", count: 3 } }));
  equal(
    line,
    '{"ts":1763758920123,"logger":"ccm.test","msg":"Ensured load balancer","v":2,"service":"ns/name","count":3}',
  );
});

Deno.test("formatJsonLine() renders err as its message and gives errors a level instead of v", () => {
  const err = new Error("Cannot reach API", { cause: new TypeError("connection refused") });
  const parsed = JSON.parse(formatJsonLine(record({ level: "error", properties: { err, v: 3 } })));
  deepEqual(parsed, {
    ts: 1763758920123,
    level: "error",
    logger: "ccm.test",
    msg: "Ensured load balancer",
    err: "Cannot reach API: connection refused",
  });
});

Deno.test("formatJsonLine() keeps reserved keys from being overwritten by properties", () => {
  const parsed = JSON.parse(formatJsonLine(record({ properties: { msg: "x", ts: 1, logger: "y" } })));
  equal(parsed.msg, "Ensured load balancer");
  equal(parsed._msg, "x");
  equal(parsed._ts, 1);
  equal(parsed._logger, "y");
});

Deno.test("formatJsonLine() survives circular values, bigints, maps and sets", () => {
  const loop: Record<string, unknown> = { name: "a" };
  loop.self = loop;
  const parsed = JSON.parse(
    formatJsonLine(record({ properties: { loop, big: 10n, map: new Map([["k", 1]]), set: new Set([1]) } })),
  );
  deepEqual(parsed.loop, { name: "a", self: "[Circular]" });
  equal(parsed.big, "10");
  deepEqual(parsed.map, { k: 1 });
  deepEqual(parsed.set, [1]);
});

Deno.test("formatJsonLine() interpolates message placeholders", () => {
  const parsed = JSON.parse(formatJsonLine(record({
    message: ["Ignored flag ", "--profiling", " with value ", 3, ""],
    rawMessage: "Ignored flag {flag} with value {value}",
  })));
  equal(parsed.msg, "Ignored flag --profiling with value 3");
});

Deno.test("formatTextLine() writes readable klog-style text in UTC", () => {
  const line = formatTextLine(record({
    level: "warning",
    properties: { service: "ns/name", port: 80, err: new Error("boom") },
  }));
  equal(line, 'W1121 21:02:00.123 ccm.test] "Ensured load balancer" service="ns/name" port=80 err="boom"');
});

Deno.test("recordVerbosity() follows the klog convention", () => {
  equal(recordVerbosity(record()), 0);
  equal(recordVerbosity(record({ properties: { v: 2 } })), 2);
  equal(recordVerbosity(record({ level: "debug" })), 4);
  equal(recordVerbosity(record({ level: "debug", properties: { v: 3 } })), 3);
  equal(recordVerbosity(record({ level: "trace" })), 5);
  equal(recordVerbosity(record({ level: "info", properties: { v: "9" } })), 0);
  equal(recordVerbosity(record({ level: "warning", properties: { v: 9 } })), undefined);
  equal(recordVerbosity(record({ level: "error" })), undefined);
  equal(recordVerbosity(record({ level: "fatal" })), undefined);
});

Deno.test("errorText() includes causes once", () => {
  equal(errorText(new Error("a: b", { cause: new Error("b") })), "a: b");
  equal(errorText(new Error("a", { cause: new Error("b", { cause: "c" }) })), "a: b: c");
  equal(errorText("plain"), "plain");
  equal(errorText({ code: 1 }), '{"code":1}');
});

Deno.test("configureLogging() shows only records within the verbosity", async () => {
  for (
    const [verbosity, want] of [[0, ["i0", "w", "e"]], [2, ["i0", "i2", "w", "e"]], [
      4,
      ["i0", "i2", "d4", "d3", "w", "e"],
    ], [5, ["i0", "i2", "d4", "d3", "t5", "w", "e"]]] as const
  ) {
    await using logs = await captureLogs({ verbosity });
    const logger = getLogger(["ccm", "test"]);
    logger.info("i0");
    logger.info("i2", { v: 2 });
    logger.debug("d4");
    logger.debug("d3", { v: 3 });
    logger.trace("t5");
    logger.warn("w", { v: 9 });
    logger.error("e");
    deepEqual(logs.records().map((r) => r.msg), want, `verbosity ${verbosity}`);
  }
});

Deno.test("configureLogging() writes text lines with --logging-format=text", async () => {
  await using logs = await captureLogs({ format: "text" });
  getLogger(["ccm", "app"]).info("Started", { version: "v1" });
  equal(logs.lines.length, 1);
  match(logs.lines[0] as string, /^I\d{4} \d\d:\d\d:\d\d\.\d{3} ccm\.app\] "Started" version="v1"\n$/);
});

Deno.test("configureLogging() masks secret fields at any depth but keeps keys and addresses", async () => {
  await using logs = await captureLogs();
  getLogger(["ccm", "test"]).info("Called API", {
    apiKey: "k1",
    request: { headers: { "X-Auth-Token": "k2", Authorization: "Bearer k3" } },
    bgpPass: "p1",
    password: "p2",
    token: "t1",
    secret: "s1",
    cacheKey: "devices/1",
    address: "147.75.1.2",
  });
  const [line] = logs.records();
  equal(line?.apiKey, MASK);
  deepEqual(line?.request, { headers: { "X-Auth-Token": MASK, Authorization: MASK } });
  equal(line?.bgpPass, MASK);
  equal(line?.password, MASK);
  equal(line?.token, MASK);
  equal(line?.secret, MASK);
  equal(line?.cacheKey, "devices/1");
  equal(logs.lines.length, 1);
  equal(line?.address, "147.75.1.2");
});

Deno.test("configureLogging() leaves empty secret fields empty, so 'unset' stays visible", async () => {
  await using logs = await captureLogs();
  getLogger(["ccm", "test"]).info("Loaded", { config: { apiKey: "k", bgpPass: "" } });
  deepEqual(logs.records()[0]?.config, { apiKey: MASK, bgpPass: "" });
});

Deno.test("registerSecret() keeps a secret out of every line, wherever it appears", async () => {
  const apiKey = "sk_live_0123456789abcdef";
  const bgpPass = 'pa"ss\\word/+&';
  registerSecret(apiKey);
  registerSecret(bgpPass);
  try {
    for (const format of ["json", "text"] as const) {
      await using logs = await captureLogs({ format, verbosity: 10 });
      const logger = getLogger(["ccm", "test"]);
      logger.info(`Built client with key ${apiKey}`);
      logger.info("Built {what}", { what: `url?token=${encodeURIComponent(apiKey)}` });
      logger.debug("Peer", { config: { nested: [`x${bgpPass}y`] }, note: JSON.stringify({ p: bgpPass }) });
      logger.error("Failed", { err: new Error(`bad key '${apiKey}'`, { cause: new Error(bgpPass) }) });
      logger.warn`Template ${apiKey}`;
      const text = logs.text();
      equal(logs.lines.length, 5);
      equal(text.includes(apiKey), false, text);
      equal(text.includes(encodeURIComponent(apiKey)), false, text);
      equal(text.includes("sk_live"), false, text);
      equal(text.includes("ss\\\\word"), false, text);
      equal(text.includes("word/+&"), false, text);
      equal(text.split(MASK).length - 1 >= 6, true, text);
    }
    equal(maskSecrets(`key=${apiKey}`), `key=${MASK}`);
  } finally {
    forgetSecretsForTesting();
  }
  equal(maskSecrets(apiKey), apiKey);
});

Deno.test("SecretMasker masks the longest matching secret whole", () => {
  const masker = new SecretMasker();
  masker.add("abc");
  masker.add("abcdef");
  masker.add("");
  masker.add(undefined);
  equal(masker.mask("xabcdefx abc"), `x${MASK}x ${MASK}`);
  masker.clear();
  equal(masker.mask("abc"), "abc");
});
