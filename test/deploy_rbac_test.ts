/**
 * Least privilege of ccm's RBAC (deploy/template/rbac.yaml, the chart renders the same rules): nothing wider
 * than the code needs, every rule explained, the API server's authorizer agreeing with both what must be
 * allowed and what must not — and ccm doing its work (node initialization, a Service load balancer, leader
 * election, the control-plane EIP) as the ServiceAccount bound to exactly these rules.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./harness/cluster.ts";
import { DemoProgress } from "./demo_progress.ts";
import {
  DEMO_APISERVER_ADVERTISED,
  DEMO_EIP_TAG,
  DEMO_HOSTNAMES,
  DEMO_SERVICE,
  startLocalSystem,
} from "./demo_system.ts";
import { only, RawApplier, readTemplate, TEMPLATE_DIR } from "./deploy_util.ts";
import { waitFor } from "./harness/wait.ts";
import { errorMessage } from "../util/errors.ts";

const SA_USER = "system:serviceaccount:kube-system:cloud-provider-equinix-metal";

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
}

async function allRules(): Promise<Rule[]> {
  const rules: Rule[] = [];
  for (const file of ["rbac.yaml", "metallb-password-secret-rbac.yaml"]) {
    for (const o of await readTemplate(file)) {
      if (o.kind === "ClusterRole" || o.kind === "Role") rules.push(...(o.rules as Rule[]));
    }
  }
  return rules;
}

Deno.test("no rule uses wildcards, escalation verbs or non-resource URLs", async () => {
  const rules = await allRules();
  assert.ok(rules.length >= 10);
  for (const rule of rules) {
    const where = JSON.stringify(rule);
    for (const list of [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames]) {
      assert.ok(!(list ?? []).includes("*"), `wildcard in ${where}`);
    }
    assert.equal(rule.nonResourceURLs, undefined, where);
    for (const verb of ["escalate", "bind", "impersonate", "deletecollection"]) {
      assert.ok(!rule.verbs.includes(verb), `${verb} in ${where}`);
    }
    for (
      const resource of [
        "pods",
        "serviceaccounts",
        "clusterroles",
        "clusterrolebindings",
        "roles",
        "rolebindings",
      ]
    ) {
      assert.ok(!(rule.resources ?? []).includes(resource), `${resource} in ${where}`);
    }
  }
});

Deno.test("only the optional MetalLB password Role touches Secrets, and only by name except create", async () => {
  const cluster = only(await readTemplate("rbac.yaml"), "ClusterRole");
  assert.ok(!(cluster.rules as Rule[]).some((r) => r.resources?.includes("secrets")));
  const optional = only(await readTemplate("metallb-password-secret-rbac.yaml"), "Role");
  for (const rule of optional.rules as Rule[]) {
    if (rule.verbs.join() === "create") continue;
    assert.deepEqual(rule.resourceNames, ["cloud-provider-equinix-metal-bgp-password"]);
  }
  // Leases too: cluster-wide access would let ccm disturb every other component's leader election.
  assert.ok(!(cluster.rules as Rule[]).some((r) => r.resources?.includes("leases")));
});

Deno.test("the bindings grant the ClusterRole and Role of the manifests, never a built-in role", async () => {
  const objects = await readTemplate("rbac.yaml");
  for (const o of objects.filter((o) => o.kind?.endsWith("Binding"))) {
    // deno-lint-ignore no-explicit-any
    const ref = (o as any).roleRef;
    assert.ok(!["cluster-admin", "admin", "edit", "view"].includes(ref.name), ref.name);
    assert.ok(
      objects.some((r) => r.kind === ref.kind && r.metadata?.name === ref.name),
      `${ref.kind} ${ref.name}`,
    );
  }
});

Deno.test("every rule of rbac.yaml says which component uses it", async () => {
  const text = await Deno.readTextFile(`${TEMPLATE_DIR}/rbac.yaml`);
  const lines = text.split("\n");
  const ruleStarts = lines.flatMap((line, i) => /^ {2}- apiGroups:/.test(line) ? [i] : []);
  assert.equal(ruleStarts.length, 12);
  // The ClusterRole's rules each have a comment right above; the Lease Role's are explained above the Role.
  for (const i of ruleStarts.slice(0, 10)) {
    assert.match(lines[i - 1] ?? "", /^ {2}# /, `no comment above line ${i + 1}: ${lines[i]}`);
  }
});

Deno.test("the API server's authorizer allows what ccm needs and denies the rest", async () => {
  await using cluster = await startTestCluster();
  using applier = new RawApplier(cluster);
  await applier.apply(await readTemplate("rbac.yaml"));

  const can = async (
    attrs: {
      verb: string;
      resource: string;
      group?: string;
      namespace?: string;
      name?: string;
      subresource?: string;
    },
  ) => {
    const review = await cluster.clients.objects.create({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user: SA_USER,
        groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
        resourceAttributes: { group: attrs.group ?? "", ...attrs },
      },
      // deno-lint-ignore no-explicit-any
    } as any);
    // deno-lint-ignore no-explicit-any
    return (review as any).status?.allowed === true;
  };

  const allowed = [
    { verb: "watch", resource: "nodes" },
    { verb: "patch", resource: "nodes", name: "n1" },
    { verb: "delete", resource: "nodes", name: "n1" },
    { verb: "patch", resource: "nodes", subresource: "status", name: "n1" },
    { verb: "list", resource: "services" },
    { verb: "patch", resource: "services", subresource: "status", namespace: "default", name: "web" },
    { verb: "create", resource: "events", namespace: "default" },
    { verb: "patch", resource: "configmaps", namespace: "metallb-system", name: "config" },
    { verb: "watch", resource: "endpointslices", group: "discovery.k8s.io" },
    {
      verb: "delete",
      resource: "services",
      namespace: "kube-system",
      name: "cloud-provider-equinix-metal-kubernetes-external",
    },
    { verb: "get", resource: "namespaces", name: "kube-system" },
    { verb: "get", resource: "configmaps", namespace: "kube-system", name: "kube-root-ca.crt" },
    { verb: "create", resource: "ipaddresspools", group: "metallb.io", namespace: "metallb-system" },
    { verb: "create", resource: "leases", group: "coordination.k8s.io", namespace: "kube-system" },
    {
      verb: "update",
      resource: "leases",
      group: "coordination.k8s.io",
      namespace: "kube-system",
      name: "cloud-controller-manager",
    },
  ];
  const denied = [
    { verb: "get", resource: "secrets", namespace: "kube-system", name: "metal-cloud-config" },
    { verb: "list", resource: "secrets" },
    { verb: "list", resource: "pods" },
    { verb: "create", resource: "pods", namespace: "kube-system" },
    { verb: "update", resource: "nodes", name: "n1" },
    { verb: "list", resource: "configmaps" },
    { verb: "delete", resource: "services", namespace: "default", name: "web" },
    {
      verb: "update",
      resource: "leases",
      group: "coordination.k8s.io",
      namespace: "kube-system",
      name: "kube-scheduler",
    },
    { verb: "create", resource: "leases", group: "coordination.k8s.io", namespace: "default" },
    { verb: "create", resource: "clusterrolebindings", group: "rbac.authorization.k8s.io" },
    {
      verb: "create",
      resource: "serviceaccounts",
      group: "",
      namespace: "kube-system",
      subresource: "token",
    },
    { verb: "get", resource: "namespaces", name: "default" },
    { verb: "list", resource: "namespaces" },
    {
      verb: "delete",
      resource: "endpointslices",
      group: "discovery.k8s.io",
      namespace: "default",
      name: "kubernetes",
    },
  ];
  for (const attrs of allowed) assert.equal(await can(attrs), true, `should allow ${JSON.stringify(attrs)}`);
  for (const attrs of denied) assert.equal(await can(attrs), false, `should deny ${JSON.stringify(attrs)}`);
});

Deno.test("ccm does all its work with only the permissions of rbac.yaml", async () => {
  await using system = await startLocalSystem({
    ccmKubeconfig: async (cluster) => {
      using applier = new RawApplier(cluster);
      await applier.apply(await readTemplate("rbac.yaml"));
      return await cluster.serviceAccountKubeconfig({
        namespace: "kube-system",
        name: "cloud-provider-equinix-metal",
      });
    },
  });
  await system.registerNodes();
  await system.createService();
  const core = system.cluster.clients.core;
  const progress = new DemoProgress({ nodeNames: DEMO_HOSTNAMES, eipTag: DEMO_EIP_TAG });
  await waitFor(async () => {
    if (system.ccm.hasExited) throw new Error(`ccm exited:\n${await system.ccm.logTail(30)}`);
    const nodes = (await core.listNode()).items;
    const service = await core.readNamespacedService(DEMO_SERVICE);
    progress.observe({ nodes, service, requests: [] });
    return progress.milestones.nodesInitialized && progress.milestones.serviceIngress !== undefined;
  }, { timeoutMs: 90_000, intervalMs: 250, message: "nodes initialized and Service ingress" }).catch(
    async (err) => {
      throw new Error(`${errorMessage(err)}\n--- ccm log ---\n${await system.ccm.logTail(40)}`);
    },
  );

  // Leader election took the Lease the Role names; the control-plane EIP wrote its external Service.
  const lease = await system.cluster.clients.coordination.readNamespacedLease({
    namespace: "kube-system",
    name: "cloud-controller-manager",
  });
  assert.ok(lease.spec?.holderIdentity);
  await waitFor(
    () =>
      core.readNamespacedService({
        namespace: "kube-system",
        name: "cloud-provider-equinix-metal-kubernetes-external",
      })
        .then((s) => s.status?.loadBalancer?.ingress?.[0]?.ip),
    { timeoutMs: 60_000, intervalMs: 250, message: "the control-plane EIP's external Service" },
  );
  await waitFor(
    () =>
      system.cluster.clients.discovery.readNamespacedEndpointSlice({
        namespace: "kube-system",
        name: "cloud-provider-equinix-metal-kubernetes-external",
      }).then((s) => s.endpoints?.[0]?.addresses?.[0] === DEMO_APISERVER_ADVERTISED),
    { timeoutMs: 30_000, intervalMs: 250, message: "the mirrored API server EndpointSlice" },
  );
  // Nothing was refused along the way.
  const log = await Deno.readTextFile(system.ccm.logPath);
  assert.doesNotMatch(log, /forbidden|cannot (get|list|watch|create|patch|update|delete) resource/i);
});
