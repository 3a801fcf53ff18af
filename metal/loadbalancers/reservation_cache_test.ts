import { deepEqual, equal, rejects } from "node:assert/strict";
import { Registry } from "prom-client";
import { MetalNotFoundError, MetalTransientError } from "../api/errors.ts";
import { InstantClock } from "../api/testing.ts";
import type { IpReservation, IpReservationRequest } from "../api/types.ts";
import { ReservationCache } from "./reservation_cache.ts";

function reservation(id: string, tags: string[] = ["usage=test"]): IpReservation {
  return {
    id,
    type: "public_ipv4",
    address: `147.75.0.${id.length}`,
    addressFamily: 4,
    cidr: 32,
    network: undefined,
    netmask: undefined,
    gateway: undefined,
    public: true,
    management: false,
    globalIp: false,
    state: "created",
    details: undefined,
    tags,
    customdata: undefined,
    assignments: [],
    metro: undefined,
    facility: undefined,
  };
}

class Client {
  reservations: IpReservation[] = [];
  lists = 0;
  gate: Promise<void> | undefined;
  failList: Error | undefined;
  failCreate: Error | undefined;
  failDelete: Error | undefined;

  async listIpReservations(): Promise<IpReservation[]> {
    this.lists++;
    const answer = structuredClone(this.reservations);
    await this.gate;
    if (this.failList) throw this.failList;
    return answer;
  }
  createIpReservation(_p: string, req: IpReservationRequest): Promise<IpReservation> {
    if (this.failCreate) return Promise.reject(this.failCreate);
    const r = reservation(`r${this.reservations.length + 1}`, req.tags);
    this.reservations.push(r);
    return Promise.resolve(structuredClone(r));
  }
  deleteIpReservation(id: string): Promise<void> {
    if (this.failDelete) return Promise.reject(this.failDelete);
    const before = this.reservations.length;
    this.reservations = this.reservations.filter((r) => r.id !== id);
    if (before === this.reservations.length) {
      return Promise.reject(
        new MetalNotFoundError({ operation: "delete_ip", method: "DELETE", path: `/ips/${id}` }, "404"),
      );
    }
    return Promise.resolve();
  }
}

const info = { operation: "x", method: "GET", path: "/x" };

Deno.test("ReservationCache: concurrent callers share one list; the list is reused within the TTL", async () => {
  const client = new Client();
  client.reservations = [reservation("a")];
  const clock = new InstantClock();
  const registry = new Registry();
  const cache = new ReservationCache({ client, projectId: "p", ttlMs: 1000, clock, metrics: registry });
  let release!: () => void;
  client.gate = new Promise((r) => release = r);
  const all = Promise.all(Array.from({ length: 100 }, () => cache.list()));
  release();
  const results = await all;
  equal(client.lists, 1);
  equal(results.every((r) => r.length === 1), true);
  clock.advance(999);
  await cache.list();
  equal(client.lists, 1);
  clock.advance(1);
  await cache.list();
  equal(client.lists, 2);
  const metric = await registry.getSingleMetricAsString("ccm_equinixmetal_ip_reservation_lists_total");
  equal(metric.includes('result="success"} 2'), true, metric);
});

Deno.test("ReservationCache: our own creations and deletions are visible without another list", async () => {
  const client = new Client();
  const cache = new ReservationCache({ client, projectId: "p", clock: new InstantClock() });
  deepEqual(await cache.list(), []);
  const created = await cache.create({ type: "public_ipv4", quantity: 1, tags: ["t"] });
  deepEqual((await cache.list()).map((r) => r.id), [created.id]);
  equal(await cache.delete(created.id), "deleted");
  deepEqual(await cache.list(), []);
  equal(client.lists, 1);
});

Deno.test("ReservationCache: a list in flight during our write is not stored (it may predate the write)", async () => {
  const client = new Client();
  const cache = new ReservationCache({ client, projectId: "p", clock: new InstantClock() });
  let release!: () => void;
  client.gate = new Promise((r) => release = r);
  const stale = cache.list(); // answer captured before the create
  await cache.create({ type: "public_ipv4", quantity: 1, tags: ["t"] });
  release();
  equal((await stale).length, 0);
  client.gate = undefined;
  equal((await cache.list()).length, 1, "the stale answer was not cached");
  equal(client.lists, 2);
});

Deno.test("ReservationCache: a failed create drops the cache, so the next lookup lists before reserving again", async () => {
  const client = new Client();
  const cache = new ReservationCache({ client, projectId: "p", clock: new InstantClock() });
  await cache.list();
  client.failCreate = new MetalTransientError(info, "timeout", { kind: "timeout" });
  await rejects(cache.create({ type: "public_ipv4", quantity: 1 }), MetalTransientError);
  await cache.list();
  equal(client.lists, 2);
});

Deno.test("ReservationCache: delete of a missing reservation is 'gone'; other delete errors reject and drop the cache", async () => {
  const client = new Client();
  client.reservations = [reservation("a")];
  const cache = new ReservationCache({ client, projectId: "p", clock: new InstantClock() });
  await cache.list();
  equal(await cache.delete("nope"), "gone");
  client.failDelete = new MetalTransientError(info, "503", { kind: "server" });
  await rejects(cache.delete("a"), MetalTransientError);
  await cache.list();
  equal(client.lists, 2);
});

Deno.test("ReservationCache: a failed list is not cached and never served as an empty list", async () => {
  const client = new Client();
  client.failList = new MetalTransientError(info, "503", { kind: "server" });
  const cache = new ReservationCache({ client, projectId: "p", clock: new InstantClock() });
  await rejects(cache.list(), MetalTransientError);
  client.failList = undefined;
  client.reservations = [reservation("a")];
  equal((await cache.list()).length, 1);
});

Deno.test("ReservationCache: a fresh list is never one that was cached or already in flight", async () => {
  const client = new Client();
  const clock = new InstantClock();
  const cache = new ReservationCache({ client, projectId: "p", clock });
  equal((await cache.list()).length, 0);
  client.reservations = [reservation("late")]; // completed on the API's side after that list
  equal((await cache.list()).length, 0, "the cached list is reused");
  equal((await cache.list({ fresh: true })).length, 1, "a fresh list sees it");
  equal(client.lists, 2);

  // A list in flight since before is not shared with a fresh caller, and cannot overwrite the fresh answer.
  let release!: () => void;
  client.gate = new Promise((r) => release = r);
  clock.advance(20_000);
  const old = cache.list();
  client.gate = undefined;
  clock.advance(1);
  client.reservations = [reservation("late"), reservation("later")];
  equal((await cache.list({ fresh: true })).length, 2);
  release();
  equal((await old).length, 1, "the old caller gets its own answer");
  equal((await cache.list()).length, 2, "the cache keeps the newer list");
  equal(client.lists, 4);
});

Deno.test("ReservationCache: keeps only tagged reservations (lookups are by tag; device management blocks are not)", async () => {
  const client = new Client();
  client.reservations = [
    reservation("mgmt", []),
    reservation("eip", ["usage=x"]),
    reservation("private", []),
  ];
  const cache = new ReservationCache({ client, projectId: "p", clock: new InstantClock() });
  deepEqual((await cache.list()).map((r) => r.id), ["eip"]);
});
