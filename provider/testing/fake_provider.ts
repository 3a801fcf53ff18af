/**
 * A programmable {@linkcode CloudProvider} for tests: instances and load balancers held in memory (or in a JSON
 * state file, for tests that run `ccm run` as a process), failure injection per method, and a record of every
 * call.
 *
 * @example Unit test
 * ```ts
 * const provider = new FakeProvider();
 * provider.setInstance("node-a", { region: "da" });
 * provider.fail("instanceExists", new Error("API down"));
 * // ... run a controller against provider.instances (what initialize() returns, too) ...
 * provider.callsOf("instanceExists"); // [{ method: "instanceExists", target: "node-a", ... }]
 * ```
 *
 * @example Process test (see test/fixtures/ccm_with_fake_provider.ts)
 * ```ts
 * new FakeProvider({ stateFile: "/tmp/state.json", callLog: "/tmp/calls.jsonl" });
 * ```
 *
 * @module
 */
import type { V1LoadBalancerStatus, V1Node, V1NodeAddress, V1Service } from "@kubernetes/client-node";
import type {
  CloudInitContext,
  CloudProvider,
  CloudServices,
  Controller,
  HealthCheck,
  InstanceMetadata,
  InstancesV2,
  LoadBalancer,
  LoadBalancerLookup,
} from "../cloud.ts";
import { InstanceNotFoundError, NodeNotManagedError } from "../errors.ts";

/** Provider name the fake registers under and the scheme of its providerIDs. */
export const FAKE_PROVIDER_NAME = "fake";

/** One machine, keyed by node name in {@linkcode FakeProviderState.instances}. */
export interface FakeInstance {
  /** Default `fake://<node name>`. */
  providerID?: string;
  instanceType?: string;
  zone?: string;
  region?: string;
  addresses?: V1NodeAddress[];
  additionalLabels?: Record<string, string>;
  /** Default false. */
  shutdown?: boolean;
}

/** Every provider method the fake records. */
export type FakeMethod =
  | "initialize"
  | "instanceExists"
  | "instanceShutdown"
  | "instanceMetadata"
  | "getLoadBalancer"
  | "ensureLoadBalancer"
  | "updateLoadBalancer"
  | "ensureLoadBalancerDeleted";

/** The fake's programmable state; JSON-serialisable so a test can drive a separate process through a file. */
export interface FakeProviderState {
  /** Machines by node name; a node without an entry has no instance ("gone"). */
  instances?: Record<string, FakeInstance>;
  /** Methods that reject, with the error message. */
  failures?: Partial<Record<FakeMethod, string>>;
  /** Extra `spec.loadBalancerClass` values handled. */
  loadBalancerClasses?: string[];
  /** Ingress IP per service key `namespace/name`; default `203.0.113.<n>` in order of first ensure. */
  ingressIPs?: Record<string, string>;
  /** Delay before every call answers, in milliseconds (to test in-flight work). */
  latencyMs?: number;
}

/** One recorded call. */
export interface FakeCall {
  method: FakeMethod;
  /** Node name or service key `namespace/name`; empty for `initialize`. */
  target: string;
  /** Sorted names of the nodes passed to ensure/update. */
  nodes?: string[];
  /** `Date.now()` when the call started. */
  at: number;
  /** Tag of the process that made the call ({@linkcode FakeProviderOptions.tag}). */
  tag?: string;
}

/** Options for {@linkcode FakeProvider}. */
export interface FakeProviderOptions {
  state?: FakeProviderState;
  /** JSON file holding a {@linkcode FakeProviderState}, re-read on every call (wins over `state`). */
  stateFile?: string;
  /** JSON-lines file every call is appended to. */
  callLog?: string;
  /** Written into every {@linkcode FakeCall}, to tell processes apart. */
  tag?: string;
  /** Whether {@linkcode FakeProvider.loadBalancer} is supported; default true. */
  loadBalancer?: boolean;
  /** What the load balancer's `releasesOrphans` says; default false. */
  releasesOrphans?: boolean;
  controllers?: Controller[];
  healthChecks?: HealthCheck[];
}

