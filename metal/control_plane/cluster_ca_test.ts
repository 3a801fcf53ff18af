import assert from "node:assert/strict";
import { KubeConfig } from "../../provider/kube/mod.ts";
import { getLogger } from "@logtape/logtape";
import { Buffer } from "node:buffer";
import { captureLogs } from "../../util/log.ts";
import { ClusterCa } from "./cluster_ca.ts";

const KUBE_CA = "-----BEGIN CERTIFICATE-----\nkubeconfig\n-----END CERTIFICATE-----";
const ROOT_CA = "-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----";

function kubeConfig(cluster: { caData?: string; caFile?: string; skipTLSVerify?: boolean }): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:6443", skipTLSVerify: false, ...cluster }],
    users: [{ name: "u" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

const logger = getLogger(["ccm", "test"]);

Deno.test("ClusterCa combines the kubeconfig CA and ConfigMap kube-system/kube-root-ca.crt", async () => {
  const asked: string[] = [];
  const ca = new ClusterCa({
    kubeConfig: kubeConfig({ caData: Buffer.from(KUBE_CA).toString("base64") }),
    readConfigMap: (namespace, name) => {
      asked.push(`${namespace}/${name}`);
      return Promise.resolve({ data: { "ca.crt": `${ROOT_CA}\n` } });
    },
    logger,
  });
  assert.deepEqual(ca.certificates(), []);
  await ca.refresh();
  assert.deepEqual(ca.certificates(), [KUBE_CA, ROOT_CA]);
  assert.deepEqual(asked, ["kube-system/kube-root-ca.crt"]);
});

Deno.test("ClusterCa reads a CA file and de-duplicates", async () => {
  const ca = new ClusterCa({
    kubeConfig: kubeConfig({ caFile: "/sa/ca.crt" }),
    readTextFile: (path) =>
      path === "/sa/ca.crt" ? Promise.resolve(`${ROOT_CA}\n`) : Promise.reject(new Error(path)),
    readConfigMap: () => Promise.resolve({ data: { "ca.crt": ROOT_CA } }),
    logger,
  });
  await ca.refresh();
  assert.deepEqual(ca.certificates(), [ROOT_CA]);
});

Deno.test("ClusterCa says once that verification is skipped when no CA is known, and when it turns on", async () => {
  await using logs = await captureLogs();
  const state: { configMap?: string } = {};
  const ca = new ClusterCa({
    kubeConfig: kubeConfig({ caData: Buffer.from(KUBE_CA).toString("base64"), skipTLSVerify: true }),
    readConfigMap: () =>
      Promise.resolve(state.configMap === undefined ? undefined : { data: { "ca.crt": state.configMap } }),
    logger,
  });
  await ca.refresh();
  await ca.refresh();
  assert.deepEqual(ca.certificates(), [], "a kubeconfig that skips verification contributes no CA");
  state.configMap = ROOT_CA;
  await ca.refresh();
  assert.deepEqual(ca.certificates(), [ROOT_CA]);
  const messages = logs.records().map((r) => `${r.level ?? "info"} ${r.msg}`);
  assert.equal(messages.length, 2, messages.join("\n"));
  assert.match(messages[0]!, /^warning No cluster CA is known.*skip TLS certificate verification/);
  assert.match(messages[1]!, /^info Health checks verify API server certificates against the cluster CA/);
});

Deno.test("ClusterCa survives a failing ConfigMap read", async () => {
  await using logs = await captureLogs();
  const ca = new ClusterCa({
    kubeConfig: kubeConfig({ caData: Buffer.from(KUBE_CA).toString("base64") }),
    readConfigMap: () => Promise.reject(new Error("forbidden")),
    logger,
  });
  await ca.refresh();
  assert.deepEqual(ca.certificates(), [KUBE_CA]);
  assert.match(logs.text(), /Failed to read ConfigMap/);
});
