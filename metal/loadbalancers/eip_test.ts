import { deepEqual, equal, rejects } from "node:assert/strict";
import { MetalInvalidError, MetalTransientError } from "../api/errors.ts";
import { InstantClock } from "../api/testing.ts";
import type { IpReservation, IpReservationRequest } from "../api/types.ts";
import { eipLocation, ElasticIps, LATE_RESERVE_RECHECK_MS, LATE_RESERVE_WINDOW_MS } from "./eip.ts";
import { ReservationCache } from "./reservation_cache.ts";
import { makeService } from "../testing.ts";
import { FakeClock } from "../../util/clock.ts";
import { RecordingRecorder } from "../../provider/testing/mod.ts";

const settings = {
  annotationEipMetro: "metal.equinix.com/eip-metro",
  annotationEipFacility: "metal.equinix.com/eip-facility",
  metro: "sv",
  facility: "sv15",
};

Deno.test("eipLocation() order: metro annotation > facility annotation > METAL_METRO_NAME > METAL_FACILITY_NAME (docs/upstream.md#eip-location-order)", () => {
  const both = makeService("d", "s", {
    annotations: { "metal.equinix.com/eip-metro": "da", "metal.equinix.com/eip-facility": "ny5" },
  });
  deepEqual(eipLocation(both, settings), { metro: "da", source: 'annotation "metal.equinix.com/eip-metro"' });
  const facility = makeService("d", "s", { annotations: { "metal.equinix.com/eip-facility": "ny5" } });
  deepEqual(eipLocation(facility, settings), {
    facility: "ny5",
    source: 'annotation "metal.equinix.com/eip-facility"',
  });
  deepEqual(eipLocation(makeService("d", "s"), settings), { metro: "sv", source: "METAL_METRO_NAME" });
  deepEqual(eipLocation(makeService("d", "s"), { ...settings, metro: "" }), {
    facility: "sv15",
    source: "METAL_FACILITY_NAME",
  });
  equal(eipLocation(makeService("d", "s"), { ...settings, metro: "", facility: "" }), undefined);
});

Deno.test("eipLocation() reads the configured annotation keys and ignores blank values", () => {
  const custom = { ...settings, annotationEipMetro: "example.com/metro" };
  const svc = makeService("d", "s", {
    annotations: { "example.com/metro": "fr", "metal.equinix.com/eip-metro": "da" },
  });
  equal(eipLocation(svc, custom)?.metro, "fr");
  const blank = makeService("d", "s", { annotations: { "metal.equinix.com/eip-metro": "  " } });
  equal(eipLocation(blank, settings)?.metro, "sv");
});

/** An API whose next create fails on the client's side while the reservation is made later (a slow server). */
class LateApi {
  reservations: IpReservation[] = [];
  creates = 0;
  late: { error: Error; tags: string[] } | undefined;

  lists = 0;

  listIpReservations(): Promise<IpReservation[]> {
    this.lists++;
    return Promise.resolve(structuredClone(this.reservations));
  }
  createIpReservation(_p: string, req: IpReservationRequest): Promise<IpReservation> {
    this.creates++;
    if (this.late) {
      this.late.tags = req.tags ?? [];
      return Promise.reject(this.late.error);
    }
    return Promise.resolve(this.#add(req.tags ?? []));
  }
  deleteIpReservation(): Promise<void> {
    return Promise.resolve();
  }
  /** The API side finishes the create that timed out. */
  completeLate(): void {
    this.#add(this.late!.tags);
    this.late = undefined;
  }
  #add(tags: string[]): IpReservation {
    const n = this.reservations.length + 1;
    const r = { id: `r${n}`, type: "public_ipv4", address: `147.75.9.${n}`, cidr: 32, tags } as IpReservation;
    this.reservations.push(r);
    return structuredClone(r);
  }
}

function lateSetup() {
  const api = new LateApi();
  const reservations = new ReservationCache({ client: api, projectId: "p", clock: new InstantClock() });
  const eips = new ElasticIps({ reservations, clusterId: "c", location: settings });
  return { api, reservations, eips };
}

const info = { operation: "create_ip_reservation", method: "POST", path: "/projects/p/ips" };

