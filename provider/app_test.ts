import assert, { deepEqual, equal, match, rejects } from "node:assert/strict";
import type { V1Node } from "@kubernetes/client-node";
import { getLogger, reset } from "@logtape/logtape";
import "../metal/mod.ts";
import {
  defaultFrameworkParts,
  type Elector,
  type FrameworkParts,
  runController,
  type RunControllerDeps,
  runFramework,
  type RunFrameworkOptions,
  type RunnableInformerFactory,
} from "./app.ts";
import type { CloudProvider } from "./cloud.ts";
import { ConfigError } from "./errors.ts";
import { parseRunFlags } from "./flags.ts";
import { until } from "../util/clock.ts";
import { captureLogs, forgetSecretsForTesting, MASK } from "../util/log.ts";
import type { KubeClients } from "./kube/client.ts";
import { SenderPool } from "./kube/sender_pool.ts";
import { RequestStats } from "./kube/transport.ts";
import type { JsonEvent } from "./kube/json_types.ts";
import { registerCloudProvider, unregisterCloudProvider } from "./registry.ts";
import type { RunningServer } from "./server.ts";
import { FakeInformerFactory } from "./testing/fake_informer.ts";
import { FakeProvider } from "./testing/fake_provider.ts";
import { FakeNodeWriter, FakeServiceWriter } from "./testing/fake_writers.ts";
import { errorMessage } from "../util/errors.ts";

interface Run {
  lines: string[];
  records: Record<string, unknown>[];
  started: RunFrameworkOptions[];
}

async function run(args: string[], deps: RunControllerDeps = {}): Promise<Run> {
  const lines: string[] = [];
  const started: RunFrameworkOptions[] = [];
  try {
    await runController(parseRunFlags(args), {
      env: { METAL_API_KEY: "test-key", METAL_PROJECT_ID: "test-project" },
      readTextFile: (path) => Promise.reject(new Deno.errors.NotFound(`No such file: '${path}'`)),
      runFramework: (ctx) => {
        started.push(ctx);
        return Promise.resolve();
      },
      ...deps,
      logWrite: (line) => lines.push(line),
    });
  } finally {
    await reset();
    forgetSecretsForTesting();
  }
  return { lines, records: lines.map((line) => JSON.parse(line)), started };
}

async function runFails(args: string[], deps: RunControllerDeps, pattern: RegExp): Promise<string[]> {
  const lines: string[] = [];
  await rejects(run(args, { ...deps, logWrite: (line) => lines.push(line) }), (err: unknown) => {
    match(errorMessage(err), pattern);
    return true;
  });
  return lines;
}

Deno.test("runController() logs the version and options, builds the provider and starts the controllers", async () => {
  const { records, started } = await run(["--leader-elect=false", "-v=2"]);
  equal(records[0]?.msg, "Starting cloud controller manager");
  equal(typeof records[0]?.version, "string");
  equal((records[0]?.options as Record<string, unknown>).leaderElect, false);
  equal(records.some((r) => r.msg === "Loaded Equinix Metal configuration"), true);
  equal(records.at(-1)?.msg, "Created cloud provider equinixmetal");
  equal(started.length, 1);
  equal(started[0]?.provider.providerName, "equinixmetal");
  equal(started[0]?.options.verbosity, 2);
});

Deno.test("runController() logs one line per ignored flag", async () => {
  const { records } = await run(["--authentication-skip-lookup=true", "--allow-untagged-cloud"]);
  const ignored = records.filter((r) => String(r.msg).startsWith("Ignored flag"));
  deepEqual(ignored.map((r) => r.flag), ["--allow-untagged-cloud", "--authentication-skip-lookup"]);
  match(String(ignored[0]?.msg), /^Ignored flag --allow-untagged-cloud: deprecated upstream/);
});

Deno.test("runController() with an unknown --cloud-provider lists the registered providers", async () => {
  await runFails(
    ["--cloud-provider=aws"],
    {},
    /^Cannot use cloud provider 'aws': it is not registered; registered providers: 'equinixmetal'$/,
  );
});

Deno.test("runController() lists every registered provider when the name is unknown", async () => {
  const other = (): CloudProvider => {
    throw new Error("not used");
  };
  registerCloudProvider("acme", other);
  try {
    await runFails(["--cloud-provider=packet"], {}, /registered providers: 'acme', 'equinixmetal'$/);
  } finally {
    unregisterCloudProvider("acme");
  }
});

Deno.test("runController() names an unreadable --cloud-config file", async () => {
  await runFails(
    ["--cloud-config=/etc/cloud-sa/cloud-sa.json"],
    {},
    /^Cannot read --cloud-config file '\/etc\/cloud-sa\/cloud-sa.json': No such file.*Secret holding it is mounted$/,
  );
});

