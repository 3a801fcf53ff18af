import assert from "node:assert/strict";
import { ManagedProcess, minimalEnv } from "./process.ts";
import { makeTestDir } from "./test_dir.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("ManagedProcess logs output, passes env and keeps stdout for waitForStdout", async () => {
  await using dir = await makeTestDir({ prefix: "ccm-process-test-", keepDir: false });
  const process = await ManagedProcess.start({
    name: "sh",
    bin: "/bin/sh",
    args: ["-c", 'echo "to stderr" >&2; echo "value=$GREETING home=${HOME:-none}"'],
    env: { ...minimalEnv(), GREETING: "hello" },
    clearEnv: true,
    logPath: `${dir.path}/sh.log`,
  });
  const match = await process.waitForStdout(/value=(\S+)/, 10_000);
  assert.equal(match[1], "hello");
  assert.equal((await process.exited).code, 0);
  assert.equal(process.hasExited, true);
  const log = await process.logTail();
  assert.match(log, /to stderr/);
  assert.match(log, /value=hello/);
  await assert.rejects(process.waitForStdout(/never printed/, 10_000), /exited before printing/);
});

Deno.test("ManagedProcess.kill sends SIGKILL after the grace period when the signal is ignored", async () => {
  await using dir = await makeTestDir({ prefix: "ccm-process-test-", keepDir: false });
  const process = await ManagedProcess.start({
    name: "stubborn",
    bin: "/bin/sh",
    args: ["-c", 'trap "" TERM; echo ready; while :; do sleep 0.1; done'],
    logPath: `${dir.path}/stubborn.log`,
  });
  await process.waitForStdout(/ready/, 10_000);
  const started = performance.now();
  await process.kill("SIGTERM", 300);
  assert.ok(performance.now() - started >= 250, "killed before the grace period");
  assert.equal((await process.exited).signal, "SIGKILL");
});

Deno.test("makeTestDir runs cleanups in reverse once and removes the directory", async () => {
  const dir = await makeTestDir({ prefix: "ccm-process-test-", keepDir: false });
  const order: string[] = [];
  dir.defer(() => Promise.resolve(order.push("first")));
  dir.defer(() => Promise.reject(new Error("a failing cleanup does not stop the others")));
  dir.defer(() => Promise.resolve(order.push("last")));
  await Promise.all([dir.stop(), dir.stop()]);
  assert.deepEqual(order, ["last", "first"]);
  assert.equal(await exists(dir.path), false);

  const kept = await makeTestDir({ prefix: "ccm-process-test-", keepDir: true });
  await kept.stop();
  assert.equal(await exists(kept.path), true);
  await Deno.remove(kept.path, { recursive: true });
});
