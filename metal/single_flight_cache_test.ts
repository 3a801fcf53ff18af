import { deepEqual, equal, rejects } from "node:assert/strict";
import { InstantClock } from "./api/testing.ts";
import { SingleFlightCache } from "./single_flight_cache.ts";

/** A cache whose loads count themselves and can be held open or made to fail. */
function fixture(options: { ttlMs?: number; failureHoldMs?: number } = {}) {
  const clock = new InstantClock();
  const state = {
    loads: 0,
    fail: undefined as Error | undefined,
    gates: [] as PromiseWithResolvers<void>[],
    hold: false,
  };
  const cache = new SingleFlightCache<number>({
    load: async () => {
      const n = ++state.loads;
      if (state.hold) {
        const gate = Promise.withResolvers<void>();
        state.gates.push(gate);
        await gate.promise;
      }
      if (state.fail) throw state.fail;
      return n;
    },
    ttlMs: options.ttlMs ?? 10_000,
    failureHoldMs: options.failureHoldMs,
    clock,
  });
  return { cache, clock, state };
}

Deno.test("SingleFlightCache: concurrent callers share one load; the value is reused within the TTL only", async () => {
  const { cache, clock, state } = fixture({ ttlMs: 10_000 });
  state.hold = true;
  const callers = [cache.get(), cache.get(), cache.get()];
  state.gates[0]!.resolve();
  deepEqual((await Promise.all(callers)).map((l) => l.value), [1, 1, 1]);
  state.hold = false;
  clock.advance(9_999);
  equal((await cache.get()).value, 1);
  equal((await cache.get({ maxAgeMs: 5_000 })).value, 2, "maxAgeMs asks for a younger value");
  clock.advance(10_000);
  equal((await cache.get()).value, 3);
  equal(state.loads, 3);
});

Deno.test("SingleFlightCache: fresh starts a load of its own; an older load never replaces a newer value", async () => {
  const { cache, state } = fixture();
  state.hold = true;
  const first = cache.get();
  const fresh = cache.get({ fresh: true });
  equal(state.loads, 2, "fresh does not join the load in flight");
  state.gates[1]!.resolve();
  equal((await fresh).value, 2);
  state.gates[0]!.resolve();
  equal((await first).value, 1);
  equal(cache.current?.value, 2, "the newer value stays");
});

Deno.test("SingleFlightCache: a load in flight across fence() is not stored; update() edits the cached value", async () => {
  const { cache, state } = fixture();
  equal((await cache.get()).value, 1);
  cache.update((v) => v * 10);
  equal((await cache.get()).value, 10, "our own write shows without a load");
  state.hold = true;
  const stale = cache.get({ fresh: true });
  cache.fence();
  state.gates[0]!.resolve();
  equal((await stale).value, 2, "its caller still gets it");
  equal(cache.current?.value, 10, "but it is not stored");
});

Deno.test("SingleFlightCache: a failed load is not cached; with failureHoldMs its error is served at once for that long", async () => {
  const off = fixture();
  off.state.fail = new Error("503");
  await rejects(off.cache.get(), /503/);
  await rejects(off.cache.get(), /503/);
  equal(off.state.loads, 2, "without a hold every call loads again");

  const { cache, clock, state } = fixture({ failureHoldMs: 2_000 });
  const outage = new Error("503");
  state.fail = outage;
  await rejects(cache.get(), (err) => err === outage);
  clock.advance(1_999);
  await rejects(cache.get(), (err) => err === outage);
  equal(state.loads, 1);
  state.fail = undefined;
  equal((await cache.get({ fresh: true })).value, 2, "fresh is not held back");
  state.fail = outage;
  clock.advance(20_000);
  await rejects(cache.get(), (err) => err === outage);
  cache.invalidate();
  state.fail = undefined;
  equal((await cache.get()).value, 4, "invalidate() forgets the failure");
});

Deno.test("SingleFlightCache: a caller that aborts stops waiting; the load goes on for the others", async () => {
  const { cache, state } = fixture();
  state.hold = true;
  const controller = new AbortController();
  const aborted = cache.get({ signal: controller.signal });
  const other = cache.get();
  controller.abort(new Error("stopped leading"));
  await rejects(aborted, /stopped leading/);
  state.gates[0]!.resolve();
  equal((await other).value, 1);
  await rejects(cache.get({ signal: AbortSignal.abort(new Error("already")), fresh: true }), /already/);
});
