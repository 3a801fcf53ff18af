/**
 * Leader election with real `ccm run` processes (fake provider) against a real kube-apiserver: only the leader
 * calls the provider; a killed leader is replaced within lease duration + retry period; a leader stopped with
 * SIGTERM releases the lease so a standby takes over at once; a leader that loses its lease exits non-zero.
 */
import assert from "node:assert/strict";
import { patchOptions } from "../provider/kube/patch.ts";
import {
  createNode,
  startTestCluster,
  type TestCluster,
  UNINITIALIZED_TAINT,
  waitFor,
} from "./harness/mod.ts";
import { CcmProcess, writeFakeState } from "./ccm_process.ts";
import { errorMessage } from "../util/errors.ts";

const INSTANCES = { n1: {}, n2: {}, n3: {} };

function electionArgs(leaseS: number, renewS: number, retryS: number): string[] {
  return [
    "--leader-elect=true",
    `--leader-elect-lease-duration=${leaseS}s`,
    `--leader-elect-renew-deadline=${renewS}s`,
    `--leader-elect-retry-period=${retryS}s`,
    "--controllers=cloud-node",
  ];
}

async function startPair(cluster: TestCluster, args: string[]) {
  const dir = await Deno.makeTempDir({ prefix: "ccm-le-" });
  const stateFile = `${dir}/state.json`;
  await writeFakeState(stateFile, { instances: INSTANCES });
  const processes = await Promise.all(
    ["a", "b"].map((tag) => CcmProcess.start({ cluster, dir, tag, stateFile, args })),
  );
  const cleanup = async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await Deno.remove(dir, { recursive: true });
  };
  try {
    const leader = await waitFor(async () => {
      for (const p of processes) {
        if (p.hasExited) throw new Error(`ccm ${p.tag} exited:\n${await p.logTail()}`);
        if ((await p.calls()).some((c) => c.method === "initialize")) return p;
      }
      return undefined;
    }, { timeoutMs: 30_000, message: "a leader to initialize the provider" });
    const standby = processes.find((p) => p !== leader)!;
    return { leader, standby, cleanup };
  } catch (err) {
    const logs = await Promise.all(processes.map(async (p) => `--- ${p.tag} ---\n${await p.logTail()}`));
    await cleanup();
    throw new Error(`${errorMessage(err)}\n${logs.join("\n")}`);
  }
}

async function initialized(cluster: TestCluster, name: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => (await cluster.clients.core.readNode({ name })).spec?.providerID, {
    timeoutMs,
    message: `node ${name} initialized`,
  });
}

Deno.test("only the leader acts; killing it hands over within lease duration + a jittered retry", async () => {
  await using cluster = await startTestCluster();
  const { leader, standby, cleanup } = await startPair(cluster, electionArgs(4, 3, 1));
  try {
    await createNode(cluster.clients, "n1", { taints: [UNINITIALIZED_TAINT] });
    await initialized(cluster, "n1");
    assert.ok((await leader.calls()).some((c) => c.method === "instanceMetadata" && c.target === "n1"));
    assert.deepEqual(await standby.calls(), [], "the standby never calls the provider");

    const killedAt = Date.now();
    leader.kill("SIGKILL");
    await createNode(cluster.clients, "n2", { taints: [UNINITIALIZED_TAINT] });
    const takeover = await waitFor(
      async () => (await standby.calls()).find((c) => c.method === "initialize")?.at,
      { timeoutMs: 20_000, message: "the standby to take over" },
    );
    const handoverMs = takeover - killedAt;
    // deno-lint-ignore no-console
    console.log(`SIGKILL handover: ${handoverMs} ms (lease 4 s + retry 1 s)`);
    // The standby sees the leader's last renewal up to one jittered retry period (1 s × up to 2.2, as
    // client-go) late and waits the lease duration from then; 1 s for taking the lease and starting up.
    assert.ok(handoverMs <= 4_000 + 2_200 + 1_000, `handover took ${handoverMs} ms`);
    await initialized(cluster, "n2");
    assert.ok((await standby.calls()).some((c) => c.method === "instanceMetadata" && c.target === "n2"));
  } finally {
    await cleanup();
  }
});

Deno.test("SIGTERM releases the lease: the standby takes over at once and the leader exits 0", async () => {
  await using cluster = await startTestCluster();
  const { leader, standby, cleanup } = await startPair(cluster, electionArgs(15, 10, 1));
  try {
    const stoppedAt = Date.now();
    const status = await leader.stop();
    assert.equal(status.code, 0, await leader.logTail());
    const takeover = await waitFor(
      async () => (await standby.calls()).find((c) => c.method === "initialize")?.at,
      { timeoutMs: 20_000, message: "the standby to take over" },
    );
    const handoverMs = takeover - stoppedAt;
    // deno-lint-ignore no-console
    console.log(`SIGTERM handover: ${handoverMs} ms (lease 15 s, retry 1 s)`);
    assert.ok(handoverMs < 5_000, `handover took ${handoverMs} ms, not at once`);
    await createNode(cluster.clients, "n3", { taints: [UNINITIALIZED_TAINT] });
    await initialized(cluster, "n3");
  } finally {
    await cleanup();
  }
});

Deno.test("a leader that loses its lease stops its controllers and exits non-zero", async () => {
  await using cluster = await startTestCluster();
  const { leader, standby, cleanup } = await startPair(cluster, electionArgs(4, 3, 1));
  try {
    await standby.stop(); // only the leader and an intruder now
    await cluster.clients.coordination.patchNamespacedLease({
      namespace: "kube-system",
      name: "cloud-controller-manager",
      body: {
        spec: { holderIdentity: "intruder", leaseDurationSeconds: 60, renewTime: microTime(new Date()) },
      },
    }, patchOptions("merge"));
    const status = await Promise.race([
      leader.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("leader did not exit")), 15_000)),
    ]);
    assert.equal(status.code, 1, await leader.logTail());
    assert.match(
      await Deno.readTextFile(leader.logPath),
      /Lost the leader lease kube-system\/cloud-controller-manager/,
    );
  } finally {
    await cleanup();
  }
});

/** A Kubernetes MicroTime: RFC 3339 with six fractional digits. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