/** The fake provider; see the module docs. */
export class FakeProvider implements CloudProvider {
  readonly providerName = FAKE_PROVIDER_NAME;
  /** Every call, oldest first (also when a call log file is used). */
  readonly calls: FakeCall[] = [];
  /** Load balancers by service key: status and the node names of the last ensure/update. */
  readonly loadBalancers = new Map<string, { status: V1LoadBalancerStatus; nodes: string[] }>();
  /** What the load balancer's `recheckAfterMs` answers, by service key (nothing for keys not set). */
  readonly recheckAfter = new Map<string, number>();
  /** Context passed to {@linkcode initialize}, once called. */
  initContext?: CloudInitContext;
  /** The machines of {@linkcode state}; {@linkcode initialize} returns it. Usable without initializing. */
  readonly instances: InstancesV2;
  /**
   * The load balancers of {@linkcode loadBalancers}, `undefined` with `loadBalancer: false`;
   * {@linkcode initialize} returns it. Usable without initializing.
   */
  readonly loadBalancer: LoadBalancer | undefined;

  #state: FakeProviderState;
  readonly #options: FakeProviderOptions;
  readonly #errors = new Map<FakeMethod, Error>();
  #nextIP = 1;

  constructor(options: FakeProviderOptions = {}) {
    this.#options = options;
    this.#state = structuredClone(options.state ?? {});
    this.instances = this.#instances();
    this.loadBalancer = options.loadBalancer === false ? undefined : this.#loadBalancer();
  }

  /** The current state (re-read from the state file when one is set). */
  get state(): FakeProviderState {
    if (this.#options.stateFile !== undefined) {
      try {
        this.#state = JSON.parse(Deno.readTextFileSync(this.#options.stateFile));
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
    return this.#state;
  }

  /** Adds or replaces the machine behind node `nodeName`. */
  setInstance(nodeName: string, instance: FakeInstance = {}): void {
    this.#state.instances = { ...this.#state.instances, [nodeName]: instance };
  }

  /** Removes the machine behind `nodeName`: `instanceExists` answers false from now on. */
  removeInstance(nodeName: string): void {
    const { [nodeName]: _, ...rest } = this.#state.instances ?? {};
    this.#state.instances = rest;
  }

  /** Makes `method` reject with `err` (for example a `RetryError`); `undefined` stops the failure. */
  fail(method: FakeMethod, err: Error | undefined): void {
    if (err === undefined) this.#errors.delete(method);
    else this.#errors.set(method, err);
  }

  /** Recorded calls of one method. */
  callsOf(method: FakeMethod): FakeCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Records the call and the context; returns the instances, load balancer, controllers and checks. */
  initialize(ctx: CloudInitContext): Promise<CloudServices> {
    return this.#call("initialize", "", undefined, () => {
      this.initContext = ctx;
      return {
        instances: this.instances,
        loadBalancer: this.loadBalancer,
        controllers: this.#options.controllers ?? [],
        healthChecks: this.#options.healthChecks ?? [],
      };
    });
  }

