/**
 * Helpers for the deployment tests: read the manifests in `deploy/template/`, render the chart in
 * `deploy/chart/` with helm, and apply objects to the test cluster with server-side dry-run.
 *
 * @module
 */
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { type KubeObject, parseManifests } from "./harness/objects.ts";

/** Repository root. */
export const ROOT = new URL("../", import.meta.url).pathname;
/** `deploy/template/` (the plain manifests). */
export const TEMPLATE_DIR = `${ROOT}deploy/template`;
/** `deploy/chart/` (the Helm chart). */
export const CHART_DIR = `${ROOT}deploy/chart`;
/** helm version test/install_helm.sh builds. */
export const HELM_VERSION = "v3.22.0";

export { type KubeObject, parseManifests };

/** The objects of `deploy/template/<file>`. */
export async function readTemplate(file: string): Promise<KubeObject[]> {
  return parseManifests(await Deno.readTextFile(`${TEMPLATE_DIR}/${file}`), `deploy/template/${file}`);
}

/** The one object of `kind` (and `name`, when given) in `objects`; throws when there is not exactly one. */
export function only(objects: readonly KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (found.length !== 1) {
    throw new Error(`Expected one ${kind}${name ? ` "${name}"` : ""}, found ${found.length}`);
  }
  return found[0] as KubeObject;
}

/** Path of the helm binary: `HELM_BIN`, else the cache of test/install_helm.sh; a clear error when missing. */
export function helmBin(): string {
  const fromEnv = Deno.env.get("HELM_BIN");
  const path = fromEnv ||
    `${
      Deno.env.get("CCM_TEST_BIN_DIR") || `${Deno.env.get("HOME")}/.cache/ccm-test-bin`
    }/helm-${HELM_VERSION}/helm`;
  try {
    if (!Deno.statSync(path).isFile) throw new Error("not a file");
  } catch {
    throw new Error(
      `helm not found at "${path}"${
        fromEnv ? " (from HELM_BIN)" : ""
      }: run test/install_helm.sh, or set HELM_BIN`,
    );
  }
  return path;
}

/** Result of one helm run. */
export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with `args` (no network, no user configuration). */
export async function helm(args: string[]): Promise<HelmResult> {
  const home = await Deno.makeTempDir({ prefix: "ccm-helm-home-" });
  try {
    const out = await new Deno.Command(helmBin(), {
      args,
      cwd: ROOT,
      env: {
        HELM_CACHE_HOME: `${home}/cache`,
        HELM_CONFIG_HOME: `${home}/config`,
        HELM_DATA_HOME: `${home}/data`,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

/** Options of {@linkcode helmTemplate}. */
export interface HelmTemplateOptions {
  /** Values files, relative to the repository root or absolute. */
  valuesFiles?: string[];
  /** `--set` assignments. */
  set?: string[];
  release?: string;
  namespace?: string;
}

/** `helm template` of the chart; throws with helm's message when rendering fails. */
export async function helmTemplate(options: HelmTemplateOptions = {}): Promise<KubeObject[]> {
  const result = await helmTemplateRaw(options);
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}): ${result.stderr.trim()}`);
  return parseManifests(result.stdout, "helm template output");
}

/** `helm template` of the chart, returning helm's exit code and output. */
export function helmTemplateRaw(options: HelmTemplateOptions = {}): Promise<HelmResult> {
  const args = [
    "template",
    options.release ?? "ccm",
    CHART_DIR,
    "--namespace",
    options.namespace ?? "kube-system",
  ];
  for (const file of options.valuesFiles ?? []) args.push("--values", file);
  for (const assignment of options.set ?? []) args.push("--set", assignment);
  return helm(args);
}

/** Field manager of the applies. */
const FIELD_MANAGER = "ccm-deploy-test";

/**
 * Sends objects to the API server exactly as written, as the admin user. The typed clients re-serialize
 * bodies through their models, which silently drops unknown fields; this must not, or dry-run would not
 * catch a misspelt or invalid field.
 */
export class RawApplier implements Disposable {
  readonly #server: string;
  readonly #client: Deno.HttpClient;
  readonly #resources = new Map<string, Promise<DiscoveredResource[]>>();

  constructor(cluster: { server: string; pki: { caCert: string; adminCert: string; adminKey: string } }) {
    this.#server = cluster.server;
    this.#client = Deno.createHttpClient({
      caCerts: [Deno.readTextFileSync(cluster.pki.caCert)],
      cert: Deno.readTextFileSync(cluster.pki.adminCert),
      key: Deno.readTextFileSync(cluster.pki.adminKey),
    });
  }

  /**
   * Server-side applies each object with `dryRun=All` and strict field validation: the API server checks it
   * completely (schema, unknown fields, defaulting, admission) and stores nothing. Returns one message per
   * rejected object; empty when all were accepted.
   */
  async dryRun(objects: readonly KubeObject[]): Promise<string[]> {
    const problems: string[] = [];
    for (const object of objects) {
      const res = await this.#apply(object, true);
      if (!res.ok) problems.push(`${describe(object)}: ${res.status} ${await res.text()}`);
      else await res.body?.cancel();
    }
    return problems;
  }

  /** Server-side applies each object for real; throws on the first rejection. */
  async apply(objects: readonly KubeObject[]): Promise<void> {
    for (const object of objects) {
      const res = await this.#apply(object, false);
      if (!res.ok) throw new Error(`Apply of ${describe(object)} failed: ${res.status} ${await res.text()}`);
      await res.body?.cancel();
    }
  }

  async #apply(object: KubeObject, dryRun: boolean): Promise<Response> {
    const query = new URLSearchParams({
      fieldManager: FIELD_MANAGER,
      force: "true",
      fieldValidation: "Strict",
    });
    if (dryRun) query.set("dryRun", "All");
    return await fetch(`${this.#server}${await this.#path(object)}?${query}`, {
      method: "PATCH",
      headers: { "Content-Type": "application/apply-patch+yaml", Accept: "application/json" },
      body: JSON.stringify(object),
      client: this.#client,
    });
  }

  /** The object's URL path, from the API server's discovery document for its group version. */
  async #path(object: KubeObject): Promise<string> {
    const base = object.apiVersion === "v1" ? "/api/v1" : `/apis/${object.apiVersion}`;
    let resources = this.#resources.get(base);
    if (!resources) {
      resources = fetch(`${this.#server}${base}`, { client: this.#client }).then(async (res) => {
        if (!res.ok) throw new Error(`Discovery of ${base} failed: ${res.status} ${await res.text()}`);
        return (await res.json() as { resources: DiscoveredResource[] }).resources;
      });
      this.#resources.set(base, resources);
    }
    const match = (await resources).find((r) => r.kind === object.kind && !r.name.includes("/"));
    if (!match) throw new Error(`The API server has no resource for ${object.apiVersion} ${object.kind}`);
    const ns = match.namespaced ? `/namespaces/${object.metadata?.namespace ?? "default"}` : "";
    return `${base}${ns}/${match.name}/${object.metadata?.name}`;
  }

  [Symbol.dispose](): void {
    this.#client.close();
  }
}