Deno.test("ElasticIps: a reserve that timed out but completed late is found, not made twice", async () => {
  const { api, reservations, eips } = lateSetup();
  const svc = makeService("d", "web");
  api.late = {
    error: new MetalTransientError(info, "no answer within 30000 ms", { kind: "timeout" }),
    tags: [],
  };
  await rejects(eips.ensure(svc), /no answer within 30000 ms/);
  // Another Service's sync lists before the API finished: that list is cached without the reservation.
  await reservations.list();
  api.completeLate();
  const { reservation, created } = await eips.ensure(svc);
  deepEqual([reservation.id, created, api.creates], ["r1", false, 1]);
});

Deno.test("ElasticIps: a late reserve landing after the retry reserved another is found within the window", async () => {
  const api = new LateApi();
  const reservations = new ReservationCache({ client: api, projectId: "p", clock: new InstantClock() });
  const clock = new FakeClock(1_000_000);
  const eips = new ElasticIps({ reservations, clusterId: "c", location: settings, clock });
  const svc = makeService("d", "web");
  const other = makeService("d", "other");
  equal(eips.recheckAfterMs(svc), undefined);
  api.late = {
    error: new MetalTransientError(info, "no answer within 30000 ms", { kind: "timeout" }),
    tags: [],
  };
  await rejects(eips.ensure(svc), /no answer within 30000 ms/);
  const timedOut = api.late;
  api.late = undefined;
  equal(eips.recheckAfterMs(svc), LATE_RESERVE_RECHECK_MS);
  equal(eips.recheckAfterMs(other), undefined);
  // The retry finds nothing yet and reserves a second address; then the timed-out request lands.
  const { reservation: kept } = await eips.ensure(svc);
  api.late = timedOut;
  api.completeLate();
  // A cached list from before the landing does not hide it: each look in the window lists afresh.
  await reservations.list();
  let lists = api.lists;
  deepEqual((await eips.findAll(svc)).map((r) => r.id), [kept.id, "r2"]);
  equal(api.lists, lists + 1);
  await clock.advance(LATE_RESERVE_WINDOW_MS - 5_000);
  equal(eips.recheckAfterMs(svc), 5_000);
  await clock.advance(5_000);
  // The window has closed, but only a look started now has surely seen every late completion.
  equal(eips.recheckAfterMs(svc), 0);
  await eips.findAll(svc);
  equal(eips.recheckAfterMs(svc), undefined);
  lists = api.lists;
  await eips.findAll(svc);
  equal(api.lists, lists, "the cached list serves again after the window");
});

Deno.test("ElasticIps: after a definite refusal (4xx) the cached list still serves the next attempt", async () => {
  const { api, reservations, eips } = lateSetup();
  const svc = makeService("d", "web");
  await reservations.list();
  api.late = { error: new MetalInvalidError(info, "422 Unprocessable Entity"), tags: [] };
  await rejects(eips.ensure(svc), /422/);
  api.late = undefined;
  const { created } = await eips.ensure(svc);
  equal(created, true);
  equal(api.creates, 2);
});

Deno.test("ElasticIps: a metro or facility annotation that is no code fails at once, briefly, naming the annotation", async () => {
  const api = new LateApi();
  const recorder = new RecordingRecorder();
  const reservations = new ReservationCache({ client: api, projectId: "p", clock: new InstantClock() });
  const eips = new ElasticIps({ reservations, clusterId: "c", location: settings, recorder });
  const cases: [Record<string, string>, RegExp][] = [
    [
      { "metal.equinix.com/eip-metro": "東京" },
      /metro '東京' \(from annotation "metal\.equinix\.com\/eip-metro"\)/,
    ],
    [{ "metal.equinix.com/eip-metro": "m".repeat(5000) }, /metro 'm{64}… \(5000 characters\)'/],
    [
      { "metal.equinix.com/eip-facility": "da 11" },
      /facility 'da 11' .* use letters and digits only, such as 'da11'/,
    ],
  ];
  for (const [annotations, message] of cases) {
    await rejects(eips.ensure(makeService("d", "web", { annotations })), message);
  }
  equal(api.creates, 0, "no API call");
  deepEqual(recorder.reasons("d/web"), [
    "EIPReservationFailed",
    "EIPReservationFailed",
    "EIPReservationFailed",
  ]);
  equal(recorder.events.every((e) => e.message.length < 300), true);
});
