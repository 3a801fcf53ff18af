import assert from "node:assert/strict";
import type { CoreV1Event, V1Node } from "@kubernetes/client-node";
import type { KubeClients } from "./kube/client.ts";
import { parseRunFlags } from "./flags.ts";
import {
  type Elector,
  type FrameworkParts,
  runFramework,
  type RunnableInformerFactory,
} from "./framework.ts";
import type { RunningServer } from "./server.ts";
import { FakeInformerFactory } from "./testing/fake_informer.ts";
import { FakeProvider } from "./testing/fake_provider.ts";
import { FakeNodeWriter, FakeServiceWriter } from "./testing/fake_writers.ts";

const UNINIT = { key: "node.cloudprovider.kubernetes.io/uninitialized", value: "true", effect: "NoSchedule" };

class FakeElector implements Elector {
  readonly #lost = new AbortController();
  #grant!: () => void;
  readonly granted = new Promise<void>((resolve) => this.#grant = resolve);
  released = 0;
  leaseHeld = true;
  readonly check = { name: "leaderElection", check: () => {} };

  holdsLease(): boolean {
    return this.leaseHeld;
  }

  get lost(): AbortSignal {
    return this.#lost.signal;
  }

  grant(): void {
    this.#grant();
  }

  lose(): void {
    this.#lost.abort(new Error("renewal failed"));
  }

  acquire(signal: AbortSignal): Promise<void> {
    // As the real elector: a signal aborted before the campaign starts rejects at once.
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      this.granted.then(resolve);
    });
  }

  release(): Promise<void> {
    this.released++;
    return Promise.resolve();
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function setup(args: string[]) {
  const informers = new FakeInformerFactory() as FakeInformerFactory & RunnableInformerFactory;
  let started = 0;
  informers.start = () => void started++;
  const elector = new FakeElector();
  const events: CoreV1Event[] = [];
  let closed = 0;
  const kube = {
    core: {
      createNamespacedEvent: ({ body }: { body: CoreV1Event }) => {
        events.push(body);
        return Promise.resolve(body);
      },
    },
    close: () => Promise.resolve(void closed++),
    [Symbol.asyncDispose]: () => Promise.resolve(void closed++),
  } as unknown as KubeClients;
  /** Each client built, by its role's name, with its write fence. */
  const fences = new Map<string, ((url: URL) => void) | undefined>();
  const stats = new Set<unknown>();
  const parts: FrameworkParts = {
    kube: (_options, role) => {
      assert.ok(!fences.has(role.name), `one client per role; ${role.name} twice`);
      fences.set(role.name, role.beforeWrite);
      stats.add(role.stats);
      return kube;
    },
    informers: () => informers,
    elector: () => elector,
  };
  const provider = new FakeProvider();
  const stop = new AbortController();
  const servers: RunningServer[] = [];
  const run = () =>
    runFramework({
      provider,
      options: parseRunFlags(["--bind-address=127.0.0.1", `--secure-port=${freePort()}`, ...args]),
      signal: stop.signal,
      parts,
      controllers: {
        writers: {
          nodes: new FakeNodeWriter(informers.nodeInformer),
          services: new FakeServiceWriter(informers.serviceInformer),
        },
      },
      onServing: (s) => servers.push(s),
    });
  return {
    informers,
    elector,
    provider,
    stop,
    run,
    events,
    servers,
    started: () => started,
    closed: () => closed,
    fences,
    stats,
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

Deno.test("runFramework() does nothing until leading, then initializes the provider and runs controllers", async () => {
  const t = setup(["--leader-elect=true"]);
  t.provider.setInstance("n1", {});
  t.informers.nodeInformer.upsert(
    { metadata: { name: "n1", uid: "u1" }, spec: { taints: [UNINIT] } } as V1Node,
  );
  const done = t.run();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(t.provider.calls.length, 0, "a standby never calls the provider");
  assert.equal(t.started(), 0, "a standby starts no informers");
  t.elector.grant();
  await until(() => t.informers.nodeInformer.get("n1")?.spec?.providerID === "fake://n1", "node initialized");
  await until(() => t.events.some((e) => e.reason === "Synced"), "Synced Event written");
  t.stop.abort();
  await done;
  assert.equal(t.elector.released, 1, "lease released on graceful stop");
  assert.deepEqual([...t.fences.keys()].sort(), ["cloud-controller-manager", "events", "leader-election"]);
  assert.equal(t.stats.size, 1, "every client feeds the same rest_client_* counts");
  assert.equal(t.closed(), 3, "the provider's, the Events' and the elector's clients closed");
});

Deno.test("runFramework() fences writes: none leaves once the lease may have expired, except lease renewals", async () => {
  const t = setup(["--leader-elect=true"]);
  const done = t.run();
  t.elector.grant();
  await until(() => t.provider.callsOf("initialize").length === 1, "provider initialized");
  const controllers = t.fences.get("cloud-controller-manager");
  assert.ok(controllers, "the provider's and informers' client is fenced");
  assert.equal(t.fences.get("events"), undefined, "the Events client is not");
  assert.equal(t.fences.get("leader-election"), undefined, "nor the elector's (it writes only the lease)");
  const cloud = t.provider.initContext?.fence;
  assert.ok(cloud, "the provider gets the fence");
  const node = new URL("https://k/api/v1/nodes/n1");
  const lease = new URL("https://k/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/ccm");
  controllers(node);
  cloud();
  t.elector.leaseHeld = false;
  assert.throws(() => controllers(node), /Not writing: this replica may no longer hold the leader lease/);
  assert.throws(() => cloud(), /kube-system\/cloud-controller-manager/);
  controllers(lease);
  t.elector.leaseHeld = true;
  cloud();
  t.stop.abort();
  await done;
});

Deno.test("runFramework() without --leader-elect never fences", async () => {
  const t = setup(["--leader-elect=false"]);
  t.elector.leaseHeld = false;
  const done = t.run();
  await until(() => t.provider.callsOf("initialize").length === 1, "provider initialized");
  t.fences.get("cloud-controller-manager")!(new URL("https://k/api/v1/nodes/n1"));
  t.provider.initContext!.fence!();
  t.stop.abort();
  await done;
});

Deno.test("runFramework() stops while standing by without touching the provider", async () => {
  const t = setup(["--leader-elect=true"]);
  const done = t.run();
  await new Promise((r) => setTimeout(r, 20));
  t.stop.abort();
  await done;
  assert.equal(t.provider.calls.length, 0);
  assert.equal(t.elector.released, 0);
});

Deno.test("runFramework() stopped before it reaches the campaign returns without touching the provider", async () => {
  const t = setup(["--leader-elect=true"]);
  t.stop.abort();
  await t.run();
  assert.equal(t.provider.calls.length, 0);
  assert.equal(t.elector.released, 0);
  assert.equal(t.started(), 0);
});

Deno.test("runFramework() rejects when the lease is lost, after stopping the controllers", async () => {
  const t = setup(["--leader-elect=true"]);
  const done = t.run();
  t.elector.grant();
  await until(() => t.provider.callsOf("initialize").length === 1, "provider initialized");
  t.elector.lose();
  await assert.rejects(done, /Lost the leader lease kube-system\/cloud-controller-manager/);
  assert.equal(t.elector.released, 0);
});

Deno.test("runFramework() runs at once without --leader-elect and serves health and metrics over HTTPS", async () => {
  const t = setup(["--leader-elect=false"]);
  const done = t.run();
  await until(
    () => t.servers.length === 1 && t.provider.callsOf("initialize").length === 1,
    "serving and started",
  );
  const server = t.servers[0]!;
  const client = Deno.createHttpClient({ caCerts: [server.certificate] });
  try {
    let res = await fetch(`https://127.0.0.1:${server.port}/healthz?verbose`, { client });
    const body = await res.text();
    assert.equal(res.status, 200);
    assert.match(body, /\[\+\]cloud-node-controller ok/);
    assert.doesNotMatch(body, /leaderElection/);
    res = await fetch(`https://127.0.0.1:${server.port}/readyz`, { client });
    assert.equal(res.status, 200, await res.text());
    res = await fetch(`https://127.0.0.1:${server.port}/metrics`, { client });
    assert.match(
      await res.text(),
      /running_managed_controllers\{name="cloud-node-controller",manager="cloud-controller-manager"\} 1/,
    );
    const metrics = await (await fetch(`https://127.0.0.1:${server.port}/metrics`, { client })).text();
    assert.match(metrics, /^process_resident_memory_bytes [1-9]\d*$/m);
    assert.match(metrics, /^process_cpu_seconds_total \d/m);
    assert.match(metrics, /^nodejs_heap_size_used_bytes [1-9]\d*$/m);
  } finally {
    client.close();
  }
  t.stop.abort();
  await done;
});

Deno.test("runFramework() does not serve with --secure-port=0", async () => {
  const t = setup(["--leader-elect=false"]);
  const done = runFramework({
    provider: t.provider,
    options: parseRunFlags(["--secure-port=0", "--leader-elect=false", "--controllers=-route"]),
    signal: t.stop.signal,
    parts: {
      kube: () => ({ core: {}, [Symbol.asyncDispose]: () => Promise.resolve() }) as unknown as KubeClients,
      informers: () => t.informers,
      elector: () => t.elector,
    },
    onServing: (s) => t.servers.push(s),
  });
  await until(() => t.provider.callsOf("initialize").length === 1, "started");
  t.stop.abort();
  await done;
  assert.equal(t.servers.length, 0);
});