Deno.test("runController() rejects missing credentials before starting anything, naming METAL_API_KEY", async () => {
  let started = false;
  const deps: RunControllerDeps = {
    env: {},
    runFramework: () => {
      started = true;
      return Promise.resolve();
    },
  };
  await rejects(run([], deps), (err: unknown) => {
    equal(err instanceof ConfigError, true);
    match(
      errorMessage(err),
      /^Cannot start cloud provider 'equinixmetal': Missing API key: set METAL_API_KEY/,
    );
    return true;
  });
  equal(started, false);
});

Deno.test("runController() passes the --cloud-config contents and path to the provider", async () => {
  const files: Record<string, string> = {
    "/etc/cloud-sa/cloud-sa.json": '{"apiKey":"file-key","projectID":"file-project","metro":"da"}',
  };
  const { records } = await run(["--cloud-config=/etc/cloud-sa/cloud-sa.json"], {
    env: {},
    readTextFile: (path) => Promise.resolve(files[path] ?? ""),
  });
  const config = records.find((r) => r.msg === "Loaded Equinix Metal configuration")?.config as Record<
    string,
    unknown
  >;
  equal(config.projectId, "file-project");
  equal(config.metro, "da");
});

Deno.test("runController() never lets a secret reach the startup log", async () => {
  const apiKey = "sk-live-9f8e7d6c5b4a";
  const bgpPass = "bgp-pass-from-file-0042";
  const fileKey = "sk-from-cloud-sa-1234";
  const bgpFile = await Deno.makeTempFile();
  await Deno.writeTextFile(bgpFile, `${bgpPass}\n`);
  try {
    const { lines, records } = await run(["--cloud-config=/cloud-sa.json", "-v=10"], {
      env: { METAL_API_KEY: apiKey, METAL_PROJECT_ID: "p", METAL_BGP_PASS_FILE: bgpFile },
      readTextFile: () => Promise.resolve(JSON.stringify({ apiKey: fileKey, bgpPass: "unused" })),
      runFramework: (ctx) => {
        // Whatever later code logs, the values stay masked.
        getLogger(["ccm", "test"]).info(`Connected with ${apiKey}`, { header: `X-Auth-Token: ${apiKey}` });
        getLogger(["ccm", "test"]).debug("Peer {pass}", { pass: bgpPass, provider: ctx.provider });
        return Promise.resolve();
      },
    });
    const text = lines.join("");
    for (const secret of [apiKey, bgpPass, fileKey]) {
      equal(text.includes(secret), false, `${secret} leaked: ${text}`);
    }
    const config = records.find((r) => r.msg === "Loaded Equinix Metal configuration")?.config as Record<
      string,
      unknown
    >;
    equal(config.apiKey, MASK);
    equal(config.bgpPass, MASK);
    equal(records.filter((r) => r.msg === "Loaded Equinix Metal configuration").length, 1);
  } finally {
    forgetSecretsForTesting();
    await Deno.remove(bgpFile);
  }
});

Deno.test("runController() starts the framework and fails clearly on an unreadable kubeconfig", async () => {
  await runFails(
    ["--kubeconfig=/nonexistent/kubeconfig"],
    { runFramework: undefined },
    /\/nonexistent\/kubeconfig/,
  );
});

Deno.test("runController() writes text logs with --logging-format=text", async () => {
  const lines: string[] = [];
  try {
    await runController(parseRunFlags(["--logging-format=text"]), {
      env: { METAL_API_KEY: "k", METAL_PROJECT_ID: "p" },
      runFramework: () => Promise.resolve(),
      logWrite: (line) => lines.push(line),
    });
  } finally {
    await reset();
    forgetSecretsForTesting();
  }
  match(lines[0] as string, /^I\d{4} [\d:.]+ ccm\.app\] "Starting cloud controller manager" version=/);
});

// runFramework(): the framework around the controllers, with fake clients, informers and elector.

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

interface SetupOptions {
  provider?: FakeProvider;
  /** The client of one role (default: one fake for all, and fake writers for the controllers). */
  clientFor?: (role: string) => KubeClients;
}

