import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { checkConnectTarget, INTERCEPT_HOSTS, simulatorPath, startInterceptProxy } from "./intercept.ts";
import { generateCa, generateLeaf } from "./tls_ca.ts";
import { createTestApi, TEST_API_KEY, TEST_PROJECT_ID } from "./testing.ts";

Deno.test("CONNECT is accepted only for the simulated hosts on port 443", () => {
  assertEquals(checkConnectTarget("api.equinix.com:443"), { ok: true, host: "api.equinix.com" });
  assertEquals(checkConnectTarget("API.Equinix.com.:443"), { ok: true, host: "api.equinix.com" });
  assertEquals(checkConnectTarget("lb.metalctrl.io:443"), { ok: true, host: "lb.metalctrl.io" });
  assertEquals(checkConnectTarget("iam.metalctrl.io:443"), { ok: true, host: "iam.metalctrl.io" });
  const other = checkConnectTarget("example.com:443");
  assertEquals(other.ok, false);
  assertEquals(!other.ok && other.reason.includes("example.com"), true);
  assertEquals(checkConnectTarget("api.equinix.com:80").ok, false);
  assertEquals(checkConnectTarget("api.equinix.com").ok, false);
});

Deno.test("paths on the simulated hosts map onto the simulator's prefixes", () => {
  assertEquals(simulatorPath("api.equinix.com", "/metal/v1/projects"), "/metal/v1/projects");
  assertEquals(simulatorPath("api.equinix.com", "/metal/v1"), "/metal/v1");
  assertEquals(simulatorPath("api.equinix.com", "/metal/v10/x"), undefined);
  assertEquals(simulatorPath("api.equinix.com", "/_fake/state"), undefined);
  assertEquals(simulatorPath("lb.metalctrl.io", "/v1/loadbalancers/x"), "/lbaas/v1/loadbalancers/x");
  assertEquals(simulatorPath("iam.metalctrl.io", "/api-keys/exchange"), "/iam/api-keys/exchange");
  assertEquals(simulatorPath("iam.metalctrl.io", "/other"), undefined);
  assertEquals(simulatorPath("example.com", "/metal/v1/projects"), undefined);
});

async function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("curl", { args: ["-sS", ...args], stdout: "piped", stderr: "piped" })
    .output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("the proxy serves the simulator to curl and Deno fetch as api.equinix.com, and refuses other hosts", async () => {
  const api = await createTestApi();
  const ca = await generateCa();
  const leaf = await generateLeaf(ca, Object.keys(INTERCEPT_HOSTS));
  const proxy = startInterceptProxy({ handler: (request) => api.app.fetch(request), leaf });
  const dir = await Deno.makeTempDir();
  try {
    const caFile = `${dir}/ca.pem`;
    await Deno.writeTextFile(caFile, ca.cert);
    const url = `https://api.equinix.com/metal/v1/projects/${TEST_PROJECT_ID}`;
    const ok = await curl([
      "--proxy",
      proxy.url,
      "--cacert",
      caFile,
      url,
      "-H",
      `X-Auth-Token: ${TEST_API_KEY}`,
    ]);
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(JSON.parse(ok.stdout).id, TEST_PROJECT_ID);

    const noCa = await curl(["--proxy", proxy.url, url, "-H", `X-Auth-Token: ${TEST_API_KEY}`]);
    assertEquals(noCa.code, 60, noCa.stderr); // curl: peer certificate cannot be authenticated

    const refused = await curl([
      "--proxy",
      proxy.url,
      "-o",
      "/dev/null",
      "-w",
      "%{http_connect}",
      "https://example.com/",
    ]);
    assertEquals(refused.stdout, "403");

    const plain = await curl([
      "--proxy",
      proxy.url,
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "http://api.equinix.com/",
    ]);
    assertEquals(plain.stdout, "405");

    const client = Deno.createHttpClient({ proxy: { url: proxy.url }, caCerts: [ca.cert] });
    try {
      const res = await fetch(url, { client, headers: { "X-Auth-Token": TEST_API_KEY } });
      assertEquals(res.status, 200);
      assertEquals((await res.json()).id, TEST_PROJECT_ID);
    } finally {
      client.close();
    }
  } finally {
    await proxy.close();
    await Deno.remove(dir, { recursive: true });
  }
});
