/**
 * kwok (`sigs.k8s.io/kwok`, built by test/install_kwok.sh) plays the kubelets of a test cluster: it runs out of
 * cluster against the test kube-apiserver and manages only the Nodes registered through
 * {@linkcode Kwok.registerNode} (annotation {@linkcode KWOK_NODE_ANNOTATION}), so a test's other Nodes stay
 * its own.
 *
 * What a Node goes through, as with a kubelet started with `--cloud-provider=external`:
 * 1. The harness registers it (one create, status included, as the kubelet's first write): the
 *    `node.cloudprovider.kubernetes.io/uninitialized` taint, the kubelet's labels, capacity, node info, a
 *    Hostname address, and `Ready=False` (the container network is not up yet); `spec.providerID` only when the
 *    test presets it (`--provider-id`, as Cluster API kubelets do). The API server adds the
 *    `node.kubernetes.io/not-ready` taint to a NotReady Node; with no kube-controller-manager in the test
 *    cluster, nothing takes it off again.
 * 2. kwok's stage `ccm-node-ready` reports it Ready after {@linkcode KwokOptions.readyAfterMs}: a status
 *    patch of the kubelet's four conditions, racing ccm's own status patch of the addresses.
 * 3. kwok's stage `ccm-node-heartbeat` then patches the conditions' `lastHeartbeatTime` every
 *    {@linkcode KwokOptions.statusReportMs} (the kubelet's `nodeStatusReportFrequency`), and kwok renews the
 *    Node's Lease in `kube-node-lease` every quarter of {@linkcode KwokOptions.leaseDurationSeconds}, as the
 *    kubelet does (holder: kwok's process identity, where a kubelet puts its node name).
 *
 * Addresses: kwok's own default stages (`node-initialize`, `node-heartbeat`) write `status.addresses` — the
 * first adds an InternalIP (kwok's `--node-ip`) whenever its cached copy of the Node has none, the second writes
 * back the addresses of its cached copy — so a copy older than ccm's address patch would add a second
 * InternalIP or put the registered addresses back. A kubelet with `--cloud-provider=external` never does
 * that: once the Node has addresses it leaves them to the CCM. The stages here therefore never write
 * `status.addresses` (nor anything but the kubelet's conditions); the addresses are the registered ones until
 * ccm patches them, then ccm's alone.
 *
 * @module
 */
import type { V1Node, V1NodeAddress, V1NodeCondition } from "@kubernetes/client-node";
import { stringify } from "yaml";
import type { TestCluster } from "./cluster.ts";
import { UNINITIALIZED_TAINT } from "./objects.ts";
import { ManagedProcess, minimalEnv } from "./process.ts";

/** kwok release test/install_kwok.sh builds. */
export const KWOK_VERSION = "v0.8.0";
/** Annotation (value {@linkcode KWOK_NODE_ANNOTATION_VALUE}) of the Nodes kwok manages. */
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";
/** Value of {@linkcode KWOK_NODE_ANNOTATION}. */
export const KWOK_NODE_ANNOTATION_VALUE = "fake";
/** Kubernetes user kwok runs as (group `system:masters`), to tell its requests apart in audit logs. */
export const KWOK_USER = "kwok";
/** The field manager of kwok's writes in `metadata.managedFields` (client-go names it after the binary). */
export const KWOK_FIELD_MANAGER = "kwok";
/** The conditions a kubelet owns (and kwok reports). */
export const KUBELET_CONDITION_TYPES = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] as const;

