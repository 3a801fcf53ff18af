import assert from "node:assert/strict";
import { loadKubeConfig } from "./kubeconfig.ts";

const KUBECONFIG = JSON.stringify({
  apiVersion: "v1",
  kind: "Config",
  clusters: [{ name: "c1", cluster: { server: "https://10.0.0.1:6443", "insecure-skip-tls-verify": true } }],
  users: [{ name: "u1", user: { token: "secret-token" } }],
  contexts: [{ name: "ctx", context: { cluster: "c1", user: "u1" } }],
  "current-context": "ctx",
});

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadKubeConfig reads --kubeconfig, and --master overrides its server", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/config`, KUBECONFIG);
    assert.equal(
      loadKubeConfig({ kubeconfig: `${dir}/config` }).getCurrentCluster()?.server,
      "https://10.0.0.1:6443",
    );
    const overridden = loadKubeConfig({ kubeconfig: `${dir}/config`, master: "https://127.0.0.1:9443" });
    assert.equal(overridden.getCurrentCluster()?.server, "https://127.0.0.1:9443");
    assert.equal(overridden.getCurrentUser()?.token, "secret-token", "credentials are kept");
  });
});

Deno.test("loadKubeConfig with only --master talks to it without credentials", () => {
  const kc = loadKubeConfig({ master: "http://127.0.0.1:8080" });
  assert.equal(kc.getCurrentCluster()?.server, "http://127.0.0.1:8080");
  assert.equal(kc.getCurrentUser()?.token, undefined);
});

Deno.test("loadKubeConfig without flags uses the in-cluster service account", async () => {
  await withTempDir(async (dir) => {
    const sa = `${dir}/var/run/secrets/kubernetes.io/serviceaccount`;
    await Deno.mkdir(sa, { recursive: true });
    await Deno.writeTextFile(`${sa}/token`, "tok");
    await Deno.writeTextFile(`${sa}/ca.crt`, "ca");
    const kc = loadKubeConfig({
      inCluster: {
        env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" },
        pathPrefix: dir,
      },
    });
    assert.equal(kc.getCurrentCluster()?.server, "https://[fd00::1]:443");
    assert.equal(kc.getCurrentCluster()?.caFile, `${sa}/ca.crt`);
    assert.equal(kc.getCurrentUser()?.authProvider?.config?.tokenFile, `${sa}/token`);
  });
});

Deno.test("loadKubeConfig errors name the flag or file and the fix", async () => {
  assert.throws(
    () => loadKubeConfig({ inCluster: { env: {} } }),
    /KUBERNETES_SERVICE_HOST\/KUBERNETES_SERVICE_PORT are not set; pass --kubeconfig/,
  );
  assert.throws(
    () =>
      loadKubeConfig({
        inCluster: {
          env: { KUBERNETES_SERVICE_HOST: "h", KUBERNETES_SERVICE_PORT: "1" },
          pathPrefix: "/nonexistent",
        },
      }),
    /service account token "\/nonexistent\/var\/run\/secrets\/kubernetes.io\/serviceaccount\/token" is not readable/,
  );
  assert.throws(
    () => loadKubeConfig({ kubeconfig: "/nonexistent/config" }),
    /Failed to load kubeconfig "\/nonexistent\/config".*check --kubeconfig/,
  );
  assert.throws(() => loadKubeConfig({ master: "not a url" }), /Invalid --master "not a url"/);
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/config`,
      JSON.stringify({ ...JSON.parse(KUBECONFIG), "current-context": "missing" }),
    );
    assert.throws(() => loadKubeConfig({ kubeconfig: `${dir}/config` }), /has no current cluster/);
  });
});
