import assert from "node:assert/strict";
import { isForbidden } from "../../provider/kube/errors.ts";
import { startTestCluster } from "./cluster.ts";
import {
  applyCRDs,
  createNode,
  createService,
  ensureNamespace,
  setNodeReady,
  UNINITIALIZED_TAINT,
} from "./objects.ts";
import { waitFor } from "./wait.ts";
import { errorMessage } from "../../util/errors.ts";

const WIDGET_CRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: { kind: Widget, plural: widgets, singular: widget }
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: { type: object, x-kubernetes-preserve-unknown-fields: true }
`;

Deno.test("test cluster: real apiserver, object helpers, RBAC users, restart, cleanup", async (t) => {
  let dir = "";
  {
    await using cluster = await startTestCluster({ audit: true });
    dir = cluster.dir;
    const kube = cluster.clients;

    await t.step("kube-system exists and startup was measured", async () => {
      await kube.core.readNamespace({ name: "kube-system" });
      assert.ok(cluster.timings.totalMs > 0 && cluster.timings.totalMs < 60_000);
      assert.match(cluster.server, /^https:\/\/127\.0\.0\.1:\d+$/);
    });

    await t.step("createNode sets spec, metadata and status", async () => {
      await createNode(kube, "n1", {
        labels: { role: "worker" },
        taints: [UNINITIALIZED_TAINT],
        providerID: "equinixmetal://abc",
        addresses: [{ type: "InternalIP", address: "10.0.0.1" }],
        ready: true,
      });
      const node = await kube.core.readNode({ name: "n1" });
      assert.equal(node.metadata?.labels?.role, "worker");
      assert.equal(node.spec?.providerID, "equinixmetal://abc");
      assert.ok(node.spec?.taints?.some((taint) => taint.key === UNINITIALIZED_TAINT.key));
      assert.deepEqual(node.status?.addresses?.map((a) => ({ ...a })), [{
        type: "InternalIP",
        address: "10.0.0.1",
      }]);
      assert.equal(node.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
    });

    await t.step(
      "createNode registers a node with its Ready condition in one write, as a kubelet does",
      async () => {
        // A node seen without a Ready condition counts as not ready: the lifecycle controller could delete it.
        await createNode(kube, "registered", { ready: true });
        await kube.core.deleteNode({ name: "registered" });
        const writes = (await cluster.auditEvents()).filter((e) =>
          e.objectRef?.resource === "nodes" && e.objectRef?.name === "registered" && e.verb !== "delete"
        );
        assert.deepEqual(writes.map((e) => [e.verb, e.objectRef?.subresource ?? ""]), [["create", ""]]);
      },
    );

    await t.step("setNodeReady flips the Ready condition", async () => {
      await setNodeReady(kube, "n1", false);
      const node = await kube.core.readNode({ name: "n1" });
      assert.equal(node.status?.conditions?.find((c) => c.type === "Ready")?.status, "False");
      assert.equal(node.status?.addresses?.length, 1, "other status fields are kept");
    });

    await t.step("createService makes a LoadBalancer Service with a cluster IP", async () => {
      const svc = await createService(kube, { name: "web", annotations: { a: "b" } });
      assert.equal(svc.spec?.type, "LoadBalancer");
      assert.match(svc.spec?.clusterIP ?? "", /^10\.96\./);
      assert.equal(svc.spec?.ports?.[0]?.port, 80);
    });

    await t.step("applyCRDs waits for Established so custom resources work at once", async () => {
      await applyCRDs(kube, WIDGET_CRD);
      await kube.custom.createNamespacedCustomObject({
        group: "example.com",
        version: "v1",
        namespace: "default",
        plural: "widgets",
        body: { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w1" }, spec: { size: 3 } },
      });
      const widget = await kube.custom.getNamespacedCustomObject({
        group: "example.com",
        version: "v1",
        namespace: "default",
        plural: "widgets",
        name: "w1",
      }) as { spec: { size: number } };
      assert.equal(widget.spec.size, 3);
    });

    await t.step("a certificate user has only the permissions bound to it (RBAC is enforced)", async () => {
      const path = await cluster.userKubeconfig({ user: "alice", groups: ["testers"] });
      const alice = cluster.clientsFor(path);
      await assert.rejects(alice.core.listNode(), (err) => isForbidden(err));
      await kube.objects.create({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "list-nodes" },
        rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["list"] }],
      } as never);
      await kube.objects.create({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "alice-list-nodes" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "list-nodes" },
        subjects: [{ kind: "User", name: "alice", apiGroup: "rbac.authorization.k8s.io" }],
      } as never);
      const nodes = await waitFor(() => alice.core.listNode(), { message: "alice may list nodes" });
      assert.equal(nodes.items.length, 1);
      await assert.rejects(alice.core.deleteNode({ name: "n1" }), (err) => isForbidden(err));
    });

    await t.step("a ServiceAccount kubeconfig authenticates as the service account", async () => {
      await ensureNamespace(kube, "ccm");
      const path = await cluster.serviceAccountKubeconfig({ namespace: "ccm", name: "robot" });
      const robot = cluster.clientsFor(path);
      const err = await robot.core.listNode().then(() => undefined, (e) => e);
      assert.ok(isForbidden(err));
      assert.match(errorMessage(err), /system:serviceaccount:ccm:robot/);
    });

    await t.step("the audit log records requests with their user agent", async () => {
      const events = await cluster.auditEvents();
      assert.ok(events.some((e) => e.userAgent === "ccm-test-harness" && e.objectRef?.resource === "nodes"));
    });

    await t.step("restartApiserver keeps etcd data and the same URL", async () => {
      await cluster.restartApiserver();
      const node = await kube.core.readNode({ name: "n1" });
      assert.equal(node.spec?.providerID, "equinixmetal://abc");
    });
  }
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound, "the temporary directory is removed");
});

Deno.test("startTestCluster fails (never skips) when a binary is missing, naming the install script", async () => {
  await assert.rejects(
    startTestCluster({ bins: { apiserver: "/nonexistent/kube-apiserver" } }),
    /kube-apiserver binary not found at "\/nonexistent\/kube-apiserver".*test\/install_test_servers\.sh/,
  );
});
