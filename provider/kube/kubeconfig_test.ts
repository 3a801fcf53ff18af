import assert from "node:assert/strict";
import { KubeConfig, loadKubeConfig } from "./kubeconfig.ts";

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
    assert.equal(kc.getCurrentUser()?.tokenFile, `${sa}/token`);
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

Deno.test("KubeConfig reads YAML: inline and file credentials, relative paths against the file's directory", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(
      `${dir}/sub/config`,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: c1",
        "  cluster:",
        "    server: https://10.0.0.1:6443",
        "    certificate-authority: pki/ca.crt",
        "    tls-server-name: kubernetes",
        "- name: c2",
        "  cluster: {server: https://10.0.0.2:6443, certificate-authority-data: Q0E=}",
        "users:",
        "- name: u1",
        "  user: {client-certificate: /abs/cert.pem, client-key-data: S0VZ}",
        "- name: u2",
        "  user: {tokenFile: token, username: a, password: b}",
        "contexts:",
        "- {name: one, context: {cluster: c1, user: u1, namespace: kube-system}}",
        "- {name: two, context: {cluster: c2, user: u2}}",
        "current-context: one",
      ].join("\n"),
    );
    const kc = loadKubeConfig({ kubeconfig: `${dir}/sub/config` });
    assert.deepEqual(kc.getCurrentCluster(), {
      name: "c1",
      server: "https://10.0.0.1:6443",
      caData: undefined,
      caFile: `${dir}/sub/pki/ca.crt`,
      skipTLSVerify: false,
      tlsServerName: "kubernetes",
    });
    assert.equal(kc.getCurrentUser()?.certFile, "/abs/cert.pem");
    assert.equal(kc.getCurrentUser()?.keyData, "S0VZ");
    assert.equal(kc.getCurrentContext()?.namespace, "kube-system");
    kc.currentContext = "two";
    assert.equal(kc.getCurrentCluster()?.caData, "Q0E=");
    assert.equal(kc.getCurrentUser()?.tokenFile, `${dir}/sub/token`);
    assert.equal(kc.getCurrentUser()?.password, "b");
  });
});

Deno.test("KubeConfig refuses what ccm can't honour, and says what to use instead", () => {
  const config = (user: string, cluster = "{server: https://h}") =>
    `clusters: [{name: c, cluster: ${cluster}}]\nusers: [{name: u, user: ${user}}]\n` +
    "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n";
  const kc = new KubeConfig();
  assert.throws(
    () => kc.loadFromString(config("{exec: {command: aws}}")),
    /user "u" uses exec credentials, which ccm does not support; use a token, a token file or a client certificate/,
  );
  assert.throws(
    () => kc.loadFromString(config("{auth-provider: {name: oidc}}")),
    /uses auth-provider credentials/,
  );
  assert.throws(
    () => kc.loadFromString(config("{}", "{server: https://h, proxy-url: http://p}")),
    /cluster "c" sets proxy-url, which ccm does not support; remove it/,
  );
  assert.throws(() => kc.loadFromString("- a list"), /not a kubeconfig/);
  assert.throws(() => kc.loadFromString("clusters: [{cluster: {}}]"), /clusters\[0\] has no name/);
});
