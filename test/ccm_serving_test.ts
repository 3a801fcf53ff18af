/**
 * `ccm run` as a process: HTTPS health and metrics on the secure port, and a clean exit on SIGTERM.
 */
import assert from "node:assert/strict";
import { createNode, startTestCluster, UNINITIALIZED_TAINT, waitFor } from "./harness/mod.ts";
import { CcmProcess, writeFakeState } from "./ccm_process.ts";
import { freePort } from "./harness/process.ts";
import { selfSignedCertificate } from "../provider/server.ts";

Deno.test("ccm run serves /healthz, /readyz and /metrics over HTTPS (--tls-*-file) and exits 0 on SIGTERM", async () => {
  await using cluster = await startTestCluster();
  const dir = await Deno.makeTempDir({ prefix: "ccm-serve-" });
  const stateFile = `${dir}/state.json`;
  await writeFakeState(stateFile, { instances: { n1: { region: "da" } } });
  const port = freePort();
  const { cert, key } = await selfSignedCertificate("127.0.0.1");
  await Deno.writeTextFile(`${dir}/tls.crt`, cert);
  await Deno.writeTextFile(`${dir}/tls.key`, key);
  const ccm = await CcmProcess.start({
    cluster,
    dir,
    tag: "a",
    stateFile,
    args: [
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      `--tls-cert-file=${dir}/tls.crt`,
      `--tls-private-key-file=${dir}/tls.key`,
      "--leader-elect=true",
    ],
  });
  const client = Deno.createHttpClient({ caCerts: [cert] });
  const get = (path: string) =>
    fetch(`https://127.0.0.1:${port}${path}`, { client }).then(async (r) => ({
      status: r.status,
      body: await r.text(),
    }));
  try {
    await createNode(cluster.clients, "n1", { taints: [UNINITIALIZED_TAINT] });
    await waitFor(async () => (await cluster.clients.core.readNode({ name: "n1" })).spec?.providerID, {
      timeoutMs: 30_000,
      message: `node initialized\n${await ccm.logTail()}`,
    });
    const healthz = await waitFor(() => get("/healthz?verbose").catch(() => undefined), {
      message: "serving",
    });
    assert.equal(healthz.status, 200, healthz.body);
    for (const check of ["ping", "leaderElection", "cloud-node-controller", "service-lb-controller"]) {
      assert.match(healthz.body, new RegExp(`\\[\\+\\]${check} ok`));
    }
    assert.equal((await get("/readyz")).status, 200);
    assert.equal((await get("/livez")).status, 200);
    const metrics = (await get("/metrics")).body;
    for (
      const name of [
        'workqueue_adds_total{name="cloud-node-controller"}',
        'leader_election_master_status{name="cloud-controller-manager"} 1',
        'running_managed_controllers{name="cloud-node-controller",manager="cloud-controller-manager"} 1',
        "ccm_reconcile_duration_seconds_count",
        "rest_client_requests_total",
      ]
    ) assert.ok(metrics.includes(name), `missing ${name}`);
    const status = await ccm.stop();
    assert.equal(status.code, 0, await ccm.logTail());
  } finally {
    client.close();
    await ccm.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ccm run's log shows its output while it runs, not only after it exits", async () => {
  await using cluster = await startTestCluster();
  const dir = await Deno.makeTempDir({ prefix: "ccm-log-" });
  const stateFile = `${dir}/state.json`;
  await writeFakeState(stateFile, { instances: {} });
  const ccm = await CcmProcess.start({ cluster, dir, tag: "a", stateFile, args: ["--leader-elect=false"] });
  try {
    await waitFor(async () => {
      assert.equal(ccm.hasExited, false, await ccm.logTail());
      return (await ccm.logTail(1_000)).includes("Informer caches synced");
    }, { timeoutMs: 30_000, message: "startup lines in the log of the running process" });
  } finally {
    await ccm.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
