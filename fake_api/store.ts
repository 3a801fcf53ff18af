/**
 * In-memory state with O(1) lookups by id, per-project indexes, and optional durability: {@linkcode Store.commit}
 * writes the whole state to the state file (atomically) and resolves only when it is on disk, so handlers
 * await it before answering a mutation.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import { randomText } from "./ids.ts";
import { parseIp } from "./ip_math.ts";
import { IpPools } from "./ip_pool.ts";
import type {
  ApiKeyRecord,
  AssignmentRecord,
  BgpSessionRecord,
  DeviceRecord,
  EventRecord,
  HardwareReservationRecord,
  LbOriginRecord,
  LbPoolRecord,
  LbPortRecord,
  LoadBalancerRecord,
  ProjectRecord,
  ReservationRecord,
  Snapshot,
  SshKeyRecord,
} from "./model.ts";
import type { StateFile } from "./state_file.ts";

/** All simulator state. Domain modules (`domain/`) change it; handlers then `await store.commit()`. */
export class Store {
  readonly clock: Clock;
  pools = new IpPools();
  tokenSecret: string = randomText(43);
  readonly projects = new Map<string, ProjectRecord>();
  /** API keys by token. */
  readonly apiKeys = new Map<string, ApiKeyRecord>();
  readonly apiKeysById = new Map<string, ApiKeyRecord>();
  readonly devices = new Map<string, DeviceRecord>();
  readonly reservations = new Map<string, ReservationRecord>();
  readonly assignments = new Map<string, AssignmentRecord>();
  readonly bgpSessions = new Map<string, BgpSessionRecord>();
  readonly loadBalancers = new Map<string, LoadBalancerRecord>();
  readonly lbPorts = new Map<string, LbPortRecord>();
  readonly lbPools = new Map<string, LbPoolRecord>();
  readonly lbOrigins = new Map<string, LbOriginRecord>();
  readonly sshKeys = new Map<string, SshKeyRecord>();
  readonly hardwareReservations = new Map<string, HardwareReservationRecord>();
  /** Events oldest first, at most {@linkcode MAX_EVENTS} (the oldest are dropped). */
  events: EventRecord[] = [];
  readonly eventsById = new Map<string, EventRecord>();

  #devicesByProject = new Map<string, Map<string, DeviceRecord>>();
  #deviceLists = new Map<string, DeviceRecord[]>();
  #reservationsByProject = new Map<string, Map<string, ReservationRecord>>();
  #sessionsByDevice = new Map<string, Set<string>>();
  #managementBlocks = new Map<string, ReservationRecord[]>();
  #file: StateFile | undefined;
  #chain: Promise<void> = Promise.resolve();
  #dirty = false;
  #generation = 0;

  constructor(options: { clock: Clock; file?: StateFile }) {
    this.clock = options.clock;
    this.#file = options.file;
  }

  /** Increases with every committed change (and on load); render caches compare it. */
  get generation(): number {
    return this.#generation;
  }

  /** The state file this store writes to, if any. */
  get file(): StateFile | undefined {
    return this.#file;
  }

  // --- projects and keys -------------------------------------------------------------------------------

  addProject(project: ProjectRecord): void {
    this.projects.set(project.id, project);
  }

  addApiKey(key: ApiKeyRecord): void {
    this.apiKeys.set(key.token, key);
    this.apiKeysById.set(key.id, key);
  }

  // --- devices -----------------------------------------------------------------------------------------

  addDevice(device: DeviceRecord): void {
    this.devices.set(device.id, device);
    let byId = this.#devicesByProject.get(device.projectId);
    if (!byId) this.#devicesByProject.set(device.projectId, byId = new Map());
    byId.set(device.id, device);
    this.#deviceLists.delete(device.projectId);
  }

  removeDevice(device: DeviceRecord): void {
    this.devices.delete(device.id);
    this.#devicesByProject.get(device.projectId)?.delete(device.id);
    this.#deviceLists.delete(device.projectId);
    this.#sessionsByDevice.delete(device.id);
  }

