import assert from "node:assert/strict";
import { isForbidden, isGone } from "./errors.ts";
import { fakeTransport as transport } from "./testing.ts";
import type { HttpInit, HttpResponse } from "./transport.ts";
import { type WatchEvent, watchStream } from "./watch.ts";
import { errorMessage } from "../../util/errors.ts";

function streamResponse(code: number, chunks: string[], keepOpen = false): HttpResponse {
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      if (!keepOpen) controller.close();
    },
  });
  const text = chunks.join("");
  return { status: code, headers: {}, text: () => Promise.resolve(text), stream: () => stream };
}

async function collect<T>(iterable: AsyncIterable<WatchEvent<T>>): Promise<Array<[string, T]>> {
  const out: Array<[string, T]> = [];
  for await (const event of iterable) out.push([event.type, event.object]);
  return out;
}

Deno.test("watchStream builds the watch URL and yields events split across chunks", async () => {
  let request: { url: URL; init: HttpInit } | undefined;
  const events = await collect(watchStream<{ n: number }>({
    transport: transport((url, init) => {
      request = { url, init };
      return Promise.resolve(streamResponse(200, [
        '{"type":"ADDED","object":{"n":1}}\n{"type":"MOD',
        'IFIED","object":{"n":2}}\n\n{"type":"BOOKMARK","object":{"n":3}}\n',
        '{"type":"DELETED","object":{"n":4}}',
      ]));
    }),
    path: "/api/v1/nodes",
    resourceVersion: "42",
    labelSelector: "a=b",
    timeoutSeconds: 300,
    signal: new AbortController().signal,
  }));
  // The unterminated DELETED line is treated as cut off by a dropped connection.
  assert.deepEqual(events, [["ADDED", { n: 1 }], ["MODIFIED", { n: 2 }], ["BOOKMARK", { n: 3 }]]);
  const url = request!.url;
  assert.equal(url.origin, "https://k:6443");
  assert.equal(request!.init.watch, true);
  assert.equal(url.pathname, "/api/v1/nodes");
  assert.equal(url.searchParams.get("watch"), "true");
  assert.equal(url.searchParams.get("allowWatchBookmarks"), "true");
  assert.equal(url.searchParams.get("resourceVersion"), "42");
  assert.equal(url.searchParams.get("labelSelector"), "a=b");
  assert.equal(url.searchParams.get("timeoutSeconds"), "300");
  assert.equal(request!.init.headers["Authorization"], "Bearer t");
});

Deno.test("watchStream throws a 410 ERROR event as a KubeApiError", async () => {
  const error =
    '{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 1 (5)"}}\n';
  await assert.rejects(
    collect(watchStream({
      transport: transport(() =>
        Promise.resolve(streamResponse(200, ['{"type":"ADDED","object":{}}\n', error]))
      ),
      path: "/api/v1/nodes",
      signal: new AbortController().signal,
    })),
    (err) => isGone(err) && /too old resource version/.test(errorMessage(err)),
  );
});

Deno.test("watchStream throws the Status of a non-200 response", async () => {
  const body = '{"kind":"Status","code":403,"reason":"Forbidden","message":"nodes is forbidden"}';
  await assert.rejects(
    collect(watchStream({
      transport: transport(() => Promise.resolve(streamResponse(403, [body]))),
      path: "/api/v1/nodes",
      signal: new AbortController().signal,
    })),
    (err) => isForbidden(err) && /nodes is forbidden/.test(errorMessage(err)),
  );
});

Deno.test("watchStream ends quietly when the signal aborts and fails on an idle connection", async () => {
  const controller = new AbortController();
  const seen: string[] = [];
  const done = (async () => {
    for await (
      const event of watchStream({
        transport: transport(() =>
          Promise.resolve(streamResponse(200, ['{"type":"ADDED","object":{}}\n'], true))
        ),
        path: "/api/v1/nodes",
        signal: controller.signal,
      })
    ) {
      seen.push(event.type);
      controller.abort();
    }
  })();
  await done;
  assert.deepEqual(seen, ["ADDED"]);

  await assert.rejects(
    collect(watchStream({
      transport: transport(() => Promise.resolve(streamResponse(200, [], true))),
      path: "/api/v1/nodes",
      idleTimeoutMs: 20,
      signal: new AbortController().signal,
    })),
    /received nothing for 20 ms/,
  );
});
