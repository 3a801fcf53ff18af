/**
 * Scale: 1,000 tainted nodes are initialized in at most 15 s at `--kube-api-qps=200`, with a provider that
 * answers from memory — reads come from the informer cache, and each node costs two writes (status addresses,
 * then one patch for providerID, labels and taint), no GETs.
 */
import assert from "node:assert/strict";
import { FakeProvider } from "../provider/testing/fake_provider.ts";
import { createNode, startTestCluster, UNINITIALIZED_TAINT, waitFor } from "./harness/mod.ts";
import { startInProcessCcm } from "./ccm_in_process.ts";

const NODES = 1_000;

Deno.test(`${NODES} nodes are initialized within 15 s at --kube-api-qps=200`, async () => {
  await using cluster = await startTestCluster({ audit: true });
  const provider = new FakeProvider();
  const names = Array.from({ length: NODES }, (_, i) => `node-${String(i).padStart(4, "0")}`);
  for (const [i, name] of names.entries()) {
    provider.setInstance(name, {
      instanceType: "c3.small.x86",
      region: "da",
      addresses: [{ type: "InternalIP", address: `10.0.${i >> 8}.${i & 255}` }],
    });
  }
  for (let i = 0; i < names.length; i += 50) {
    await Promise.all(
      names.slice(i, i + 50).map((name) =>
        createNode(cluster.clients, name, { taints: [UNINITIALIZED_TAINT] })
      ),
    );
  }

  const start = performance.now();
  await using _ccm = startInProcessCcm(cluster, {
    provider,
    args: ["--kube-api-qps=200", "--concurrent-node-syncs=10", "--controllers=cloud-node"],
  });
  await waitFor(async () => {
    const nodes = (await cluster.clients.core.listNode()).items;
    const done = nodes.filter((n) =>
      n.spec?.providerID && !n.spec.taints?.some((t) => t.key === UNINITIALIZED_TAINT.key)
    );
    return done.length === NODES;
  }, { timeoutMs: 60_000, intervalMs: 250, message: `${NODES} nodes initialized` });
  const seconds = (performance.now() - start) / 1000;
  // deno-lint-ignore no-console
  console.log(`Initialized ${NODES} nodes in ${seconds.toFixed(1)} s`);
  assert.ok(seconds <= 15, `took ${seconds.toFixed(1)} s`);

  const ours = (await cluster.auditEvents()).filter((e) =>
    e.userAgent?.startsWith("ccm/") && e.objectRef?.resource === "nodes"
  );
  const count = (verb: string, sub?: string) =>
    ours.filter((e) => e.verb === verb && e.objectRef?.subresource === sub).length;
  const codes = ours.reduce<Record<string, number>>((m, e) => {
    const k = `${e.verb} ${e.objectRef?.subresource ?? ""} ${e.responseStatus?.code}`;
    m[k] = (m[k] ?? 0) + 1;
    return m;
  }, {});
  assert.equal(count("get"), 0, `no per-node GETs: ${JSON.stringify(codes)}`);
  assert.equal(count("patch", "status"), NODES, "one status patch per node");
  assert.equal(count("patch"), NODES, "one patch per node for providerID, labels and taint");
  assert.equal(provider.callsOf("instanceMetadata").length, NODES);
});
