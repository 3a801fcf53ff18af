/**
 * Least privilege of ccm's RBAC (deploy/template/rbac.yaml, the chart renders the same rules): nothing wider
 * than the code needs, every rule explained, and the API server's authorizer agreeing with both what must be
 * allowed and what must not.
 */
import assert from "node:assert/strict";
import { startTestCluster } from "./harness/cluster.ts";
import { only, RawApplier, readTemplate, TEMPLATE_DIR } from "./deploy_util.ts";

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
  assert.equal(ruleStarts.length, 11);
  // The ClusterRole's rules each have a comment right above; the Lease Role's are explained above the Role.
  for (const i of ruleStarts.slice(0, 9)) {
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
  ];
  for (const attrs of allowed) assert.equal(await can(attrs), true, `should allow ${JSON.stringify(attrs)}`);
  for (const attrs of denied) assert.equal(await can(attrs), false, `should deny ${JSON.stringify(attrs)}`);
});
