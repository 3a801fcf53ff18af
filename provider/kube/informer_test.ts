import assert from "node:assert/strict";
import type { KubernetesObject } from "@kubernetes/client-node";
import { FakeClock, settle } from "../../util/clock.ts";
import { KubeApiError } from "./errors.ts";
import { SharedInformer } from "./informer.ts";
import type { ListResult, ListWatchSource } from "./reflector.ts";
import type { WatchEvent } from "./watch.ts";

type Obj = KubernetesObject & { data?: string };

function obj(name: string, rv: string, data?: string): Obj {
  return { metadata: { name, resourceVersion: rv }, data };
}

/** One watch as the test drives it. */
class WatchChannel {
  readonly resourceVersion: string;
  #events: Array<WatchEvent<Obj> | Error | "end"> = [];
  #wake: (() => void) | undefined;

  constructor(resourceVersion: string) {
    this.resourceVersion = resourceVersion;
  }

  push(item: WatchEvent<Obj> | Error | "end"): void {
    this.#events.push(item);
    this.#wake?.();
  }

  async *iterate(signal: AbortSignal): AsyncGenerator<WatchEvent<Obj>> {
    const onAbort = () => this.#wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      for (;;) {
        if (signal.aborted) return;
        const next = this.#events.shift();
        if (next === undefined) {
          await new Promise<void>((resolve) => (this.#wake = resolve));
          continue;
        }
        if (next === "end") return;
        if (next instanceof Error) throw next;
        yield next;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}

/** A list+watch source whose lists and watches the test scripts. */
class ScriptedSource implements ListWatchSource<Obj> {
  lists: Array<ListResult<Obj> | Error> = [];
  listCalls = 0;
  watches: WatchChannel[] = [];

  list(): Promise<ListResult<Obj>> {
    this.listCalls++;
    const next = this.lists.shift();
    if (next === undefined) return Promise.reject(new Error("no list scripted"));
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(structuredClone(next));
  }

  watch(options: { resourceVersion: string; signal: AbortSignal }): AsyncIterable<WatchEvent<Obj>> {
    const channel = new WatchChannel(options.resourceVersion);
    this.watches.push(channel);
    return channel.iterate(options.signal);
  }

  get lastWatch(): WatchChannel {
    const last = this.watches.at(-1);
    if (!last) throw new Error("no watch started");
    return last;
  }
}

function recorder() {
  const events: string[] = [];
  return {
    events,
    handlers: {
      add: (o: Obj) => events.push(`add ${o.metadata?.name}@${o.metadata?.resourceVersion}`),
      update: (old: Obj, o: Obj) =>
        events.push(
          `update ${o.metadata?.name}@${old.metadata?.resourceVersion}->${o.metadata?.resourceVersion}`,
        ),
      delete: (o: Obj) => events.push(`delete ${o.metadata?.name}@${o.metadata?.resourceVersion}`),
    },
  };
}

const gone = () => new KubeApiError({ code: 410, reason: "Expired", message: "too old resource version" });

async function setup(
  options: {
    resyncPeriodMs?: number;
    lists?: Array<ListResult<Obj> | Error>;
    transform?: (obj: Obj) => Obj;
  } = {},
) {
  const clock = new FakeClock(0);
  const source = new ScriptedSource();
  source.lists = options.lists ?? [{ items: [obj("a", "1"), obj("b", "2")], resourceVersion: "10" }];
  const informer = new SharedInformer<Obj>({
    name: "things",
    source,
    clock,
    random: () => 0.5,
    resyncPeriodMs: options.resyncPeriodMs,
    typeMeta: { apiVersion: "v1", kind: "Thing" },
    transform: options.transform,
  });
  const controller = new AbortController();
  const running = informer.run(controller.signal);
  await settle();
  return {
    clock,
    source,
    informer,
    async stop() {
      controller.abort();
      await running;
    },
  };
}

Deno.test("informer lists, syncs, then applies watch events to the cache and handlers", async () => {
  const t = await setup();
  const r = recorder();
  await t.informer.waitForSync(AbortSignal.timeout(1000));
  assert.ok(t.informer.hasSynced());
  t.informer.addHandlers(r.handlers);
  assert.deepEqual(r.events, ["add a@1", "add b@2"], "existing objects are replayed as adds");
  assert.equal(t.source.lastWatch.resourceVersion, "10", "the watch starts at the list's resourceVersion");
  assert.equal(t.informer.get("a")?.kind, "Thing", "list items get their kind");

  t.source.lastWatch.push({ type: "ADDED", object: obj("c", "11") });
  t.source.lastWatch.push({ type: "MODIFIED", object: obj("a", "12", "x") });
  t.source.lastWatch.push({ type: "DELETED", object: obj("b", "13") });
  t.source.lastWatch.push({ type: "BOOKMARK", object: obj("", "20") });
  await settle();
  assert.deepEqual(r.events.slice(2), ["add c@11", "update a@1->12", "delete b@13"]);
  assert.deepEqual(t.informer.list().map((o) => o.metadata?.name).sort(), ["a", "c"]);
  assert.equal(t.informer.get("a")?.data, "x");
  assert.equal(t.informer.resourceVersion, "20", "bookmarks move the resourceVersion");

  t.source.lastWatch.push("end");
  await settle();
  assert.equal(t.source.watches.length, 2, "a watch the server ends is restarted");
  assert.equal(t.source.lastWatch.resourceVersion, "20", "from the last resourceVersion");
  assert.equal(t.source.listCalls, 1, "without listing again");
  await t.stop();
});

Deno.test("informer transforms listed and watched objects before caching them and calling handlers", async () => {
  const t = await setup({ transform: (o) => ({ ...o, data: `${o.kind}:${o.data ?? ""}` }) });
  const r: Obj[] = [];
  await t.informer.waitForSync(AbortSignal.timeout(1000));
  t.informer.addHandlers({ add: (o) => r.push(o), update: (_old, o) => r.push(o) });
  t.source.lastWatch.push({ type: "MODIFIED", object: obj("a", "12", "x") });
  await settle();
  assert.deepEqual(r.map((o) => o.data), ["Thing:", "Thing:", "Thing:x"]);
  assert.equal(t.informer.get("a")?.data, "Thing:x");
  assert.equal(t.informer.get("b")?.data, "Thing:");
  await t.stop();
});

Deno.test("informer lists again on 410 Gone and turns the difference into events", async () => {
  const t = await setup({
    lists: [
      { items: [obj("a", "1"), obj("b", "2"), obj("c", "3")], resourceVersion: "10" },
      { items: [obj("a", "1"), obj("c", "7"), obj("d", "8")], resourceVersion: "30" },
    ],
  });
  const r = recorder();
  t.informer.addHandlers(r.handlers);
  r.events.length = 0;
  t.source.lastWatch.push(gone());
  await settle();
  assert.equal(t.source.listCalls, 2);
  assert.deepEqual(r.events.sort(), ["add d@8", "delete b@2", "update c@3->7"]);
  assert.equal(t.source.lastWatch.resourceVersion, "30");
  await t.stop();
});

Deno.test("informer retries failed watches from the last resourceVersion with growing jittered backoff", async () => {
  const t = await setup();
  t.source.lastWatch.push({ type: "MODIFIED", object: obj("a", "15") });
  await settle();
  t.source.lastWatch.push(new Error("connection reset"));
  await settle();
  assert.equal(t.source.watches.length, 1, "waits before retrying");
  // random 0.5 → 1.5 × each base: 400 → 600 ms, 800 → 1200 ms.
  await t.clock.advance(599);
  assert.equal(t.source.watches.length, 1);
  await t.clock.advance(1);
  assert.equal(t.source.watches.length, 2);
  assert.equal(t.source.lastWatch.resourceVersion, "15");
  t.source.lastWatch.push(new Error("connection refused"));
  await settle();
  await t.clock.advance(1199);
  assert.equal(t.source.watches.length, 2);
  await t.clock.advance(1);
  assert.equal(t.source.watches.length, 3);
  assert.equal(t.source.listCalls, 1, "no re-list for errors other than 410");
  await t.stop();
});

Deno.test("informer retries a failed list with backoff and syncs only when a list succeeds", async () => {
  const t = await setup({
    lists: [new Error("apiserver down"), { items: [obj("a", "1")], resourceVersion: "5" }],
  });
  assert.equal(t.informer.hasSynced(), false);
  await t.clock.advance(600);
  await t.informer.waitForSync(AbortSignal.timeout(1000));
  assert.equal(t.source.listCalls, 2);
  assert.deepEqual(t.informer.list().map((o) => o.metadata?.name), ["a"]);
  await t.stop();
});

Deno.test("informer resync replays every cached object as an update, per handler period", async () => {
  const t = await setup({ resyncPeriodMs: 1000 });
  const everySecond = recorder();
  const every5s = recorder();
  const never = recorder();
  t.informer.addHandlers(everySecond.handlers);
  t.informer.addHandlers(every5s.handlers, { resyncPeriodMs: 5000 });
  t.informer.addHandlers(never.handlers, { resyncPeriodMs: 0 });
  await t.clock.advance(1000);
  assert.deepEqual(everySecond.events.slice(2), ["update a@1->1", "update b@2->2"]);
  assert.equal(every5s.events.length, 2);
  await t.clock.advance(4000);
  assert.equal(everySecond.events.length, 2 + 5 * 2);
  assert.deepEqual(every5s.events.slice(2), ["update a@1->1", "update b@2->2"]);
  assert.equal(never.events.length, 2);
  await t.stop();
});

Deno.test("informer keeps going when a handler throws, and removed handlers get nothing", async () => {
  const t = await setup();
  const r = recorder();
  t.informer.addHandlers({
    add: () => {
      throw new Error("handler bug");
    },
  });
  const remove = t.informer.addHandlers(r.handlers);
  t.source.lastWatch.push({ type: "ADDED", object: obj("c", "11") });
  await settle();
  remove();
  t.source.lastWatch.push({ type: "ADDED", object: obj("d", "12") });
  await settle();
  assert.deepEqual(r.events, ["add a@1", "add b@2", "add c@11"]);
  assert.ok(t.informer.get("d"));
  await t.stop();
});

Deno.test("informer stops promptly: run resolves after abort and waitForSync rejects", async () => {
  const t = await setup({ lists: [new Error("down")] });
  const controller = new AbortController();
  const waiting = t.informer.waitForSync(controller.signal);
  controller.abort(new Error("shutting down"));
  await assert.rejects(waiting, /shutting down/);
  await t.stop();
});

Deno.test("informer backs off instead of spinning when watches end without any event", async () => {
  const t = await setup();
  t.source.lastWatch.push("end");
  await settle();
  assert.equal(t.source.watches.length, 1);
  await t.clock.advance(600);
  assert.equal(t.source.watches.length, 2);
  await t.stop();
});