/** Options of {@linkcode startKwok}. */
export interface KwokOptions {
  /** kwok binary; default `KWOK_BIN`, else test/install_kwok.sh's cache. */
  bin?: string;
  /**
   * How often kwok reports each Ready Node's status when nothing changed (the kubelet's
   * `nodeStatusReportFrequency`), plus up to 10 % jitter; default 5 minutes, as the kubelet. At least 1000:
   * condition times have 1 s resolution, kwok skips a patch that changes nothing, and only a change brings the
   * Node back to kwok for its next heartbeat — a heartbeat in the same second as the last would be the last.
   */
  statusReportMs?: number;
  /** Duration of each Node's Lease, renewed every quarter of it (as the kubelet); default 40, 0: no Leases. */
  leaseDurationSeconds?: number;
  /** How long a registered Node stays NotReady before kwok reports it Ready; default 0. */
  readyAfterMs?: number;
  /** Nodes whose stages (and Leases) kwok works on at once; default 16. */
  parallelism?: number;
  /**
   * Runs kwok under `nice -n <niceness>`: real kubelets run on their own machines, and a test that times ccm on
   * a shared machine can keep kwok's CPU from counting against ccm. Default: not niced.
   */
  niceness?: number;
  /** kwok's log level; default `INFO` (a line per patch), `WARN` for thousands of Nodes. */
  logLevel?: "DEBUG" | "INFO" | "WARN" | "ERROR";
}

/** What {@linkcode kubeletNode} registers. */
export interface KubeletNodeInit {
  /** With the uninitialized taint (`--cloud-provider=external`); default true. */
  tainted?: boolean;
  /** `spec.providerID` (the kubelet's `--provider-id`); default none. */
  providerID?: string;
  /** `status.addresses`; default the Hostname only. */
  addresses?: V1NodeAddress[];
  /** Added to the kubelet's labels. */
  labels?: Record<string, string>;
  /** Added to the kubelet's annotations. */
  annotations?: Record<string, string>;
  /** `status.images` as a kubelet reports them, so Nodes have a real kubelet's size (~5 KiB); default false. */
  images?: boolean;
}

/** Images a kubelet reports in `status.images` (it reports up to 50). */
const NODE_IMAGES = [
  "registry.k8s.io/kube-proxy:v1.36.3",
  "ghcr.io/kube-vip/kube-vip:v0.9.2",
  "quay.io/cilium/cilium:v1.18.1",
  "quay.io/cilium/operator-generic:v1.18.1",
  "registry.k8s.io/coredns/coredns:v1.12.1",
  "registry.k8s.io/pause:3.10",
  "docker.io/library/nginx:1.29.1",
  "quay.io/prometheus/node-exporter:v1.9.1",
  "registry.k8s.io/metrics-server/metrics-server:v0.8.0",
  "docker.io/grafana/promtail:3.5.3",
  "ghcr.io/equinix/cloud-provider-equinix-metal:v4.0.0",
  "registry.k8s.io/csi-secrets-store/driver:v1.5.3",
];

/**
 * The Node a kubelet with `--cloud-provider=external` registers (one create, status included), managed by
 * kwok: NotReady (kwok reports it Ready), tainted unless told otherwise, its Hostname as the only address.
 */
