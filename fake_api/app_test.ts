import assert from "node:assert/strict";
import { captureLogs } from "../util/log.ts";
import { createTestApi, TEST_API_KEY, TEST_PROJECT_ID } from "./testing.ts";

Deno.test("at -v=2 every API request is logged once with method, path, status and duration; never the key", async () => {
  await using logs = await captureLogs({ verbosity: 2 });
  const api = await createTestApi({ verbosity: 2 });
  await api.call("GET", `/metal/v1/projects/${TEST_PROJECT_ID}/devices?per_page=5`);
  await api.call("GET", "/metal/v1/projects", { token: "wrong-key" });
  const records = logs.records().filter((r) => r.msg === "Handled request");
  assert.equal(records.length, 2);
  assert.deepEqual(
    records.map((r) => [r.logger, r.v, r.method, r.path, r.query, r.status]),
    [
      ["fake-api", 2, "GET", `/metal/v1/projects/${TEST_PROJECT_ID}/devices`, "per_page=5", 200],
      ["fake-api", 2, "GET", "/metal/v1/projects", "", 401],
    ],
  );
  assert.equal(typeof records[0]!.durationMs, "number");
  assert.ok(!logs.text().includes(TEST_API_KEY) && !logs.text().includes("wrong-key"));
});

Deno.test("below -v=2 requests are not logged", async () => {
  await using logs = await captureLogs({ verbosity: 2 });
  const api = await createTestApi({ verbosity: 1 });
  await api.call("GET", "/metal/v1/projects");
  assert.equal(logs.records().filter((r) => r.msg === "Handled request").length, 0);
});

Deno.test("unknown routes are JSON 404s", async () => {
  const api = await createTestApi();
  const res = await api.call("GET", "/nothing/here", { token: null });
  assert.equal(res.status, 404);
  assert.match(res.body.errors[0], /no route for GET \/nothing\/here/);
});