  /** The project's devices in creation order (cached array; do not mutate). */
  devicesOf(projectId: string): readonly DeviceRecord[] {
    let list = this.#deviceLists.get(projectId);
    if (!list) {
      list = [...(this.#devicesByProject.get(projectId)?.values() ?? [])];
      this.#deviceLists.set(projectId, list);
    }
    return list;
  }

  // --- IP reservations and assignments -----------------------------------------------------------------

  addReservation(reservation: ReservationRecord): void {
    this.reservations.set(reservation.id, reservation);
    let byId = this.#reservationsByProject.get(reservation.projectId);
    if (!byId) this.#reservationsByProject.set(reservation.projectId, byId = new Map());
    byId.set(reservation.id, reservation);
    if (reservation.kind === "private-block" || reservation.kind === "ipv6-block") {
      const key = blockKey(reservation.projectId, reservation.metro ?? "", reservation.kind);
      this.#managementBlocks.set(key, [...(this.#managementBlocks.get(key) ?? []), reservation]);
    }
  }

  removeReservation(reservation: ReservationRecord): void {
    this.reservations.delete(reservation.id);
    this.#reservationsByProject.get(reservation.projectId)?.delete(reservation.id);
    const key = blockKey(reservation.projectId, reservation.metro ?? "", reservation.kind);
    const blocks = this.#managementBlocks.get(key);
    if (blocks) this.#managementBlocks.set(key, blocks.filter((b) => b !== reservation));
  }

  /** The project's management blocks of one kind in one metro (private /25s or IPv6 /56s). */
  managementBlocks(
    projectId: string,
    metro: string,
    kind: "private-block" | "ipv6-block",
  ): ReservationRecord[] {
    return this.#managementBlocks.get(blockKey(projectId, metro, kind)) ?? [];
  }

  /** The project's reservations in creation order. */
  reservationsOf(projectId: string): ReservationRecord[] {
    return [...(this.#reservationsByProject.get(projectId)?.values() ?? [])];
  }

  addAssignment(assignment: AssignmentRecord): void {
    this.assignments.set(assignment.id, assignment);
  }

  removeAssignment(assignment: AssignmentRecord): void {
    this.assignments.delete(assignment.id);
  }

  // --- BGP sessions ------------------------------------------------------------------------------------

  addBgpSession(session: BgpSessionRecord): void {
    this.bgpSessions.set(session.id, session);
    let ids = this.#sessionsByDevice.get(session.deviceId);
    if (!ids) this.#sessionsByDevice.set(session.deviceId, ids = new Set());
    ids.add(session.id);
  }

  removeBgpSession(session: BgpSessionRecord): void {
    this.bgpSessions.delete(session.id);
    this.#sessionsByDevice.get(session.deviceId)?.delete(session.id);
  }

  /** The device's BGP sessions in creation order. */
  sessionsOf(deviceId: string): BgpSessionRecord[] {
    const ids = this.#sessionsByDevice.get(deviceId);
    return ids ? [...ids].map((id) => this.bgpSessions.get(id)!) : [];
  }

  // --- events ----------------------------------------------------------------------------------------

  /** Records an event, dropping the oldest beyond {@linkcode MAX_EVENTS} so memory and the state file stay bounded. */
  addEvent(event: EventRecord): void {
    this.events.push(event);
    this.eventsById.set(event.id, event);
    if (this.events.length > MAX_EVENTS * 1.1) {
      for (const old of this.events.splice(0, this.events.length - MAX_EVENTS)) {
        this.eventsById.delete(old.id);
      }
    }
  }

  // --- persistence -------------------------------------------------------------------------------------

  /**
   * Makes every change made so far durable. Resolves once a state write that started after this call has
   * completed (concurrent commits share writes). Without a state file it resolves at once.
   */
  commit(): Promise<void> {
    this.#generation++;
    if (!this.#file) return Promise.resolve();
    this.#dirty = true;
    const file = this.#file;
    const link = this.#chain.then(async () => {
      if (!this.#dirty) return; // an earlier queued write already included this change
      this.#dirty = false;
      await file.write(this.snapshot());
    });
    this.#chain = link.catch(() => {});
    return link;
  }

  /** A JSON-serialisable copy of the whole state. */
  snapshot(): Snapshot {
    return {
      version: 1,
      tokenSecret: this.tokenSecret,
      projects: [...this.projects.values()],
      apiKeys: [...this.apiKeys.values()],
      devices: [...this.devices.values()],
      reservations: [...this.reservations.values()],
      assignments: [...this.assignments.values()],
      bgpSessions: [...this.bgpSessions.values()],
      loadBalancers: [...this.loadBalancers.values()],
      lbPorts: [...this.lbPorts.values()],
      lbPools: [...this.lbPools.values()],
      lbOrigins: [...this.lbOrigins.values()],
      sshKeys: [...this.sshKeys.values()],
      events: [...this.events],
      hardwareReservations: [...this.hardwareReservations.values()],
      cursors: this.pools.cursors(),
    };
  }

  /** Replaces all state with `snapshot` (keeping clock and state file) and rebuilds indexes and pools. */
  load(snapshot: Snapshot): void {
    this.clear();
    this.#generation++;
    this.tokenSecret = snapshot.tokenSecret;
    for (const p of snapshot.projects) this.addProject(p);
    for (const k of snapshot.apiKeys) this.addApiKey(k);
    for (const d of snapshot.devices) this.addDevice(d);
    for (const r of snapshot.reservations) {
      this.addReservation(r);
      this.#holdReservation(r);
    }
    for (const a of snapshot.assignments) {
      this.addAssignment(a);
      const block = this.reservations.get(a.reservationId);
      if (block && (block.kind === "private-block" || block.kind === "ipv6-block")) {
        this.pools.subnet(block).hold(parseIp(a.network)!.value, a.cidr);
      }
    }
    for (const s of snapshot.bgpSessions) this.addBgpSession(s);
    for (const lb of snapshot.loadBalancers) {
      this.loadBalancers.set(lb.id, lb);
      for (const ip of lb.ips) this.pools.loadBalancer.hold(parseIp(ip)!.value, 32);
    }
    for (const p of snapshot.lbPorts) this.lbPorts.set(p.id, p);
    for (const p of snapshot.lbPools) this.lbPools.set(p.id, p);
    for (const o of snapshot.lbOrigins) this.lbOrigins.set(o.id, o);
    for (const k of snapshot.sshKeys ?? []) this.sshKeys.set(k.id, k);
    for (const e of snapshot.events ?? []) this.addEvent(e);
    for (const h of snapshot.hardwareReservations ?? []) this.hardwareReservations.set(h.id, h);
    this.pools.restoreCursors(snapshot.cursors);
  }

  /** Drops all state (a new token secret is not generated; `load` or the caller sets it). */
  clear(): void {
    this.pools = new IpPools();
    for (
      const map of [
        this.projects,
        this.apiKeys,
        this.apiKeysById,
        this.devices,
        this.reservations,
        this.assignments,
        this.bgpSessions,
        this.loadBalancers,
        this.lbPorts,
        this.lbPools,
        this.lbOrigins,
        this.sshKeys,
        this.hardwareReservations,
        this.eventsById,
        this.#devicesByProject,
        this.#deviceLists,
        this.#reservationsByProject,
        this.#sessionsByDevice,
        this.#managementBlocks,
      ] as Map<unknown, unknown>[]
    ) map.clear();
    this.events = [];
  }

  #holdReservation(r: ReservationRecord): void {
    const network = parseIp(r.network)!.value;
    const pool = {
      "device-public": this.pools.devicePublic,
      "elastic": this.pools.elastic,
      "global": this.pools.global,
      "private-block": this.pools.privateBlocks,
      "ipv6-block": this.pools.ipv6Blocks,
    }[r.kind];
    pool.hold(network, r.cidr);
  }
}

/** Events kept (the real feed was paginated history; the simulator keeps the recent part). */
export const MAX_EVENTS = 10_000;

function blockKey(projectId: string, metro: string, kind: string): string {
  return `${projectId}/${metro}/${kind}`;
}