  #instances(): InstancesV2 {
    return {
      instanceExists: (node) =>
        this.#call("instanceExists", nameOf(node), undefined, () => this.#instance(node) !== undefined),
      instanceShutdown: (node) =>
        this.#call(
          "instanceShutdown",
          nameOf(node),
          undefined,
          () => this.#mustInstance(node).shutdown === true,
        ),
      instanceMetadata: (node) =>
        this.#call("instanceMetadata", nameOf(node), undefined, (): InstanceMetadata => {
          const instance = this.#mustInstance(node);
          return {
            providerID: instance.providerID ?? `${FAKE_PROVIDER_NAME}://${nameOf(node)}`,
            instanceType: instance.instanceType ?? "",
            zone: instance.zone ?? "",
            region: instance.region ?? "",
            nodeAddresses: instance.addresses ?? [],
            additionalLabels: instance.additionalLabels,
          };
        }),
    };
  }

  #loadBalancer(): LoadBalancer {
    const state = () => this.state;
    return {
      releasesOrphans: this.#options.releasesOrphans ?? false,
      get loadBalancerClasses() {
        return state().loadBalancerClasses;
      },
      getLoadBalancerName: (_cluster, service) => `fake-${service.metadata?.uid ?? serviceKey(service)}`,
      getLoadBalancer: (_cluster, service) =>
        this.#call("getLoadBalancer", serviceKey(service), undefined, (): LoadBalancerLookup => {
          const lb = this.loadBalancers.get(serviceKey(service));
          return lb === undefined ? { exists: false } : { exists: true, status: lb.status };
        }),
      ensureLoadBalancer: (_cluster, service, nodes) =>
        this.#call("ensureLoadBalancer", serviceKey(service), nodes, () => {
          const key = serviceKey(service);
          const ip = this.state.ingressIPs?.[key] ?? this.loadBalancers.get(key)?.status.ingress?.[0]?.ip ??
            `203.0.113.${this.#nextIP++}`;
          const status: V1LoadBalancerStatus = { ingress: [{ ip, ipMode: "VIP" }] };
          this.loadBalancers.set(key, { status, nodes: nodes.map(nameOf).sort() });
          return status;
        }),
      updateLoadBalancer: (_cluster, service, nodes) =>
        this.#call("updateLoadBalancer", serviceKey(service), nodes, () => {
          const lb = this.loadBalancers.get(serviceKey(service));
          if (lb !== undefined) lb.nodes = nodes.map(nameOf).sort();
        }),
      ensureLoadBalancerDeleted: (_cluster, service) =>
        this.#call("ensureLoadBalancerDeleted", serviceKey(service), undefined, () => {
          this.loadBalancers.delete(serviceKey(service));
        }),
      recheckAfterMs: (service) => this.recheckAfter.get(serviceKey(service)),
    };
  }

  hasClusterID(): boolean {
    return true;
  }

  #instance(node: V1Node): FakeInstance | undefined {
    const providerID = node.spec?.providerID;
    if (providerID && !providerID.startsWith(`${FAKE_PROVIDER_NAME}://`)) {
      throw new NodeNotManagedError(
        `node "${nameOf(node)}" has providerID "${providerID}" of another provider`,
      );
    }
    return this.state.instances?.[nameOf(node)];
  }

  #mustInstance(node: V1Node): FakeInstance {
    const instance = this.#instance(node);
    if (instance === undefined) {
      throw new InstanceNotFoundError(`instance of node "${nameOf(node)}" not found`);
    }
    return instance;
  }

  async #call<T>(
    method: FakeMethod,
    target: string,
    nodes: V1Node[] | undefined,
    answer: () => T,
  ): Promise<T> {
    const call: FakeCall = { method, target, at: Date.now() };
    if (nodes !== undefined) call.nodes = nodes.map(nameOf).sort();
    if (this.#options.tag !== undefined) call.tag = this.#options.tag;
    this.calls.push(call);
    if (this.#options.callLog !== undefined) {
      Deno.writeTextFileSync(this.#options.callLog, JSON.stringify(call) + "\n", { append: true });
    }
    const state = this.state;
    if (state.latencyMs) await new Promise((resolve) => setTimeout(resolve, state.latencyMs));
    const injected = this.#errors.get(method);
    if (injected !== undefined) throw injected;
    const message = state.failures?.[method];
    if (message !== undefined) throw new Error(message);
    return answer();
  }
}

function nameOf(node: V1Node): string {
  return node.metadata?.name ?? "";
}

/** `namespace/name` of a Service. */
export function serviceKey(service: V1Service): string {
  return `${service.metadata?.namespace ?? ""}/${service.metadata?.name ?? ""}`;
}
