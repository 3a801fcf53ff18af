/**
 * MetalLB ≥ 0.13 (`metallb:///<namespace>?crdConfiguration=true`): one IPAddressPool per Service, one BGPPeer
 * per node × upstream router shared by the Services that use it, and the `equinix-metal-bgp-adv`
 * BGPAdvertisement, all labelled `cloud-provider=equinix-metal` (upstream's
 * metal/loadbalancers/metallb/cr.go). Each step lists the objects we own, plans the writes with the pure
 * functions of `cr_plan.ts` and applies them; a write that lost a race (409 on a stale resourceVersion)
 * re-runs the step.
 *
 * Password option: with `passwordSecretName`, the BGP password is kept out of BGPPeer specs. It goes into a
 * `kubernetes.io/basic-auth` Secret of that name in MetalLB's namespace (key `password`, labelled
 * `cloud-provider=equinix-metal`), which peers reference through `spec.passwordSecret`; peers are then written
 * as `metallb.io/v1beta2` (the version that has the field, MetalLB ≥ 0.14). Equinix Metal uses one BGP password
 * per project, so one Secret serves every peer. Without the option, peers carry `spec.password` as upstream.
 *
 * BGPPeer layout (`cr_peer_layout.ts`): upstream's per-node peers for MetalLB's native BGP, or one shared peer
 * per peer address for its FRR and FRR-k8s modes, chosen by `bgpType` (`METAL_METALLB_BGP_TYPE`). With `auto`
 * (the default) the layout starts as the cluster's: shared when an owned shared peer exists, else per-node
 * (per-node peers that share an address are first re-sent as a dry run for MetalLB's webhook to judge); when
 * MetalLB's webhook denies a peer because another one has its address (FRR mode), ccm logs it, records a
 * Warning Event once and switches to the shared layout for good, replacing the per-node peers.
 *
 * The Service annotation naming the pool is the one the installed MetalLB expects (`pool_annotation.ts`):
 * detected from the served CRDs before the first Service is set up, and again on every garbage collection.
 *
 * @module
 */
import type { V1Node, V1Secret, V1Service } from "@kubernetes/client-node";
import { getLogger } from "@logtape/logtape";
import type { Registry } from "prom-client";
import { z } from "zod";
import type { EventRecorder } from "../../../provider/mod.ts";
import { type Clock, systemClock } from "../../../util/clock.ts";
import {
  isAlreadyExists,
  isConflict,
  isNotFound,
  type KubeClients,
  kubeErrorMessage,
  patchOptions,
  requestOptions,
} from "../../../provider/kube/mod.ts";
import type {
  AddServiceRequest,
  LoadBalancerImplementation,
  RemoveServiceRequest,
  UpdateServiceRequest,
} from "../implementation.ts";
import {
  type BGPAdvertisement,
  type BGPPeer,
  type CrObject,
  type IPAddressPool,
  METALLB_GROUP,
  METALLB_V1BETA1,
  METALLB_V1BETA2,
  type MetalLBKind,
  OWNER_LABEL_KEY,
  OWNER_LABEL_VALUE,
  OWNER_SELECTOR,
  PLURALS,
  poolName,
} from "./cr_objects.ts";
import {
  type CrOp,
  desiredPeerSpecs,
  type PeerPassword,
  planAdvertisement,
  planGarbageCollect,
  planPeers,
  planPool,
  planRemoveService,
} from "./cr_plan.ts";
import {
  describeConflicts,
  desiredSharedPeerSpecs,
  isSharedPeer,
  layoutOf,
  type MetalLbBgpType,
  type PeerLayout,
} from "./cr_peer_layout.ts";
import { DEPRECATED_POOL_ANNOTATION, detectPoolAnnotation } from "./pool_annotation.ts";
import { type MetalLBMetrics, metalLBMetrics } from "./metrics.ts";
import { serviceKey, type ServiceRef } from "./service_selector.ts";

