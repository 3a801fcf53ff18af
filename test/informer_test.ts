import assert from "node:assert/strict";
import type { KubernetesObject, V1ConfigMap, V1Node } from "@kubernetes/client-node";
import { createKubeClients } from "../provider/kube/client.ts";
import { SharedInformerFactory } from "../provider/kube/informer_factory.ts";
import { SharedInformer } from "../provider/kube/informer.ts";
import { listWatchFor } from "../provider/kube/list_watch.ts";
import type { ListWatchSource } from "../provider/kube/reflector.ts";
import { patchOptions } from "../provider/kube/patch.ts";
import { createNode, createService, startTestCluster, waitFor } from "./harness/mod.ts";

function record<T extends KubernetesObject>() {
  const events: string[] = [];
  return {
    events,
    handlers: {
      add: (o: T) => events.push(`add ${o.metadata?.name}`),
      update: (old: T, o: T) =>
        events.push(
          old.metadata?.resourceVersion === o.metadata?.resourceVersion
            ? `resync ${o.metadata?.name}`
            : `update ${o.metadata?.name}`,
        ),
      delete: (o: T) => events.push(`delete ${o.metadata?.name}`),
    },
  };
}

Deno.test("informers against a real apiserver", async (t) => {
  // ConfigMaps bypass the watch cache so that etcd compaction makes old resourceVersions expire (410).
  await using cluster = await startTestCluster({ apiserverArgs: ["--watch-cache-sizes=configmaps#0"] });
  const admin = cluster.clients;
  await using kube = createKubeClients({ kubeconfig: cluster.kubeconfigPath, qps: 50, burst: 100 });
  await createNode(admin, "before", { labels: { x: "1" } });

  await t.step("nodes: initial list, then add, update and delete from the watch; plain objects", async () => {
    const stop = new AbortController();
    const factory = new SharedInformerFactory({ kube, minResyncPeriodMs: 0 });
    const nodes = factory.nodes();
    const r = record<V1Node>();
    nodes.addHandlers(r.handlers);
    const running = factory.start(stop.signal);
    try {
      await factory.waitForSync(AbortSignal.timeout(10_000));
      assert.deepEqual(r.events, ["add before"]);
      const listed = nodes.get("before");
      // Kept as the server sent them: timestamps are RFC 3339 strings, not Date models.
      assert.match(String(listed?.metadata?.creationTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(listed?.apiVersion, "v1", "list items get the apiVersion and kind watch events carry");
      assert.equal(listed?.kind, "Node");

      await createNode(admin, "n1");
      await admin.core.patchNode(
        { name: "n1", body: { metadata: { labels: { y: "2" } } } },
        patchOptions("merge"),
      );
      await waitFor(() => nodes.get("n1")?.metadata?.labels?.y === "2", {
        message: "label y on n1 in the cache",
      });
      const watched = nodes.get("n1");
      assert.equal(typeof watched?.metadata?.creationTimestamp, "string");
      // Cached Nodes keep only what controllers read of their status (provider/kube/cache_transform.ts).
      assert.deepEqual(watched?.status?.conditions, [{ type: "Ready", status: "True" }]);
      assert.equal(
        listed?.metadata?.managedFields,
        undefined,
        "listed nodes are cached without managedFields",
      );
      assert.equal(
        watched?.metadata?.managedFields,
        undefined,
        "watched nodes are cached without managedFields",
      );
      await admin.core.deleteNode({ name: "n1" });
      await waitFor(() => r.events.includes("delete n1"), { message: "delete n1" });
      assert.deepEqual(r.events.filter((e) => e.endsWith("n1")).slice(0, 1), ["add n1"]);
      assert.equal(nodes.get("n1"), undefined);
      assert.deepEqual(nodes.stats, { lists: 1, watches: 1 });
    } finally {
      stop.abort();
      await running;
    }
  });

  await t.step("watch restarts after the apiserver restarts and later changes are seen", async () => {
    const stop = new AbortController();
    const factory = new SharedInformerFactory({
      kube,
      minResyncPeriodMs: 0,
      backoff: { initialMs: 50, maxMs: 250 },
    });
    const nodes = factory.nodes();
    const r = record<V1Node>();
    nodes.addHandlers(r.handlers);
    const running = factory.start(stop.signal);
    try {
      await factory.waitForSync(AbortSignal.timeout(10_000));
      const watchesBefore = nodes.stats.watches;
      await cluster.restartApiserver();
      await createNode(admin, "after-restart");
      await waitFor(() => nodes.get("after-restart"), {
        timeoutMs: 20_000,
        message: "node created after restart",
      });
      assert.ok(nodes.stats.watches > watchesBefore, "a new watch was started");
      assert.deepEqual(r.events.filter((e) => e.startsWith("add")), ["add before", "add after-restart"]);
    } finally {
      stop.abort();
      await running;
    }
  });

  await t.step("410 Gone after etcd compaction: the informer lists again and catches up", async () => {
    await admin.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "early" } },
    });
    // Hold the first watch until the test has changed things and compacted etcd past the list.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const real = listWatchFor<V1ConfigMap>(kube, {
      apiVersion: "v1",
      kind: "ConfigMap",
      plural: "configmaps",
      namespace: "default",
    });
    let watchCalls = 0;
    const gated: ListWatchSource<V1ConfigMap> = {
      list: (o) => real.list(o),
      async *watch(o) {
        if (watchCalls++ === 0) await gate;
        yield* real.watch(o);
      },
    };
    const informer = new SharedInformer<V1ConfigMap>({ name: "configmaps", source: gated });
    const r = record<V1ConfigMap>();
    informer.addHandlers(r.handlers);
    const stop = new AbortController();
    const running = informer.run(stop.signal);
    try {
      await informer.waitForSync(AbortSignal.timeout(10_000));
      assert.ok(informer.get("default/early"));
      await admin.core.deleteNamespacedConfigMap({ namespace: "default", name: "early" });
      await admin.core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: "late" } },
      });
      await cluster.compactEtcd();
      openGate();
      await waitFor(() => informer.get("default/late") && !informer.get("default/early"), {
        message: "the re-list to replace early with late",
      });
      assert.equal(informer.stats.lists, 2, "one list, and one more after 410");
      assert.ok(r.events.includes("delete early") && r.events.includes("add late"), String(r.events));
    } finally {
      openGate();
      stop.abort();
      await running;
    }
  });

  await t.step("generic informer: ConfigMaps of one namespace with a label selector", async () => {
    await admin.core.createNamespace({ body: { metadata: { name: "metallb-system" } } });
    for (
      const [name, ns, labels] of [
        ["config", "metallb-system", { app: "metallb" }],
        ["other", "metallb-system", { app: "other" }],
        ["elsewhere", "default", { app: "metallb" }],
      ] as const
    ) {
      await admin.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, labels } } });
    }
    const stop = new AbortController();
    const factory = new SharedInformerFactory({ kube, minResyncPeriodMs: 0 });
    const descriptor = {
      apiVersion: "v1",
      kind: "ConfigMap",
      plural: "configmaps",
      namespace: "metallb-system",
      labelSelector: "app=metallb",
    };
    const configMaps = factory.resource<V1ConfigMap>(descriptor);
    assert.equal(factory.resource(descriptor), configMaps, "one informer per descriptor");
    const running = factory.start(stop.signal);
    try {
      await factory.waitForSync(AbortSignal.timeout(10_000));
      assert.deepEqual(configMaps.list().map((c) => c.metadata?.name), ["config"]);
      await admin.core.createNamespacedConfigMap({
        namespace: "metallb-system",
        body: { metadata: { name: "config2", labels: { app: "metallb" } } },
      });
      await admin.core.createNamespacedConfigMap({
        namespace: "metallb-system",
        body: { metadata: { name: "config3", labels: { app: "nope" } } },
      });
      await waitFor(() => configMaps.get("metallb-system/config2"), { message: "config2" });
      assert.equal(configMaps.get("metallb-system/config3"), undefined);
    } finally {
      stop.abort();
      await running;
    }
  });

  await t.step(
    "services and endpointSlices across namespaces, started after start(), and resync",
    async () => {
      await createService(admin, { name: "web", namespace: "default" });
      await admin.discovery.createNamespacedEndpointSlice({
        namespace: "metallb-system",
        body: {
          metadata: { name: "web-abc", labels: { "kubernetes.io/service-name": "web" } },
          addressType: "IPv4",
          endpoints: [{ addresses: ["10.1.0.5"] }],
          ports: [{ port: 8080, protocol: "TCP" }],
        },
      });
      const stop = new AbortController();
      const factory = new SharedInformerFactory({ kube, minResyncPeriodMs: 300, random: () => 0 });
      const running = factory.start(stop.signal);
      try {
        const services = factory.services();
        const slices = factory.endpointSlices();
        const r = record<KubernetesObject>();
        services.addHandlers(r.handlers);
        await factory.waitForSync(AbortSignal.timeout(10_000));
        assert.ok(services.get("default/web"));
        assert.ok(services.get("default/kubernetes"));
        assert.equal(slices.get("metallb-system/web-abc")?.endpoints?.[0]?.addresses?.[0], "10.1.0.5");
        await waitFor(() => r.events.includes("resync web"), { message: "a resync of services" });
      } finally {
        stop.abort();
        await running;
      }
    },
  );
});