function setup(args: string[], setupOptions: SetupOptions = {}) {
  const informers = new FakeInformerFactory() as FakeInformerFactory & RunnableInformerFactory;
  let started = 0;
  informers.start = () => void started++;
  const elector = new FakeElector();
  const events: JsonEvent[] = [];
  let closed = 0;
  const kube = {
    core: {
      createNamespacedEvent: ({ body }: { body: JsonEvent }) => {
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
      return setupOptions.clientFor?.(role.name) ?? kube;
    },
    informers: () => informers,
    elector: () => elector,
  };
  const provider = setupOptions.provider ?? new FakeProvider();
  const stop = new AbortController();
  const servers: RunningServer[] = [];
  const run = () =>
    runFramework({
      provider,
      options: parseRunFlags(["--bind-address=127.0.0.1", `--secure-port=${freePort()}`, ...args]),
      signal: stop.signal,
      parts,
      controllers: setupOptions.clientFor !== undefined ? undefined : {
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

/** Status and body of `path` on the framework's HTTPS server. */
async function get(server: RunningServer, path: string): Promise<{ status: number; body: string }> {
  const client = Deno.createHttpClient({ caCerts: [server.certificate] });
  try {
    const res = await fetch(`https://127.0.0.1:${server.port}${path}`, { client });
    return { status: res.status, body: await res.text() };
  } finally {
    client.close();
  }
}

/** Names of the checks `/healthz?verbose` (or another endpoint) lists. */
async function checks(server: RunningServer, endpoint = "healthz"): Promise<string[]> {
  const { body } = await get(server, `/${endpoint}?verbose`);
  return [...body.matchAll(/^\[[+-]\]([\w.-]+) /gm)].map((m) => m[1]!);
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
  await until(() => t.informers.nodeInformer.get("n1")?.spec?.providerID === "fake://n1", {
    message: "node initialized",
  });
  await until(() => t.events.some((e) => e.reason === "Synced"), { message: "Synced Event written" });
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
  await until(() => t.provider.callsOf("initialize").length === 1, { message: "provider initialized" });
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
  await until(() => t.provider.callsOf("initialize").length === 1, { message: "provider initialized" });
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
  await until(() => t.provider.callsOf("initialize").length === 1, { message: "provider initialized" });
  t.elector.lose();
  await assert.rejects(done, /Lost the leader lease kube-system\/cloud-controller-manager/);
  assert.equal(t.elector.released, 0);
});

Deno.test("runFramework() runs at once without --leader-elect and serves health and metrics over HTTPS", async () => {
  const t = setup(["--leader-elect=false"]);
  const done = t.run();
  await until(
    () => t.servers.length === 1 && t.provider.callsOf("initialize").length === 1,
    { message: "serving and started" },
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
  await until(() => t.provider.callsOf("initialize").length === 1, { message: "started" });
  t.stop.abort();
  await done;
  assert.equal(t.servers.length, 0);
});

Deno.test("runFramework() initializes the provider on the leader's parts and builds the selected controllers on what it returns", async () => {
  await using logs = await captureLogs();
  const t = setup(["--leader-elect=false", "--controllers=*"]);
  t.provider.setInstance("n1", { region: "da" });
  t.informers.nodeInformer.upsert({ metadata: { name: "n1" }, spec: { taints: [UNINIT] } } as V1Node);
  const done = t.run();
  await until(() => t.informers.nodeInformer.get("n1")?.spec?.providerID === "fake://n1", {
    message: "node init",
  });
  assert.equal(t.provider.callsOf("initialize").length, 1);
  const ctx = t.provider.initContext!;
  assert.ok(ctx.informers === t.informers, "the provider shares the framework's informers");
  assert.equal(ctx.signal.aborted, false);
  assert.deepEqual(ctx.logger.category, ["ccm", "fake"]);
  assert.deepEqual((await checks(t.servers[0]!)).filter((n) => n.endsWith("-controller")), [
    "cloud-node-controller",
    "cloud-node-lifecycle-controller",
    "service-lb-controller",
  ]);
  assert.match(
    (await get(t.servers[0]!, "/metrics")).body,
    /running_managed_controllers\{name="service-lb-controller",manager="cloud-controller-manager"\} 1/,
  );
  assert.match(logs.text(), /Skipped node-route-controller: the cloud provider does not support routes/);
  t.stop.abort();
  await done;
  assert.equal(ctx.signal.aborted, true, "the provider's signal aborts on shutdown");
});

Deno.test("runFramework() starts only what --controllers selects, and skips the service controller without LB support", async () => {
  await using logs = await captureLogs();
  const t = setup(["--leader-elect=false", "--controllers=service,cloud-node-lifecycle"], {
    provider: new FakeProvider({ loadBalancer: false }),
  });
  const done = t.run();
  await until(() => t.provider.callsOf("initialize").length === 1 && t.servers.length === 1, {
    message: "started",
  });
  await until(() => logs.text().includes("Starting controller"), { message: "controllers started" });
  assert.deepEqual((await checks(t.servers[0]!)).filter((n) => n.endsWith("-controller")), [
    "cloud-node-lifecycle-controller",
  ]);
  assert.match(
    logs.text(),
    /Failed to start service controller: the cloud provider does not support external load balancers/,
  );
  assert.doesNotMatch(logs.text(), /node-route-controller/);
  t.stop.abort();
  await done;
});

Deno.test("runFramework() fails when the provider cannot initialize", async () => {
  const t = setup(["--leader-elect=false"]);
  t.provider.fail("initialize", new Error("bad API key"));
  await assert.rejects(t.run(), /Cannot initialize cloud provider 'fake': bad API key/);
});

Deno.test("runFramework() serves the provider's health checks under /readyz", async () => {
  const provider = new FakeProvider({
    healthChecks: [{ name: "fake-api", check: () => Promise.reject(new Error("down")) }],
  });
  const t = setup(["--leader-elect=false", "--controllers=-route"], { provider });
  const done = t.run();
  await until(() => t.provider.callsOf("initialize").length === 1 && t.servers.length === 1, {
    message: "started",
  });
  let names: string[] = [];
  for (let i = 0; i < 100 && !names.includes("fake-api"); i++) names = await checks(t.servers[0]!, "readyz");
  assert.ok(names.includes("fake-api"), names.join());
  assert.equal((await get(t.servers[0]!, "/readyz")).status, 500);
  t.stop.abort();
  await done;
});

Deno.test("runFramework() runs the provider's controllers with the leader's stop signal, restarting a failed one", async () => {
  await using logs = await captureLogs();
  const runs: AbortSignal[] = [];
  const provider = new FakeProvider({
    controllers: [{
      name: "fake-loop",
      run: ({ signal }) => {
        runs.push(signal);
        return runs.length === 1
          ? Promise.reject(new Error("boom"))
          : new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      },
    }],
  });
  const t = setup(["--leader-elect=false", "--controllers=-route"], { provider });
  const done = t.run();
  await until(() => runs.length === 1 && t.servers.length === 1, { message: "the loop started" });
  assert.ok((await checks(t.servers[0]!)).includes("fake-loop"));
  await until(() => logs.text().includes("Provider controller failed; restarting"), {
    message: "the failure logged",
  });
  await until(() => runs.length === 2, { message: "the loop restarted after its backoff" });
  t.stop.abort();
  await done;
  assert.equal(runs[1]!.aborted, true);
});

Deno.test("runFramework() gives each controller a Kubernetes client of its own, as upstream does", async () => {
  await using _logs = await captureLogs();
  const writes: string[] = [];
  const clientFor = (name: string) =>
    ({
      core: new Proxy({}, {
        get: (_target, method) => (request: { name: string }) => {
          writes.push(`${name} ${String(method)} ${request.name}`);
          return Promise.resolve({ metadata: { name: request.name, resourceVersion: "2" } });
        },
      }),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    }) as unknown as KubeClients;
  const t = setup(["--leader-elect=false", "--controllers=*"], { clientFor });
  t.provider.setInstance("n1", { region: "da" });
  t.informers.nodeInformer.upsert({ metadata: { name: "n1" }, spec: { taints: [UNINIT] } } as V1Node);
  const done = t.run();
  await until(() => writes.some((w) => w.endsWith("patchNode n1")), {
    message: "the node's initialization patch",
  });
  t.stop.abort();
  await done;
  assert.deepEqual([...t.fences.keys()].sort(), [
    "cloud-controller-manager",
    "cloud-node-controller",
    "cloud-node-lifecycle-controller",
    "events",
    "service-lb-controller",
  ]);
  assert.ok(t.fences.get("cloud-node-controller"), "controller clients are fenced");
  assert.deepEqual(
    writes.filter((w) => w.endsWith(" n1")),
    ["cloud-node-controller patchNode n1"],
    "node initialization writes through the node controller's own client",
  );
});

Deno.test("defaultFrameworkParts(): every controller's client sends through one connection pool", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ccm-app-test-" });
  try {
    const kubeconfig = `${dir}/kubeconfig`;
    await Deno.writeTextFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:1" } }],
        users: [{ name: "u", user: { token: "t" } }],
        contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
        "current-context": "x",
      }),
    );
    let pools = 0;
    const senders = new SenderPool(() => {
      pools++;
      return { send: () => Promise.reject(new Error("unused")), close: () => Promise.resolve() };
    });
    const parts = defaultFrameworkParts(senders);
    const options = parseRunFlags([`--kubeconfig=${kubeconfig}`]);
    const stats = new RequestStats();
    const clients = ["cloud-node-controller", "service-lb-controller", "events"].map((name) =>
      parts.kube(options, { name, stats })
    );
    equal(pools, 1, "three clients, one pool");
    for (const c of clients) await c.close();
    equal(senders.size, 0, "closed with the last client");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