interface DiscoveredResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

function describe(object: KubeObject): string {
  const ns = object.metadata?.namespace;
  return `${object.kind} ${ns ? `${ns}/` : ""}${object.metadata?.name}`;
}

/** What {@linkcode assertControlPlanePod} expects besides the fixed parts. */
export interface ExpectedPod {
  serviceAccountName: string;
  secretName: string;
}

/**
 * Asserts the pod spec every ccm workload shares (upstream's DaemonSet plus hardening): control-plane node
 * affinity, the tolerations, hostNetwork, dnsPolicy, priority, upstream's arguments, HTTPS probes on :10258,
 * requests, a non-root read-only hardened container and the cloud-sa.json mount.
 */
export function assertControlPlanePod(template: unknown, expected: ExpectedPod): void {
  // deno-lint-ignore no-explicit-any
  const spec = (template as any).spec;
  assert.deepEqual(spec.serviceAccountName, expected.serviceAccountName);
  assert.deepEqual(spec.hostNetwork, true);
  assert.deepEqual(spec.dnsPolicy, "Default");
  assert.deepEqual(spec.priorityClassName, "system-cluster-critical");
  assert.deepEqual(
    spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
    [
      { matchExpressions: [{ key: "kubernetes.io/role", operator: "In", values: ["master"] }] },
      { matchExpressions: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists" }] },
      { matchExpressions: [{ key: "node-role.kubernetes.io/master", operator: "Exists" }] },
    ],
  );
  const tolerations = spec.tolerations;
  for (
    const t of [
      { key: "node.cloudprovider.kubernetes.io/uninitialized", value: "true", effect: "NoSchedule" },
      { key: "CriticalAddonsOnly", operator: "Exists" },
      { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
      { key: "node-role.kubernetes.io/master", operator: "Exists", effect: "NoSchedule" },
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoSchedule" },
    ]
  ) {
    assert.ok(
      tolerations.some((have: unknown) => isDeepStrictEqual(have, t)),
      `toleration ${JSON.stringify(t)}`,
    );
  }
  assert.deepEqual(spec.securityContext.runAsNonRoot, true);
  assert.deepEqual(spec.securityContext.runAsUser, 65532);
  assert.deepEqual(spec.securityContext.seccompProfile, { type: "RuntimeDefault" });

  assert.deepEqual(spec.containers.length, 1);
  const c = spec.containers[0];
  assert.deepEqual(c.command.slice(0, 2), [
    "./cloud-provider-equinix-metal",
    "--cloud-provider=equinixmetal",
  ]);
  for (
    const arg of [
      "--leader-elect=true",
      "--authentication-skip-lookup=true",
      "--cloud-config=/etc/cloud-sa/cloud-sa.json",
    ]
  ) {
    assert.ok(c.command.includes(arg), `argument ${arg} in ${JSON.stringify(c.command)}`);
  }
  for (const [probe, path] of [["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]] as const) {
    assert.deepEqual(c[probe].httpGet, { path, port: 10258, scheme: "HTTPS" }, probe);
  }
  assert.deepEqual(c.resources.requests, { cpu: "100m", memory: "50Mi" });
  assert.deepEqual(c.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
  const mount = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === "/etc/cloud-sa");
  assert.deepEqual(mount.readOnly, true);
  const volume = spec.volumes.find((v: { name: string }) => v.name === mount.name);
  assert.deepEqual(volume.secret.secretName, expected.secretName);
  // `ccm run` writes nowhere (test/reliability/security_test.ts runs it with --deny-write and a read-only
  // TMPDIR): no scratch volume, only the cloud config, read-only.
  assert.deepEqual(spec.volumes.map((v: { name: string }) => v.name), [mount.name]);
  assert.deepEqual(c.volumeMounts.map((m: { mountPath: string }) => m.mountPath), ["/etc/cloud-sa"]);
}
