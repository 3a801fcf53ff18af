import assert from "node:assert/strict";
import { FakeClock, settle } from "../../util/clock.ts";
import { KubeApiError } from "./errors.ts";
import { type ListResult, type ListWatchSource, Reflector } from "./reflector.ts";
import type { WatchEvent } from "./watch.ts";

interface Obj {
  metadata: { name: string; resourceVersion: string };
}

/** Lists answer from `lists` (then repeat the last); each watch fails with the next of `watchFailures`. */
class Source implements ListWatchSource<Obj> {
  lists = 0;
  watchedFrom: string[] = [];
  watchFailures: Error[] = [];

  list(): Promise<ListResult<Obj>> {
    this.lists++;
    return Promise.resolve({ items: [], resourceVersion: String(10 * this.lists) });
  }

  async *watch(o: { resourceVersion: string; signal: AbortSignal }): AsyncIterable<WatchEvent<Obj>> {
    this.watchedFrom.push(o.resourceVersion);
    const failure = this.watchFailures.shift();
    if (failure) throw failure;
    await new Promise((resolve) => o.signal.addEventListener("abort", resolve, { once: true }));
    yield* []; // a watch that delivers nothing until stopped
  }
}

async function run(failures: Error[]) {
  const clock = new FakeClock(0);
  const source = new Source();
  source.watchFailures = failures;
  const reflector = new Reflector<Obj>({
    name: "things",
    source,
    sink: { replace: () => {}, apply: () => {} },
    clock,
    random: () => 0.5,
  });
  const stop = new AbortController();
  const running = reflector.run(stop.signal);
  for (let i = 0; i < 20; i++) {
    await settle();
    await clock.advance(60_000);
  }
  stop.abort();
  await running;
  return source;
}

const internal = () =>
  new KubeApiError({
    code: 500,
    reason: "InternalError",
    message: 'etcd event received with PrevKv=nil (key="/registry/minions/n1", modRevision=337, type=PUT)',
  });

Deno.test("a watch the API server answers with an error other than 429 is retried with a fresh list", async () => {
  const source = await run([internal(), internal()]);
  assert.equal(source.lists, 3, "one list, and one after each failed watch");
  assert.deepEqual(source.watchedFrom, ["10", "20", "30"], "never the failing resourceVersion again");
});

Deno.test("connection failures and 429 are retried with the same resourceVersion, without listing", async () => {
  const tooMany = new KubeApiError({
    code: 429,
    reason: "TooManyRequests",
    message: "storage is (re)initializing",
  });
  const source = await run([new Error("connection refused"), tooMany]);
  assert.equal(source.lists, 1);
  assert.deepEqual(source.watchedFrom, ["10", "10", "10"]);
});

Deno.test("410 Gone lists again at once", async () => {
  const source = await run([
    new KubeApiError({ code: 410, reason: "Expired", message: "too old resource version" }),
  ]);
  assert.equal(source.lists, 2);
  assert.deepEqual(source.watchedFrom, ["10", "20"]);
});
