/**
 * What the demo reports, as a pure function of what it observes: the Nodes, the Service and the simulator's
 * request log. Each milestone is reported once, in the order it is first seen.
 *
 * @module
 */
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { UNINITIALIZED_TAINT } from "./demo_system.ts";

/** One entry of the simulator's request log (`GET /_fake/requests`). */
export interface FakeRequest {
  seq: number;
  method: string;
  path: string;
  status: number;
}

/** An Elastic IP reservation as the Metal API lists it (the fields the demo prints). */
export interface Reservation {
  id: string;
  address: string;
  tags: string[];
  assignments?: Array<{ assigned_to?: { href?: string } }>;
}

/** What the demo saw on one poll. */
export interface Observation {
  nodes: readonly V1Node[];
  service?: V1Service;
  /** Requests logged since the previous observation. */
  requests: readonly FakeRequest[];
  /** The project's reservations, fetched when a request suggests they changed. */
  reservations?: readonly Reservation[];
}

/** The milestones the demo waits for. */
export interface Milestones {
  nodesInitialized: boolean;
  serviceEipReserved: boolean;
  serviceIngress?: string;
  controlPlaneEip?: { address: string; node: string };
}

/** Options of {@linkcode DemoProgress}. */
export interface DemoProgressOptions {
  /** Node names the demo registered. */
  nodeNames: readonly string[];
  /** `METAL_EIP_TAG`. */
  eipTag: string;
}

/** Whether the Node is initialized: a providerID and no uninitialized taint. */
export function isInitialized(node: V1Node): boolean {
  return (node.spec?.providerID ?? "") !== "" &&
    !(node.spec?.taints ?? []).some((t) => t.key === UNINITIALIZED_TAINT);
}

/** Whether a logged request changed reservations or assignments (so they are worth fetching). */
export function changesIps(request: FakeRequest): boolean {
  return request.status < 300 && request.method !== "GET" && /\/ips(\/|$)/.test(request.path);
}

/** Turns observations into progress lines; see the module documentation. */
export class DemoProgress {
  readonly #o: DemoProgressOptions;
  readonly #reported = new Set<string>();
  readonly milestones: Milestones = { nodesInitialized: false, serviceEipReserved: false };

  constructor(options: DemoProgressOptions) {
    this.#o = options;
  }

  /** Whether every milestone has been reached. */
  get complete(): boolean {
    const m = this.milestones;
    return m.nodesInitialized && m.serviceEipReserved && m.serviceIngress !== undefined &&
      m.controlPlaneEip !== undefined;
  }

  /** The milestones not reached yet, for a timeout message. */
  missing(): string[] {
    const m = this.milestones;
    return [
      ...(m.nodesInitialized ? [] : ["all nodes initialized"]),
      ...(m.serviceEipReserved ? [] : ["Elastic IP reserved for the Service"]),
      ...(m.serviceIngress ? [] : ["Service ingress set"]),
      ...(m.controlPlaneEip ? [] : ["control-plane Elastic IP assigned"]),
    ];
  }

  /** The new progress lines for `seen`. */
  observe(seen: Observation): string[] {
    const lines: string[] = [];
    const once = (key: string, line: string) => {
      if (this.#reported.has(key)) return;
      this.#reported.add(key);
      lines.push(line);
    };
    const byName = new Map(seen.nodes.map((n) => [n.metadata?.name ?? "", n]));
    for (const name of this.#o.nodeNames) {
      const node = byName.get(name);
      if (node && isInitialized(node)) once(`node/${name}`, describeNode(node));
    }
    if (
      !this.milestones.nodesInitialized && this.#o.nodeNames.every((n) => this.#reported.has(`node/${n}`))
    ) {
      this.milestones.nodesInitialized = true;
      lines.push(`all ${this.#o.nodeNames.length} nodes initialized`);
    }

    for (const r of seen.reservations ?? []) {
      if (r.tags.includes(this.#o.eipTag)) {
        const deviceId = r.assignments?.[0]?.assigned_to?.href?.split("/").at(-1);
        if (deviceId === undefined) continue;
        const node = seen.nodes.find((n) => n.spec?.providerID?.endsWith(`/${deviceId}`));
        const where = node?.metadata?.name ?? `device ${deviceId}`;
        once(`cp-eip/${deviceId}`, `control-plane Elastic IP ${r.address} assigned to ${where}`);
        this.milestones.controlPlaneEip = { address: r.address, node: where };
      } else if (r.tags.some((t) => t.startsWith("service="))) {
        once(`eip/${r.id}`, `Elastic IP ${r.address} reserved for the Service (tags ${r.tags.join(", ")})`);
        this.milestones.serviceEipReserved = true;
      }
    }

    const ingress = seen.service?.status?.loadBalancer?.ingress?.[0]?.ip;
    if (ingress) {
      const s = seen.service?.metadata;
      once(`ingress/${ingress}`, `Service ${s?.namespace}/${s?.name} has ingress ${ingress}`);
      this.milestones.serviceIngress = ingress;
    }
    return lines;
  }
}

function describeNode(node: V1Node): string {
  const labels = node.metadata?.labels ?? {};
  const addresses = (node.status?.addresses ?? [])
    .filter((a) => a.type !== "Hostname")
    .map((a) => `${a.type} ${a.address}`);
  return `node ${node.metadata?.name} initialized: providerID ${node.spec?.providerID}, ` +
    `instance-type ${labels["node.kubernetes.io/instance-type"] ?? "-"}, ` +
    `region ${labels["topology.kubernetes.io/region"] ?? "-"}` +
    (addresses.length > 0 ? `, ${addresses.join(", ")}` : "");
}