export function kubeletNode(name: string, init: KubeletNodeInit = {}): V1Node {
  const now = new Date();
  const condition = (type: string, status: string, reason: string, message: string): V1NodeCondition => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  const resources = {
    cpu: "32",
    "ephemeral-storage": "467783616Ki",
    "hugepages-1Gi": "0",
    "hugepages-2Mi": "0",
    memory: "65842780Ki",
    pods: "110",
  };
  const node: V1Node = {
    metadata: {
      name,
      labels: {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        ...init.labels,
      },
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        ...init.annotations,
        [KWOK_NODE_ANNOTATION]: KWOK_NODE_ANNOTATION_VALUE,
      },
    },
    spec: {
      ...((init.tainted ?? true) ? { taints: [UNINITIALIZED_TAINT] } : {}),
      ...(init.providerID ? { providerID: init.providerID } : {}),
    },
    status: {
      capacity: resources,
      allocatable: { ...resources, cpu: "31800m", memory: "65240380Ki" },
      conditions: [
        condition(
          "MemoryPressure",
          "False",
          "KubeletHasSufficientMemory",
          "kubelet has sufficient memory available",
        ),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        condition(
          "Ready",
          "False",
          "KubeletNotReady",
          "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady " +
            "message:Network plugin returns error: cni plugin not initialized",
        ),
      ],
      addresses: init.addresses ?? [{ type: "Hostname", address: name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: crypto.randomUUID().replaceAll("-", ""),
        systemUUID: crypto.randomUUID(),
        bootID: crypto.randomUUID(),
        kernelVersion: "6.8.0-85-generic",
        osImage: "Ubuntu 24.04.3 LTS",
        containerRuntimeVersion: "containerd://2.1.4",
        kubeletVersion: "v1.36.3",
        kubeProxyVersion: "",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    },
  };
  if (init.images) {
    node.status!.images = NODE_IMAGES.map((image, i) => ({
      names: [`${image.split(":")[0]}@sha256:${(i + 1).toString(16).padStart(64, "0")}`, image],
      sizeBytes: 10_000_000 + i * 7_654_321,
    }));
  }
  return node;
}

/** The kubelet's four conditions, Ready, each with a heartbeat now and a transition now. */
const READY_TEMPLATE = `{{ $now := Now }}
conditions:
- type: Ready
  status: "True"
  reason: KubeletReady
  message: kubelet is posting ready status
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
- type: MemoryPressure
  status: "False"
  reason: KubeletHasSufficientMemory
  message: kubelet has sufficient memory available
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
- type: DiskPressure
  status: "False"
  reason: KubeletHasNoDiskPressure
  message: kubelet has no disk pressure
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
- type: PIDPressure
  status: "False"
  reason: KubeletHasSufficientPID
  message: kubelet has sufficient PID available
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
`;

/** The kubelet's conditions as they are, with a new `lastHeartbeatTime`. */
const HEARTBEAT_TEMPLATE = `{{ $now := Now }}
conditions:
{{ range .status.conditions }}
{{ if or (eq .type ${KUBELET_CONDITION_TYPES.map((t) => `"${t}"`).join(") (eq .type ")}) }}
- type: {{ .type | Quote }}
  status: {{ .status | Quote }}
  reason: {{ .reason | Quote }}
  message: {{ .message | Quote }}
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ .lastTransitionTime | Quote }}
{{ end }}
{{ end }}
`;

const READY_STATUS = '.status.conditions.[] | select( .type == "Ready" ) | .status';

/** kwok's configuration file: options and the two Node stages (see the module documentation). */
export function kwokConfig(options: KwokOptions = {}): string {
  const statusReportMs = options.statusReportMs ?? 300_000;
  if (statusReportMs < 1000) {
    throw new RangeError(`statusReportMs must be at least 1000, not ${statusReportMs}`);
  }
  const parallelism = options.parallelism ?? 16;
  const docs = [
    {
      apiVersion: "config.kwok.x-k8s.io/v1alpha1",
      kind: "KwokConfiguration",
      options: {
        manageNodesWithAnnotationSelector: `${KWOK_NODE_ANNOTATION}=${KWOK_NODE_ANNOTATION_VALUE}`,
        nodeLeaseDurationSeconds: options.leaseDurationSeconds ?? 40,
        nodeLeaseParallelism: parallelism,
        nodePlayStageParallelism: parallelism,
        enableDebuggingHandlers: false,
        enableProfilingHandler: false,
      },
    },
    {
      apiVersion: "kwok.x-k8s.io/v1alpha1",
      kind: "Stage",
      metadata: { name: "ccm-node-ready" },
      spec: {
        resourceRef: { apiGroup: "v1", kind: "Node" },
        selector: { matchExpressions: [{ key: READY_STATUS, operator: "NotIn", values: ["True"] }] },
        delay: { durationMilliseconds: options.readyAfterMs ?? 0 },
        next: { statusTemplate: READY_TEMPLATE },
      },
    },
    {
      apiVersion: "kwok.x-k8s.io/v1alpha1",
      kind: "Stage",
      metadata: { name: "ccm-node-heartbeat" },
      spec: {
        resourceRef: { apiGroup: "v1", kind: "Node" },
        selector: { matchExpressions: [{ key: READY_STATUS, operator: "In", values: ["True"] }] },
        delay: {
          durationMilliseconds: statusReportMs,
          jitterDurationMilliseconds: Math.round(statusReportMs * 1.1),
        },
        next: { statusTemplate: HEARTBEAT_TEMPLATE },
      },
    },
  ];
  return docs.map((doc) => stringify(doc, { lineWidth: 0, blockQuote: "literal" })).join("---\n");
}

/** Options of {@linkcode Kwok.registerNodes}. */
export interface RegisterNodesOptions {
  /** Creates in flight; default 32. */
  concurrency?: number;
  /** Called with each Node's name when its create returned. */
  onCreated?: (name: string, at: number) => void;
}

/** A running kwok. */
export interface Kwok extends AsyncDisposable {
  readonly process: ManagedProcess;
  /** The configuration file kwok runs with ({@linkcode kwokConfig}). */
  readonly configPath: string;
  /** Registers Node `name` as its kubelet would ({@linkcode kubeletNode}); returns it as stored. */
  registerNode(name: string, init?: KubeletNodeInit): Promise<V1Node>;
  /** Registers many Nodes, `concurrency` at a time. */
  registerNodes(
    names: readonly string[],
    init?: KubeletNodeInit | ((name: string) => KubeletNodeInit),
    options?: RegisterNodesOptions,
  ): Promise<void>;
  /** Throws with the log tail when kwok has exited. */
  assertRunning(): Promise<void>;
  /** Stops kwok (SIGTERM, then SIGKILL). Safe to call twice. */
  stop(): Promise<void>;
}

/** The kwok binary: `given`, else `KWOK_BIN`, else test/install_kwok.sh's cache; throws when it is missing. */
export function kwokBinary(given?: string): string {
  const fromEnv = given ?? Deno.env.get("KWOK_BIN");
  const dir = Deno.env.get("CCM_TEST_BIN_DIR") || `${Deno.env.get("HOME")}/.cache/ccm-test-bin`;
  const path = fromEnv || `${dir}/kwok-${KWOK_VERSION}/kwok`;
  try {
    if (!Deno.statSync(path).isFile) throw new Error("not a file");
  } catch {
    throw new Error(
      `kwok binary not found at "${path}"${
        fromEnv ? " (from KWOK_BIN)" : ""
      }: run test/install_kwok.sh, or set KWOK_BIN`,
    );
  }
  return path;
}

/**
 * Starts kwok against `cluster` (as user {@linkcode KWOK_USER}), its files in `<cluster.dir>/kwok`. Stop it
 * before the cluster: `await using kwok = await startKwok(cluster)` after `await using cluster = ...`.
 */
export async function startKwok(cluster: TestCluster, options: KwokOptions = {}): Promise<Kwok> {
  const bin = kwokBinary(options.bin);
  const dir = `${cluster.dir}/kwok`;
  await Deno.mkdir(dir, { recursive: true });
  const configPath = `${dir}/kwok.yaml`;
  await Deno.writeTextFile(configPath, kwokConfig(options));
  const kubeconfig = await cluster.userKubeconfig({ user: KWOK_USER, groups: ["system:masters"] });
  const args = [`--config=${configPath}`, `--kubeconfig=${kubeconfig}`, `--v=${options.logLevel ?? "INFO"}`];
  const niced = options.niceness !== undefined;
  const process = await ManagedProcess.start({
    name: "kwok",
    // nice execs kwok: the process is kwok's.
    bin: niced ? "/usr/bin/nice" : bin,
    args: niced ? ["-n", String(options.niceness), bin, ...args] : args,
    logPath: `${dir}/kwok.log`,
    // HOME is kwok's own directory: it would also read ~/.kwok/kwok.yaml.
    env: { ...minimalEnv(), HOME: dir },
    clearEnv: true,
  });
  const assertRunning = async () => {
    if (process.hasExited) {
      throw new Error(`kwok exited (${(await process.exited).code}):\n${await process.logTail(30)}`);
    }
  };
  const registerNode = async (name: string, init?: KubeletNodeInit) => {
    await assertRunning();
    return await cluster.clients.core.createNode({ body: kubeletNode(name, init) });
  };
  const stop = () => process.stop(5000);
  return {
    process,
    configPath,
    registerNode,
    async registerNodes(names, init = {}, { concurrency = 32, onCreated } = {}) {
      let next = 0;
      const worker = async () => {
        while (next < names.length) {
          const name = names[next++]!;
          await registerNode(name, typeof init === "function" ? init(name) : init);
          onCreated?.(name, performance.now());
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
    },
    assertRunning,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
