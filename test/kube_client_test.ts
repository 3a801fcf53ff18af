import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { createKubeClients } from "../provider/kube/client.ts";
import { isAlreadyExists, isConflict, isGone, isNotFound, KubeApiError } from "../provider/kube/errors.ts";
import { patchOptions, serverSideApply } from "../provider/kube/patch.ts";
import { VERSION } from "../provider/version.ts";
import { createNode, startTestCluster, UNINITIALIZED_TAINT, waitFor } from "./harness/mod.ts";

Deno.test("kube client against a real apiserver", async (t) => {
  // ConfigMaps bypass the watch cache so that etcd compaction makes old resourceVersions expire (410).
  await using cluster = await startTestCluster({
    audit: true,
    apiserverArgs: ["--watch-cache-sizes=configmaps#0"],
  });
  const admin = cluster.clients;
  await createNode(admin, "n1", { taints: [UNINITIALIZED_TAINT], labels: { a: "1" } });

  await t.step("lists nodes with --kubeconfig and sends the ccm user agent", async () => {
    await using kube = createKubeClients({ kubeconfig: cluster.kubeconfigPath, qps: 20, burst: 30 });
    const nodes = await kube.core.listNode();
    assert.deepEqual(nodes.items.map((n) => n.metadata?.name), ["n1"]);
    assert.deepEqual(kube.requests.byVerb(), { list: 1 });
    const events = await waitFor(async () => {
      const found = (await cluster.auditEvents()).filter((e) => e.userAgent === `ccm/${VERSION}`);
      return found.length > 0 && found;
    }, { message: "an audit event with our user agent" });
    assert.equal(events[0]?.verb, "list");
    assert.equal(events[0]?.objectRef?.resource, "nodes");
  });

  await t.step("enforces --kube-api-qps/--kube-api-burst on every typed call", async () => {
    await using kube = createKubeClients({ kubeconfig: cluster.kubeconfigPath, qps: 10, burst: 2 });
    const start = performance.now();
    await Promise.all(Array.from({ length: 7 }, () => kube.core.readNode({ name: "n1" })));
    const elapsed = performance.now() - start;
    // 2 at once, then 5 more at 10/s: the last starts ≥ 500 ms in.
    assert.ok(elapsed >= 450, `7 requests at qps 10 burst 2 took only ${elapsed.toFixed(0)} ms`);
    assert.equal(kube.requests.byVerb().get, 7);
  });

  await t.step("--master overrides the kubeconfig server", async () => {
    const text = (await Deno.readTextFile(cluster.kubeconfigPath)).replace(
      cluster.server,
      "https://127.0.0.1:1",
    );
    const path = `${cluster.dir}/wrong-server.kubeconfig`;
    await Deno.writeTextFile(path, text);
    await using kube = createKubeClients({ kubeconfig: path, master: cluster.server });
    assert.equal((await kube.core.readNode({ name: "n1" })).metadata?.name, "n1");
  });

  await t.step("in-cluster config uses the service account token and CA", async () => {
    const saKubeconfig = JSON.parse(
      await Deno.readTextFile(
        await cluster.serviceAccountKubeconfig({ namespace: "kube-system", name: "ccm" }),
      ),
    );
    const prefix = `${cluster.dir}/pod`;
    const saDir = `${prefix}/var/run/secrets/kubernetes.io/serviceaccount`;
    await Deno.mkdir(saDir, { recursive: true });
    await Deno.writeTextFile(`${saDir}/token`, saKubeconfig.users[0].user.token);
    await Deno.copyFile(cluster.pki.caCert, `${saDir}/ca.crt`);
    // (The aggregated "view" role is empty here: no controller-manager aggregates it.)
    await admin.objects.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "list-services" },
      rules: [{ apiGroups: [""], resources: ["services"], verbs: ["list"] }],
    } as never);
    await admin.objects.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "ccm-list-services" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "list-services" },
      subjects: [{ kind: "ServiceAccount", name: "ccm", namespace: "kube-system" }],
    } as never);
    const port = new URL(cluster.server).port;
    await using kube = createKubeClients({
      inCluster: {
        env: { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: port },
        pathPrefix: prefix,
      },
    });
    const services = await waitFor(() => kube.core.listServiceForAllNamespaces(), { message: "view access" });
    assert.ok(services.items.some((s) => s.metadata?.name === "kubernetes"));
  });

  await t.step("patch helpers send merge, strategic and server-side apply patches", async () => {
    await using kube = createKubeClients({ kubeconfig: cluster.kubeconfigPath });
    // merge patch: null removes a label.
    await kube.core.patchNode(
      { name: "n1", body: { metadata: { labels: { a: null, b: "2" } } } },
      patchOptions("merge"),
    );
    // strategic merge: status.addresses merge by type, so a new type is added beside the existing one...
    await kube.core.patchNodeStatus({
      name: "n1",
      body: { status: { addresses: [{ type: "InternalIP", address: "10.0.0.1" }] } },
    }, patchOptions("merge"));
    const node = await kube.core.patchNodeStatus({
      name: "n1",
      body: { status: { addresses: [{ type: "Hostname", address: "n1" }] } },
    }, patchOptions("strategic"));
    assert.deepEqual(node.metadata?.labels, { b: "2" });
    assert.deepEqual(node.status?.addresses?.map((a) => a.type).sort(), ["Hostname", "InternalIP"]);
    // ...while a merge patch replaces the list.
    const replaced = await kube.core.patchNodeStatus({
      name: "n1",
      body: { status: { addresses: [{ type: "Hostname", address: "n1" }] } },
    }, patchOptions("merge"));
    assert.deepEqual(replaced.status?.addresses?.map((a) => a.type), ["Hostname"]);
    // server-side apply through the typed client and through the generic helper.
    const cm = await kube.core.patchNamespacedConfigMap({
      name: "applied",
      namespace: "default",
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "applied", namespace: "default" },
        data: { k: "v" },
      },
      fieldManager: "ccm-test",
      force: true,
    }, patchOptions("apply"));
    assert.equal(cm.data?.k, "v");
    assert.equal(cm.metadata?.managedFields?.[0]?.manager, "ccm-test");
    const generic = await serverSideApply(kube.objects, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "applied", namespace: "default" },
      data: { k: "w" },
    } as never) as { data?: Record<string, string> };
    assert.equal(generic.data?.k, "w");
  });

  await t.step("API errors carry code, reason and message", async () => {
    await using kube = createKubeClients({ kubeconfig: cluster.kubeconfigPath });
    const notFound = await kube.core.readNode({ name: "missing" }).catch((e) => e);
    assert.ok(isNotFound(notFound));
    assert.ok(notFound instanceof KubeApiError);
    assert.equal(notFound.message, 'nodes "missing" not found');
    assert.equal(notFound.reason, "NotFound");

    const exists = await kube.core.createNode({ body: { metadata: { name: "n1" } } }).catch((e) => e);
    assert.ok(isAlreadyExists(exists) && !isConflict(exists));

    const current = await kube.core.readNode({ name: "n1" });
    current.metadata!.resourceVersion = "1";
    const conflict = await kube.core.replaceNode({ name: "n1", body: current }).catch((e) => e);
    assert.ok(isConflict(conflict), String(conflict));
  });

  await t.step("a watch from a too old resourceVersion fails with 410 Gone", async () => {
    await using kube = createKubeClients({ kubeconfig: cluster.kubeconfigPath });
    await cluster.compactEtcd();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 5000);
    const err = await (async () => {
      const path = "/api/v1/namespaces/default/configmaps";
      for await (const _ of kube.watch(path, { resourceVersion: "1", signal: controller.signal })) {
        // Nothing before the compacted revision can be replayed.
      }
    })().then(() => undefined, (e) => e);
    clearTimeout(timer);
    assert.ok(isGone(err), `expected 410, got ${err}`);
  });

  await t.step("a watch streams changes and its start counts as a request", async () => {
    await using kube = createKubeClients({ kubeconfig: cluster.kubeconfigPath });
    const list = await kube.core.listNode();
    const controller = new AbortController();
    // Never hang the suite: a watch that misses an event ends after 30 s and the assertion below says which.
    const timer = setTimeout(() => controller.abort(), 30_000);
    const seen: string[] = [];
    const watching = (async () => {
      for await (
        const event of kube.watch<{ metadata: { name: string } }>("/api/v1/nodes", {
          resourceVersion: list.metadata?.resourceVersion,
          signal: controller.signal,
        })
      ) {
        if (event.type === "BOOKMARK") continue;
        seen.push(`${event.type} ${event.object.metadata.name}`);
        if (seen.length === 2) controller.abort();
      }
    })().catch((err) => {
      if (!controller.signal.aborted) throw err;
    });
    await createNode(admin, "n2");
    await admin.core.patchNode(
      { name: "n2", body: { metadata: { labels: { watched: "yes" } } } },
      patchOptions("merge"),
    );
    await watching;
    clearTimeout(timer);
    assert.deepEqual(seen, ["ADDED n2", "MODIFIED n2"]);
    assert.deepEqual(kube.requests.byVerb(), { list: 1, watch: 1 });
  });

  await t.step("request metrics are registered when a registry is given", async () => {
    const registry = new Registry();
    await using kube = createKubeClients({ kubeconfig: cluster.kubeconfigPath, registry });
    await kube.core.readNode({ name: "n1" });
    await kube.core.readNode({ name: "missing" }).catch(() => {});
    const text = await registry.metrics();
    const host = new URL(cluster.server).host;
    assert.match(
      text,
      new RegExp(`rest_client_requests_total\\{code="200",method="GET",host="${host}"\\} 1`),
    );
    assert.match(
      text,
      new RegExp(`rest_client_requests_total\\{code="404",method="GET",host="${host}"\\} 1`),
    );
    assert.match(text, /rest_client_request_duration_seconds_count\{verb="GET",host="[^"]+"\} 2/);
  });
});
