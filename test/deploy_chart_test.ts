/**
 * The Helm chart in `deploy/chart/`: `helm lint` clean, rendered output accepted by a real kube-apiserver
 * (server-side dry-run) for each shape, upstream's values keys honoured, and the same RBAC and pod as the
 * plain manifests.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { loadMetalConfig } from "../metal/config.ts";
import { startTestCluster } from "./harness/cluster.ts";
import {
  assertControlPlanePod,
  CHART_DIR,
  helm,
  helmTemplate,
  helmTemplateRaw,
  only,
  RawApplier,
  readTemplate,
} from "./deploy_util.ts";

const CI_DAEMONSET = `${CHART_DIR}/ci/daemonset-values.yaml`;
const CI_DEPLOYMENT = `${CHART_DIR}/ci/deployment-values.yaml`;
const FULLNAME = "ccm-cloud-provider-equinix-metal";

/** A values file written against the Go CCM's chart, using every one of its keys. */
const UPSTREAM_VALUES = `
nameOverride: ""
fullnameOverride: metal-ccm
image:
  repository: registry.example.com/mirror/cloud-provider-equinix-metal
  pullPolicy: Always
  tag: v3.8.1
podAnnotations:
  example.com/team: platform
imagePullSecrets:
  - name: regcred
podSecurityContext:
  fsGroup: 2000
securityContext:
  runAsUser: 1000
additionalCommands:
  - --v=2
envFrom:
  - secretRef:
      name: metal-env
env:
  METAL_LOAD_BALANCER: kube-vip://
  METAL_LOCAL_ASN: 65001
resources:
  limits:
    memory: 128Mi
  requests:
    cpu: 100m
    memory: 50Mi
hostAliases:
  - ip: 127.0.0.1
    hostnames: [metal.local]
volumes:
  - name: extra
    emptyDir: {}
volumeMounts:
  - name: extra
    mountPath: /extra
serviceAccount:
  create: true
  annotations:
    example.com/owner: platform
  name: metal-ccm-sa
clusterRole:
  create: true
  annotations:
    example.com/owner: platform
  name: system:cloud-controller-manager
nodeSelector:
  kubernetes.io/os: linux
tolerations:
  - key: dedicated
    operator: Equal
    value: infra
    effect: NoSchedule
affinity: {}
configSecret:
  create: true
  name: metal-cloud-config
config:
  apiKey: upstream-style-key
  projectID: 6f1d2c3b-0000-4000-8000-000000000001
  loadbalancer: kube-vip://
  metro: sv
  localASN: 65000
  eipTag: cluster-api-eip
`;

async function upstreamValuesFile(): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "ccm-upstream-values-", suffix: ".yaml" });
  await Deno.writeTextFile(path, UPSTREAM_VALUES);
  return path;
}

