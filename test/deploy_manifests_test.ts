/**
 * The plain manifests in `deploy/template/`: accepted by a real kube-apiserver (server-side dry-run), shaped
 * like upstream's DaemonSet plus hardening, and consistent with the flags and the configuration loader.
 */
import assert from "node:assert/strict";
import { loadMetalConfig } from "../metal/config.ts";
import { RUN_FLAGS } from "../provider/flag_table.ts";
import { startTestCluster } from "./harness/cluster.ts";
import { assertControlPlanePod, type KubeObject, only, RawApplier, readTemplate } from "./deploy_util.ts";

const FILES = [
  "rbac.yaml",
  "secret.yaml",
  "daemonset.yaml",
  "deployment.yaml",
  "metallb-password-secret-rbac.yaml",
];
const NAME = "cloud-provider-equinix-metal";

function flagDefault(name: string): string {
  const flag = RUN_FLAGS.find((f) => f.name === name);
  if (!flag) throw new Error(`no flag ${name}`);
  return flag.default;
}

Deno.test("every template manifest passes server-side dry-run on a real API server", async () => {
  await using cluster = await startTestCluster();
  using applier = new RawApplier(cluster);
  // The optional BGP password Role lives in MetalLB's namespace, which must exist.
  await cluster.clients.core.createNamespace({ body: { metadata: { name: "metallb-system" } } });
  const objects: KubeObject[] = [];
  for (const file of FILES) objects.push(...await readTemplate(file));
  assert.deepEqual(objects.length, 10);
  assert.deepEqual(await applier.dryRun(objects), []);

  // The check is real: upstream's DaemonSet carried a `strategy` field, which the API server refuses.
  const daemonSet = structuredClone(only(objects, "DaemonSet"));
  (daemonSet.spec as Record<string, unknown>).strategy = { type: "Recreate" };
  const problems = await applier.dryRun([daemonSet]);
  assert.deepEqual(problems.length, 1);
  assert.match(problems[0] as string, /strategy/);
  // Dry-run stored nothing.
  const list = await cluster.clients.core.listNamespacedServiceAccount({ namespace: "kube-system" });
  assert.ok(!list.items.some((sa) => sa.metadata?.name === NAME));
});

Deno.test("the DaemonSet runs upstream's command on control-plane nodes, hardened", async () => {
  const ds = only(await readTemplate("daemonset.yaml"), "DaemonSet");
  assert.deepEqual(ds.metadata?.name, NAME);
  assert.deepEqual(ds.metadata?.namespace, "kube-system");
  // deno-lint-ignore no-explicit-any
  const spec = ds.spec as any;
  assert.deepEqual(spec.strategy, undefined);
  assert.deepEqual(spec.selector.matchLabels, { app: NAME });
  assert.deepEqual(spec.template.metadata.labels, { app: NAME });
  assertControlPlanePod(spec.template, { serviceAccountName: NAME, secretName: "metal-cloud-config" });
  assert.deepEqual(spec.template.spec.containers[0].command, [
    "./cloud-provider-equinix-metal",
    "--cloud-provider=equinixmetal",
    "--leader-elect=true",
    "--authentication-skip-lookup=true",
    "--cloud-config=/etc/cloud-sa/cloud-sa.json",
  ]);
  assert.deepEqual(spec.template.spec.containers[0].ports, [{
    name: "https",
    containerPort: 10258,
    protocol: "TCP",
  }]);
});

Deno.test("the Deployment variant runs two leader-elected replicas with the same pod", async () => {
  const [ds, deploy] = [
    only(await readTemplate("daemonset.yaml"), "DaemonSet"),
    only(await readTemplate("deployment.yaml"), "Deployment"),
  ];
  // deno-lint-ignore no-explicit-any
  const spec = deploy.spec as any;
  assert.deepEqual(spec.replicas, 2);
  assert.deepEqual(spec.strategy.rollingUpdate, { maxUnavailable: 1, maxSurge: 0 });
  assertControlPlanePod(spec.template, { serviceAccountName: NAME, secretName: "metal-cloud-config" });
  // Same pod as the DaemonSet apart from the spreading rule.
  const pod = structuredClone(spec.template);
  delete pod.spec.affinity.podAntiAffinity;
  // deno-lint-ignore no-explicit-any
  assert.deepEqual(pod, (ds.spec as any).template);
  assert.deepEqual(
    spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0],
    {
      weight: 100,
      podAffinityTerm: {
        topologyKey: "kubernetes.io/hostname",
        labelSelector: { matchLabels: { app: NAME } },
      },
    },
  );
});

Deno.test("rbac.yaml binds the ServiceAccount, and the Lease Role matches the leader-election flag defaults", async () => {
  const objects = await readTemplate("rbac.yaml");
  assert.deepEqual(only(objects, "ServiceAccount").metadata?.name, NAME);
  const subject = [{ kind: "ServiceAccount", name: NAME, namespace: "kube-system" }];
  // deno-lint-ignore no-explicit-any
  const binding = only(objects, "ClusterRoleBinding") as any;
  assert.deepEqual(binding.subjects, subject);
  assert.deepEqual(binding.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    name: NAME,
  });
  // deno-lint-ignore no-explicit-any
  const role = only(objects, "Role") as any;
  assert.deepEqual(role.metadata.namespace, flagDefault("leader-elect-resource-namespace"));
  assert.deepEqual(role.rules[1].resourceNames, [flagDefault("leader-elect-resource-name")]);
  // deno-lint-ignore no-explicit-any
  const roleBinding = only(objects, "RoleBinding") as any;
  assert.deepEqual(roleBinding.subjects, subject);
  assert.deepEqual(roleBinding.roleRef.name, role.metadata.name);
});

Deno.test("secret.yaml is the Secret the workloads mount, and its cloud-sa.json loads once filled in", async () => {
  // deno-lint-ignore no-explicit-any
  const secret = only(await readTemplate("secret.yaml"), "Secret") as any;
  assert.deepEqual(secret.metadata.name, "metal-cloud-config");
  assert.deepEqual(secret.metadata.namespace, "kube-system");
  assert.deepEqual(Object.keys(secret.stringData), ["cloud-sa.json"]);
  const json = JSON.parse(secret.stringData["cloud-sa.json"]);
  assert.deepEqual(Object.keys(json), ["apiKey", "projectID"]);
  const filled = JSON.stringify({
    apiKey: "a-real-looking-token",
    projectID: "6f1d2c3b-0000-4000-8000-000000000001",
  });
  const config = loadMetalConfig({ env: {}, configFile: filled, configPath: "/etc/cloud-sa/cloud-sa.json" });
  assert.deepEqual(config.projectId, "6f1d2c3b-0000-4000-8000-000000000001");
  assert.deepEqual(config.unknownKeys, []);
});