/** Options of {@linkcode createMetalLBCRImplementation}. */
export interface MetalLBCROptions {
  kube: KubeClients;
  /** MetalLB's namespace (`metallb-system` by default upstream). */
  namespace: string;
  /** Receives Warning Events on the Service for problems a user can fix. */
  recorder?: EventRecorder;
  /** Registry for the `ccm_metallb_*` metrics. */
  metrics?: Registry;
  /** The installed MetalLB's BGP implementation, or `auto` (see the module documentation). @default "auto" */
  bgpType?: MetalLbBgpType;
  /** Waits between re-plans after MetalLB's webhook judged from a stale list. @default systemClock */
  clock?: Clock;
  /**
   * Keep the BGP password out of BGPPeer specs: the name of the Secret to hold it (see the module
   * documentation). Unset (the default): `spec.password`, as upstream.
   */
  passwordSecretName?: string;
}

/** Builds the CR-mode implementation. Each instance has its own settings (upstream's were process-global). */
export function createMetalLBCRImplementation(options: MetalLBCROptions): LoadBalancerImplementation {
  return new MetalLBCRImplementation(options);
}

/** Attempts of one plan-and-apply step before a conflict is reported. */
const MAX_ATTEMPTS = 5;

const logger = getLogger(["ccm", "metallb"]);

const listSchema = z.object({
  items: z.array(z.looseObject({ metadata: z.looseObject({ name: z.string() }) })).nullish(),
});

type Step = "pool" | "advertisement" | "peers" | "remove" | "gc";

/** See the module documentation. */
export class MetalLBCRImplementation implements LoadBalancerImplementation {
  readonly name = "metallb-crd";
  #kube: KubeClients;
  #namespace: string;
  #recorder?: EventRecorder;
  #metrics: MetalLBMetrics;
  #password: PeerPassword;
  #peerVersion: string;
  /** The detected pool annotation; `undefined` until a detection succeeded. */
  #poolAnnotation: string | undefined;
  #bgpType: MetalLbBgpType;
  /** The peer layout; with `auto`, `undefined` until the first peers step looked at the cluster. */
  #layout: PeerLayout | undefined;
  #clock: Clock;

  constructor(options: MetalLBCROptions) {
    this.#kube = options.kube;
    this.#namespace = options.namespace;
    this.#recorder = options.recorder;
    this.#metrics = metalLBMetrics(options.metrics);
    this.#password = options.passwordSecretName
      ? { mode: "secret", secretName: options.passwordSecretName, namespace: options.namespace }
      : { mode: "inline" };
    this.#peerVersion = options.passwordSecretName ? METALLB_V1BETA2 : METALLB_V1BETA1;
    this.#bgpType = options.bgpType ?? "auto";
    this.#layout = layoutOf(this.#bgpType);
    this.#clock = options.clock ?? systemClock;
  }

  /** The BGPPeer layout in use; `undefined` while `auto` has not decided yet. */
  peerLayout(): PeerLayout | undefined {
    return this.#layout;
  }

  async addService(req: AddServiceRequest, signal?: AbortSignal): Promise<undefined> {
    await this.#observe("add", () => this.#ensure(req, signal));
    return undefined;
  }

  /** The Service annotation that names the pool for the installed MetalLB (see the module documentation). */
  poolAnnotation(): string {
    return this.#poolAnnotation ?? DEPRECATED_POOL_ANNOTATION;
  }

  /** Detects the pool annotation; on failure keeps the previous choice (the old key at first) and logs. */
  async #detectPoolAnnotation(signal?: AbortSignal): Promise<void> {
    try {
      const detected = await detectPoolAnnotation(this.#kube, signal);
      if (detected !== this.#poolAnnotation) {
        logger.info("MetalLB pool annotation chosen from the installed CRDs", { annotation: detected });
      }
      this.#poolAnnotation = detected;
    } catch (err) {
      logger.warn(
        "Cannot tell which pool annotation the installed MetalLB expects; keeping the current one",
        {
          annotation: this.poolAnnotation(),
          err: kubeErrorMessage(err),
        },
      );
    }
  }

  async updateService(req: UpdateServiceRequest, signal?: AbortSignal): Promise<void> {
    await this.#observe("update", () => this.#ensure(req, signal));
  }