Deno.test("helm lint --strict is clean for the defaults and every ci values file", async () => {
  for (const values of [[], ["--values", CI_DAEMONSET], ["--values", CI_DEPLOYMENT]]) {
    const result = await helm(["lint", "--strict", CHART_DIR, ...values]);
    assert.equal(result.code, 0, `helm lint ${values.join(" ")}:\n${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    assert.doesNotMatch(result.stdout, /\[(WARNING|ERROR)\]/);
  }
});

Deno.test("every rendering of the chart passes server-side dry-run on a real API server", async () => {
  const upstream = await upstreamValuesFile();
  try {
    const renders = {
      daemonset: await helmTemplate({ valuesFiles: [CI_DAEMONSET] }),
      deployment: await helmTemplate({ valuesFiles: [CI_DEPLOYMENT] }),
      upstreamValues: await helmTemplate({ valuesFiles: [upstream], release: "metal" }),
      metallbPasswordSecret: await helmTemplate({
        valuesFiles: [CI_DAEMONSET],
        set: [
          "config.loadbalancer=metallb:///metallb-system?crdConfiguration=true",
          "config.metallbPasswordSecret=bgp-pw",
        ],
      }),
      noRbac: await helmTemplate({
        valuesFiles: [CI_DAEMONSET],
        set: ["clusterRole.create=false", "serviceAccount.create=false", "serviceAccount.name=existing"],
      }),
    };
    assert.deepEqual(renders.daemonset.map((o) => o.kind), [
      "ServiceAccount",
      "Secret",
      "ClusterRole",
      "ClusterRoleBinding",
      "Role",
      "RoleBinding",
      "DaemonSet",
    ]);
    assert.deepEqual(renders.deployment.map((o) => o.kind).sort(), [
      "ClusterRole",
      "ClusterRoleBinding",
      "Deployment",
      "Role",
      "RoleBinding",
      "ServiceAccount",
    ]);
    assert.deepEqual(renders.noRbac.map((o) => o.kind), ["Secret", "DaemonSet"]);

    await using cluster = await startTestCluster();
    using applier = new RawApplier(cluster);
    await cluster.clients.core.createNamespace({ body: { metadata: { name: "metallb-system" } } });
    for (const [name, objects] of Object.entries(renders)) {
      assert.deepEqual(await applier.dryRun(objects), [], `rendering "${name}"`);
    }
  } finally {
    await Deno.remove(upstream);
  }
});

Deno.test("the chart's workloads have the manifests' pod, without upstream's invalid strategy field", async () => {
  const ds = only(await helmTemplate({ valuesFiles: [CI_DAEMONSET] }), "DaemonSet");
  // deno-lint-ignore no-explicit-any
  const spec = ds.spec as any;
  assert.equal(spec.strategy, undefined);
  assertControlPlanePod(spec.template, { serviceAccountName: FULLNAME, secretName: FULLNAME });
  assert.deepEqual(spec.template.spec.containers[0].command, [
    "./cloud-provider-equinix-metal",
    "--cloud-provider=equinixmetal",
    "--leader-elect=true",
    "--leader-elect-resource-namespace=kube-system",
    "--leader-elect-resource-name=cloud-controller-manager",
    "--authentication-skip-lookup=true",
    "--cloud-config=/etc/cloud-sa/cloud-sa.json",
  ]);
  assert.equal(spec.template.spec.containers[0].image, "ghcr.io/equinix/cloud-provider-equinix-metal:main");

  const deploy = only(await helmTemplate({ valuesFiles: [CI_DEPLOYMENT] }), "Deployment");
  // deno-lint-ignore no-explicit-any
  const dspec = deploy.spec as any;
  assert.equal(dspec.replicas, 2);
  assertControlPlanePod(dspec.template, { serviceAccountName: FULLNAME, secretName: "metal-cloud-config" });
  assert.equal(
    dspec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.length,
    1,
  );
  // No Secret of ours, so no checksum of it.
  assert.equal(dspec.template.metadata.annotations, undefined);
});

Deno.test("upstream's values keys keep their meaning", async () => {
  const upstream = await upstreamValuesFile();
  try {
    const objects = await helmTemplate({ valuesFiles: [upstream], release: "metal" });
    const sa = only(objects, "ServiceAccount");
    assert.equal(sa.metadata?.name, "metal-ccm-sa");
    assert.deepEqual(sa.metadata?.annotations, { "example.com/owner": "platform" });
    const role = only(objects, "ClusterRole");
    assert.equal(role.metadata?.name, "system:cloud-controller-manager");
    assert.deepEqual(role.metadata?.annotations, { "example.com/owner": "platform" });
    // deno-lint-ignore no-explicit-any
    const binding = only(objects, "ClusterRoleBinding") as any;
    assert.deepEqual(binding.subjects, [{
      kind: "ServiceAccount",
      name: "metal-ccm-sa",
      namespace: "kube-system",
    }]);

    const ds = only(objects, "DaemonSet");
    assert.equal(ds.metadata?.name, "metal-ccm");
    // deno-lint-ignore no-explicit-any
    const pod = (ds.spec as any).template;
    assert.equal(pod.metadata.annotations["example.com/team"], "platform");
    assert.match(pod.metadata.annotations["checksum/config"], /^[0-9a-f]{64}$/);
    assert.deepEqual(pod.spec.imagePullSecrets, [{ name: "regcred" }]);
    assert.equal(pod.spec.securityContext.fsGroup, 2000);
    assert.deepEqual(pod.spec.hostAliases, [{ ip: "127.0.0.1", hostnames: ["metal.local"] }]);
    assert.deepEqual(pod.spec.nodeSelector, { "kubernetes.io/os": "linux" });
    assert.deepEqual(pod.spec.tolerations.at(-1), {
      key: "dedicated",
      operator: "Equal",
      value: "infra",
      effect: "NoSchedule",
    });
    // An empty affinity keeps the control-plane node affinity (upstream rendered a duplicate key instead).
    assert.ok(pod.spec.affinity.nodeAffinity);
    assert.ok(pod.spec.volumes.some((v: { name: string }) => v.name === "extra"));

    const c = pod.spec.containers[0];
    assert.equal(c.image, "registry.example.com/mirror/cloud-provider-equinix-metal:v3.8.1");
    assert.equal(c.imagePullPolicy, "Always");
    assert.equal(c.command.at(-1), "--v=2");
    assert.deepEqual(c.env, [
      { name: "METAL_LOAD_BALANCER", value: "kube-vip://" },
      { name: "METAL_LOCAL_ASN", value: "65001" },
    ]);
    assert.deepEqual(c.envFrom, [{ secretRef: { name: "metal-env" } }]);
    assert.deepEqual(c.resources.limits, { memory: "128Mi" });
    // Values maps merge with the chart's defaults: runAsUser changes, the hardening stays.
    assert.equal(c.securityContext.runAsUser, 1000);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.ok(c.volumeMounts.some((m: { mountPath: string }) => m.mountPath === "/extra"));

    // The Secret holds `config` as cloud-sa.json, which our configuration loader accepts.
    // deno-lint-ignore no-explicit-any
    const secret = only(objects, "Secret") as any;
    assert.equal(secret.metadata.name, "metal-cloud-config");
    assert.equal(pod.spec.volumes[0].secret.secretName, "metal-cloud-config");
    const json = Buffer.from(secret.data["cloud-sa.json"], "base64").toString("utf8");
    const config = loadMetalConfig({ env: {}, configFile: json, configPath: "cloud-sa.json" });
    assert.equal(config.projectId, "6f1d2c3b-0000-4000-8000-000000000001");
    assert.equal(config.eipTag, "cluster-api-eip");
    assert.deepEqual(config.unknownKeys, []);
  } finally {
    await Deno.remove(upstream);
  }
});

Deno.test("env entries may be valueFrom references", async () => {
  const ds = only(
    await helmTemplate({
      valuesFiles: [CI_DAEMONSET],
      set: [
        "env.METAL_API_KEY.valueFrom.secretKeyRef.name=metal",
        "env.METAL_API_KEY.valueFrom.secretKeyRef.key=key",
      ],
    }),
    "DaemonSet",
  );
  // deno-lint-ignore no-explicit-any
  assert.deepEqual((ds.spec as any).template.spec.containers[0].env, [
    { name: "METAL_API_KEY", valueFrom: { secretKeyRef: { name: "metal", key: "key" } } },
  ]);
});

Deno.test("the config checksum follows the config, so pods restart when it changes", async () => {
  const checksum = async (apiKey: string) => {
    const ds = only(
      await helmTemplate({ valuesFiles: [CI_DAEMONSET], set: [`config.apiKey=${apiKey}`] }),
      "DaemonSet",
    );
    // deno-lint-ignore no-explicit-any
    return (ds.spec as any).template.metadata.annotations["checksum/config"];
  };
  const [a, b, a2] = [await checksum("key-one"), await checksum("key-two"), await checksum("key-one")];
  assert.notEqual(a, b);
  assert.equal(a, a2);
});

Deno.test("rendering fails with the fix when required values are missing or wrong", async () => {
  const cases: Array<[string[], RegExp]> = [
    [
      [],
      /config\.apiKey is required when configSecret\.create is true; set it, or set configSecret\.create=false/,
    ],
    [["config.apiKey=k"], /config\.projectID is required/],
    [["configSecret.create=false"], /configSecret\.name is required when configSecret\.create is false/],
    [
      ["config.apiKey=k", "config.projectID=p", "kind=StatefulSet"],
      /kind must be DaemonSet or Deployment, not "StatefulSet"/,
    ],
    [
      [
        "config.apiKey=k",
        "config.projectID=p",
        "config.loadbalancer=kube-vip://",
        "config.metallbPasswordSecret=s",
      ],
      /config\.metallbPasswordSecret needs config\.loadbalancer 'metallb:\/\/\/<namespace>\?crdConfiguration=true', not "kube-vip:\/\/"/,
    ],
    [
      ["config.apiKey=k", "config.projectID=p", "serviceAccount.create=false"],
      /serviceAccount\.name is required when serviceAccount\.create is false/,
    ],
  ];
  for (const [set, message] of cases) {
    const result = await helmTemplateRaw({ set });
    assert.notEqual(result.code, 0, `--set ${set.join(",")} rendered`);
    assert.match(result.stderr, message);
  }
});

Deno.test("the chart grants exactly the manifests' permissions, and the Lease Role follows leaderElection", async () => {
  const manifests = await readTemplate("rbac.yaml");
  const chart = await helmTemplate({
    valuesFiles: [CI_DAEMONSET],
    set: ["leaderElection.namespace=ccm-system", "leaderElection.resourceName=metal-ccm"],
  });
  // deno-lint-ignore no-explicit-any
  const rules = (objects: typeof chart, kind: string) => (only(objects, kind) as any).rules;
  assert.deepEqual(rules(chart, "ClusterRole"), rules(manifests, "ClusterRole"));
  // deno-lint-ignore no-explicit-any
  const role = only(chart, "Role") as any;
  assert.equal(role.metadata.namespace, "ccm-system");
  assert.deepEqual(role.rules, [
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      resourceNames: ["metal-ccm"],
      verbs: ["get", "update"],
    },
  ]);
  assert.equal(only(chart, "RoleBinding").metadata?.namespace, "ccm-system");
  // deno-lint-ignore no-explicit-any
  const command: string[] = (only(chart, "DaemonSet").spec as any).template.spec.containers[0].command;
  assert.ok(command.includes("--leader-elect-resource-namespace=ccm-system"));
  assert.ok(command.includes("--leader-elect-resource-name=metal-ccm"));
});

Deno.test("config.metallbPasswordSecret adds access to that one Secret in MetalLB's namespace, nothing else", async () => {
  const plain = await helmTemplate({ valuesFiles: [CI_DAEMONSET] });
  assert.equal(plain.filter((o) => o.kind === "Role").length, 1, "only the Lease Role without the setting");
  const objects = await helmTemplate({
    valuesFiles: [CI_DAEMONSET],
    set: [
      "config.loadbalancer=metallb:///lb-system?crdConfiguration=true",
      "config.metallbPasswordSecret=bgp-pw",
    ],
  });
  // deno-lint-ignore no-explicit-any
  const role = only(objects, "Role", `${FULLNAME}:bgp-password`) as any;
  assert.equal(role.metadata.namespace, "lb-system");
  assert.deepEqual(role.rules, [
    { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
    { apiGroups: [""], resources: ["secrets"], resourceNames: ["bgp-pw"], verbs: ["get", "patch", "delete"] },
  ]);
  // deno-lint-ignore no-explicit-any
  const binding = only(objects, "RoleBinding", `${FULLNAME}:bgp-password`) as any;
  assert.equal(binding.metadata.namespace, "lb-system");
  assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: FULLNAME, namespace: "kube-system" }]);
});