  async removeService(req: RemoveServiceRequest, signal?: AbortSignal): Promise<void> {
    const svc = refOf(req.service);
    await this.#observe("remove", async () => {
      let remainingPeers = -1;
      await this.#step("remove", req.service, signal, async () => {
        const owned = {
          pools: await this.#list<IPAddressPool>("IPAddressPool", req.service, signal),
          advertisements: await this.#list<BGPAdvertisement>("BGPAdvertisement", req.service, signal),
          peers: await this.#list<BGPPeer>("BGPPeer", req.service, signal),
        };
        const ops = planRemoveService(owned, svc);
        const deleted = ops.filter((o) => o.kind === "BGPPeer" && o.verb === "delete").length;
        remainingPeers = owned.peers.length - deleted;
        return ops;
      });
      if (remainingPeers === 0) await this.#deletePasswordSecret(signal);
    });
  }

  async garbageCollect(
    live: { services: V1Service[]; nodes: V1Node[] },
    signal?: AbortSignal,
  ): Promise<void> {
    const liveServices = new Set(live.services.map((s) => serviceKey(refOf(s))));
    const liveNodes = new Set(live.nodes.map((n) => n.metadata?.name ?? ""));
    await this.#detectPoolAnnotation(signal);
    await this.#observe("gc", () =>
      this.#step("gc", undefined, signal, async () => {
        const allPools = await this.#list<IPAddressPool>("IPAddressPool", undefined, signal, "");
        return planGarbageCollect({
          pools: allPools.filter((p) => p.metadata.labels?.[OWNER_LABEL_KEY] === OWNER_LABEL_VALUE),
          advertisements: await this.#list<BGPAdvertisement>("BGPAdvertisement", undefined, signal),
          peers: await this.#list<BGPPeer>("BGPPeer", undefined, signal),
          allPoolNames: new Set(allPools.map((p) => p.metadata.name)),
          liveServices,
          liveNodes,
        });
      }));
  }

  async #ensure(req: AddServiceRequest | UpdateServiceRequest, signal?: AbortSignal): Promise<void> {
    if (this.#poolAnnotation === undefined) await this.#detectPoolAnnotation(signal);
    const svc = refOf(req.service);
    const service = req.service;
    if (req.ipCidr !== "") {
      await this.#step("pool", service, signal, async () => {
        const pools = await this.#list<IPAddressPool>("IPAddressPool", service, signal);
        return planPool(pools, svc, req.ipCidr, this.#namespace);
      });
      await this.#step("advertisement", service, signal, async () => {
        const advs = await this.#list<BGPAdvertisement>("BGPAdvertisement", service, signal);
        return planAdvertisement(advs, poolName(svc), this.#namespace);
      });
    }
    await this.#ensurePasswordSecret(req, signal);
    await this.#step("peers", service, signal, async () => {
      const existing = await this.#list<BGPPeer>("BGPPeer", service, signal);
      this.#layout ??= await this.#findLayout(existing, service, signal);
      let desired = desiredPeerSpecs(req.peers, this.#password);
      if (this.#layout === "shared") {
        const shared = desiredSharedPeerSpecs(req.peers, this.#password);
        if (shared.conflicts.length > 0) {
          this.#recorder?.warn(service, "BGPPeerConflict", describeConflicts(shared.conflicts));
        }
        desired = shared.specs;
      }
      return planPeers({
        existing,
        desired,
        svc,
        nodeNames: new Set(req.nodes.map((n) => n.metadata?.name ?? "")),
        peeredNodes: new Set(req.peers.map((p) => p.nodeName)),
        namespace: this.#namespace,
        apiVersion: `${METALLB_GROUP}/${this.#peerVersion}`,
        layout: this.#layout,
      });
    });
  }

  async #observe(operation: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.#metrics.failures.inc({ mode: "crd", operation });
      throw err;
    }
  }

  /** Plans and applies, re-planning when a write lost a race. */
  async #step(
    step: Step,
    service: V1Service | undefined,
    signal: AbortSignal | undefined,
    plan: () => Promise<CrOp[]>,
  ): Promise<void> {
    for (let attempt = 1;; attempt++) {
      const ops = await plan();
      try {
        for (const op of ops) await this.#apply(op, service, signal);
        return;
      } catch (err) {
        if (err instanceof RaceLost && attempt < MAX_ATTEMPTS) {
          logger.debug("Re-planning MetalLB objects after a conflicting write", { step, attempt, err });
          continue;
        }
        if (err instanceof DuplicatePeerDenied && attempt < MAX_ATTEMPTS) {
          if (this.#layout === "shared") {
            // Its webhook judges from a cached list, which may still hold the peers just deleted.
            logger.debug("Re-planning MetalLB peers its webhook judged from a stale list", { step, attempt });
            await this.#clock.sleep(DENIAL_RETRY_MS * attempt, signal);
            continue;
          }
          if (this.#bgpType === "auto") {
            this.#switchToShared(service, err.cause);
            continue;
          }
        }
        if (err instanceof DuplicatePeerDenied && this.#layout === "per-node") {
          throw new Error(
            `${err.cause.message}; MetalLB runs in FRR mode, which allows one BGPPeer per peer address: set ` +
              'METAL_METALLB_BGP_TYPE to "frr" (or "auto") so ccm writes one shared BGPPeer per address',
            { cause: err.cause },
          );
        }
        if (err instanceof DuplicatePeerDenied) {
          throw new Error(
            `${err.cause.message}; another BGPPeer in "${this.#namespace}" has that peer address: delete it, ` +
              "since in FRR mode ccm's BGPPeer for that address must be the only one",
            { cause: err.cause },
          );
        }
        throw err instanceof RaceLost ? err.cause : err;
      }
    }
  }

  /**
   * `auto`'s first look at the cluster: shared when one of our shared peers exists. Per-node peers sharing an
   * address are valid only for MetalLB's native BGP (MetalLB may have been reinstalled in FRR mode since), so
   * then one of them is re-sent as a dry run, which MetalLB's webhook judges against every peer.
   */
  async #findLayout(existing: BGPPeer[], service: V1Service, signal?: AbortSignal): Promise<PeerLayout> {
    if (existing.some(isSharedPeer)) return "shared";
    const addresses = existing.map((p) => p.spec?.peerAddress);
    const probe = existing.find((p, i) => addresses.indexOf(p.spec?.peerAddress) !== i);
    if (!probe) return "per-node";
    try {
      await this.#kube.custom.patchNamespacedCustomObject({
        group: METALLB_GROUP,
        version: this.#peerVersion,
        namespace: this.#namespace,
        plural: PLURALS.BGPPeer,
        name: probe.metadata.name,
        body: {},
        dryRun: "All",
      }, patchOptions("merge", { signal }));
    } catch (err) {
      if (!isDuplicatePeerDenial(err)) {
        logger.warn("Cannot ask MetalLB's webhook about the BGPPeers; keeping upstream's per-node layout", {
          err: kubeErrorMessage(err),
        });
        return "per-node";
      }
      this.#switchToShared(service, new Error(kubeErrorMessage(err)));
      return "shared";
    }
    return "per-node";
  }

  /** `auto` met MetalLB's FRR mode: from now on, one shared peer per address (see the module documentation). */
  #switchToShared(service: V1Service | undefined, denial: Error): void {
    this.#layout = "shared";
    const message =
      "MetalLB's webhook denied a second BGPPeer with the same peer address, so MetalLB runs in " +
      "FRR mode; replacing the per-node BGPPeers with one BGPPeer per peer address that selects every node " +
      "using it (set METAL_METALLB_BGP_TYPE to skip this detection)";
    logger.warn(message, { denial: denial.message });
    if (service) this.#recorder?.warn(service, "MetalLBFRRModeDetected", message);
  }

  async #apply(op: CrOp, service: V1Service | undefined, signal?: AbortSignal): Promise<void> {
    const version = op.kind === "BGPPeer" ? this.#peerVersion : METALLB_V1BETA1;
    const base = { group: METALLB_GROUP, version, namespace: this.#namespace, plural: PLURALS[op.kind] };
    const name = op.verb === "create" ? op.object.metadata.name : op.name;
    try {
      if (op.verb === "create") {
        await this.#kube.custom.createNamespacedCustomObject(
          { ...base, body: op.object },
          requestOptions({ signal }),
        );
      } else if (op.verb === "patch") {
        await this.#kube.custom.patchNamespacedCustomObject(
          { ...base, name, body: op.patch },
          patchOptions("merge", { signal }),
        );
      } else {
        await this.#kube.custom.deleteNamespacedCustomObject(
          { ...base, name },
          requestOptions({ signal }),
        );
      }
    } catch (err) {
      if (op.verb === "delete" && isNotFound(err)) return;
      const failure = new Error(
        `Failed to ${op.verb} MetalLB ${op.kind} "${this.#namespace}/${name}": ${kubeErrorMessage(err)}`,
        { cause: err },
      );
      if (op.verb !== "create" && (isConflict(err) || isNotFound(err))) throw new RaceLost(failure);
      if (op.kind === "BGPPeer" && isDuplicatePeerDenial(err)) throw new DuplicatePeerDenied(failure);
      if (op.verb === "create" && (isAlreadyExists(err) || isConflict(err))) {
        // Another sync of ours created it meanwhile (shared objects: a peer in FRR mode, the advertisement).
        if (await this.#isOurs(base, name, signal)) throw new RaceLost(failure);
        const message = `MetalLB ${op.kind} "${this.#namespace}/${name}" already exists without the label ` +
          `${OWNER_SELECTOR}; rename or delete it so the load balancer can manage its own`;
        if (service) this.#recorder?.warn(service, "MetalLBObjectConflict", message);
        throw new Error(message, { cause: err });
      }
      throw failure;
    }
    this.#metrics.writes.inc({ mode: "crd", kind: op.kind, verb: op.verb });
    logger.info(`${VERB_PAST[op.verb]} MetalLB ${op.kind}`, { v: 2, namespace: this.#namespace, name });
  }

  /** Whether the object exists with our label (`false` when it cannot be read). */
  async #isOurs(
    base: { group: string; version: string; namespace: string; plural: string },
    name: string,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    try {
      const found = await this.#kube.custom.getNamespacedCustomObject(
        { ...base, name },
        requestOptions({ signal }),
      );
      const labels = (found as CrObject<unknown>).metadata?.labels;
      return labels?.[OWNER_LABEL_KEY] === OWNER_LABEL_VALUE;
    } catch {
      return false;
    }
  }

  /** Lists objects of `kind` (ours by default; `labelSelector: ""` lists all). */
  async #list<T extends CrObject<unknown>>(
    kind: MetalLBKind,
    service: V1Service | undefined,
    signal: AbortSignal | undefined,
    labelSelector = OWNER_SELECTOR,
  ): Promise<T[]> {
    const version = kind === "BGPPeer" ? this.#peerVersion : METALLB_V1BETA1;
    let body: unknown;
    try {
      body = await this.#kube.custom.listNamespacedCustomObject(
        { group: METALLB_GROUP, version, namespace: this.#namespace, plural: PLURALS[kind], labelSelector },
        requestOptions({ signal }),
      );
    } catch (err) {
      if (isNotFound(err)) {
        const message =
          `MetalLB custom resource ${PLURALS[kind]}.${METALLB_GROUP}/${version} is not installed; ` +
          "install MetalLB ≥ 0.13 (≥ 0.14 for the BGP password Secret option), or use " +
          '"metallb:///<namespace>/<configmap>" for MetalLB ≤ 0.12';
        if (service) this.#recorder?.warn(service, "MetalLBCRDsMissing", message);
        throw new Error(message, { cause: err });
      }
      throw new Error(
        `Failed to list MetalLB ${kind} objects in "${this.#namespace}": ${kubeErrorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
    const parsed = listSchema.safeParse(body);
    if (!parsed.success) {
      throw new Error(`MetalLB ${kind} list in "${this.#namespace}" has an unexpected shape`);
    }
    return (parsed.data.items ?? []) as unknown as T[];
  }

  /** In Secret mode, makes the password Secret hold the nodes' (single) BGP password. */
  async #ensurePasswordSecret(
    req: AddServiceRequest | UpdateServiceRequest,
    signal?: AbortSignal,
  ): Promise<void> {
    if (this.#password.mode !== "secret") return;
    const passwords = new Set(req.peers.map((p) => p.password).filter((p) => p !== ""));
    if (passwords.size === 0) return;
    const name = this.#password.secretName;
    if (passwords.size > 1) {
      const message = `BGP peers of the nodes have ${passwords.size} different passwords, but BGP password ` +
        `Secret "${this.#namespace}/${name}" holds one; use one project-wide BGP password or turn the Secret option off`;
      this.#recorder?.warn(req.service, "BGPPasswordsDiffer", message);
      throw new Error(message);
    }
    const data = { password: encodeBase64([...passwords][0] as string) };
    const where = `${this.#namespace}/${name}`;
    let existing: V1Secret | undefined;
    try {
      existing = await this.#kube.core.readNamespacedSecret(
        { name, namespace: this.#namespace },
        requestOptions({ signal }),
      );
    } catch (err) {
      if (!isNotFound(err)) {
        throw new Error(`Failed to read BGP password Secret "${where}": ${kubeErrorMessage(err)}`, {
          cause: err,
        });
      }
    }
    try {
      if (!existing) {
        await this.#kube.core.createNamespacedSecret({
          namespace: this.#namespace,
          body: {
            metadata: { name, namespace: this.#namespace, labels: { [OWNER_LABEL_KEY]: OWNER_LABEL_VALUE } },
            type: "kubernetes.io/basic-auth",
            data,
          },
        }, requestOptions({ signal }));
        logger.info("Created BGP password Secret", { v: 2, secret: where });
      } else if (existing.data?.password !== data.password) {
        await this.#kube.core.patchNamespacedSecret(
          { name, namespace: this.#namespace, body: { data } },
          patchOptions("merge", { signal }),
        );
        logger.info("Updated BGP password Secret", { v: 2, secret: where });
      }
    } catch (err) {
      throw new Error(`Failed to write BGP password Secret "${where}": ${kubeErrorMessage(err)}`, {
        cause: err,
      });
    }
  }

  /** Deletes the password Secret once no peer needs it, if it is ours (labelled). */
  async #deletePasswordSecret(signal?: AbortSignal): Promise<void> {
    if (this.#password.mode !== "secret") return;
    const name = this.#password.secretName;
    const where = `${this.#namespace}/${name}`;
    try {
      const secret = await this.#kube.core.readNamespacedSecret(
        { name, namespace: this.#namespace },
        requestOptions({ signal }),
      );
      if (secret.metadata?.labels?.[OWNER_LABEL_KEY] !== OWNER_LABEL_VALUE) return;
      await this.#kube.core.deleteNamespacedSecret(
        { name, namespace: this.#namespace },
        requestOptions({ signal }),
      );
      logger.info("Deleted BGP password Secret", { v: 2, secret: where });
    } catch (err) {
      if (isNotFound(err)) return;
      throw new Error(`Failed to delete BGP password Secret "${where}": ${kubeErrorMessage(err)}`, {
        cause: err,
      });
    }
  }
}

/** A patch or delete hit a changed or vanished object: the step is planned again from fresh reads. */
class RaceLost extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message, { cause });
    this.name = "RaceLost";
  }
}

/** MetalLB's webhook denied a peer because another one has its address (its FRR mode's rule). */
class DuplicatePeerDenied extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message, { cause });
    this.name = "DuplicatePeerDenied";
  }
}

/** Milliseconds before the first re-plan after a stale-list denial; later ones wait longer. */
const DENIAL_RETRY_MS = 250;

/** MetalLB ≤ 0.15's denial text for a peer whose address (and VRF) another peer has (`DiscardNativeOnly`). */
const DUPLICATE_PEER_DENIAL = "FRR mode doesn't support duplicate BGPPeers";

function isDuplicatePeerDenial(err: unknown): boolean {
  return kubeErrorMessage(err).includes(DUPLICATE_PEER_DENIAL);
}

const VERB_PAST = { create: "Created", patch: "Patched", delete: "Deleted" } as const;

function encodeBase64(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function refOf(service: V1Service): ServiceRef {
  return { namespace: service.metadata?.namespace ?? "default", name: service.metadata?.name ?? "" };
}
