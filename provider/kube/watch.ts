/**
 * A watch as an async iterable of events. Unlike the library's `Watch`, it reports an `ERROR` event (such as
 * 410 "too old resource version") as a thrown {@linkcode KubeApiError}, lets the caller choose the inactivity
 * timeout, and shares the connection pool and rate limiter of the typed clients.
 *
 * @module
 */
import { kubeApiErrorFromResponse } from "./errors.ts";
import type { KubeTransport } from "./transport.ts";

/** One watch event; `ERROR` events are thrown instead. */
export interface WatchEvent<T = unknown> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";
  object: T;
}

/** Options of a watch request. */
export interface WatchStreamOptions {
  /** Start after this resourceVersion (from a list or the last event). */
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Ask for BOOKMARK events that carry a newer resourceVersion (default true). */
  allowWatchBookmarks?: boolean;
  /** The server ends the watch after this many seconds (client-go picks 5–10 minutes at random). */
  timeoutSeconds?: number;
  /** Abort when nothing arrived for this long (half-open connections); default timeoutSeconds + 60 s. */
  idleTimeoutMs?: number;
  /** Ends the stream (the iterator returns). */
  signal: AbortSignal;
}

/** Inputs of {@linkcode watchStream} besides the request options. */
export interface WatchStreamInit extends WatchStreamOptions {
  transport: Pick<KubeTransport, "watch">;
  /** Collection path, for example `/api/v1/nodes` or `/apis/discovery.k8s.io/v1/endpointslices`. */
  path: string;
}

/**
 * Opens a watch and yields its events until the server ends it (the iterator returns), `signal` aborts (the
 * iterator returns), or it fails (throws; a `KubeApiError` with `code` 410 means re-list).
 */
export async function* watchStream<T>(init: WatchStreamInit): AsyncGenerator<WatchEvent<T>> {
  const url = new URL(init.path, "http://watch");
  url.searchParams.set("watch", "true");
  if (init.allowWatchBookmarks ?? true) url.searchParams.set("allowWatchBookmarks", "true");
  if (init.resourceVersion) url.searchParams.set("resourceVersion", init.resourceVersion);
  if (init.labelSelector) url.searchParams.set("labelSelector", init.labelSelector);
  if (init.fieldSelector) url.searchParams.set("fieldSelector", init.fieldSelector);
  if (init.timeoutSeconds) url.searchParams.set("timeoutSeconds", String(init.timeoutSeconds));
  if (init.signal.aborted) return;
  const controller = new AbortController();
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let idleFailure: Error | undefined;
  // Aborting the request also errors the body in undici, but cancelling the reader is what reliably wakes a
  // pending read.
  const stop = (reason: unknown) => {
    controller.abort(reason);
    reader?.cancel(reason).catch(() => {});
  };
  const onAbort = () => stop(init.signal.reason);
  init.signal.addEventListener("abort", onAbort, { once: true });
  const idleTimeoutMs = init.idleTimeoutMs ?? ((init.timeoutSeconds ?? 600) + 60) * 1000;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const resetIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      idleFailure = new Error(`Watch of "${init.path}" received nothing for ${idleTimeoutMs} ms`);
      stop(idleFailure);
    }, idleTimeoutMs);
  };
  try {
    resetIdle();
    const response = await init.transport.watch({
      method: "GET",
      path: url.pathname + url.search,
      signal: controller.signal,
    });
    if (response.status !== 200) {
      throw kubeApiErrorFromResponse(response.status, await response.text(), response.headers);
    }
    const body = response.stream();
    if (!body) throw new Error(`Watch of "${init.path}" returned no body`);
    reader = body.getReader();
    if (controller.signal.aborted) {
      if (idleFailure) throw idleFailure;
      return;
    }
    const decoder = new TextDecoder();
    let buffered = "";
    for (;;) {
      resetIdle();
      const { done, value } = await reader.read();
      // An unterminated last line is a cut-off event: the caller re-watches from the last resourceVersion.
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) yield parseEvent<T>(line, init.path);
      }
    }
  } catch (err) {
    if (idleFailure) throw idleFailure;
    if (init.signal.aborted) return;
    throw err;
  } finally {
    clearTimeout(idleTimer);
    init.signal.removeEventListener("abort", onAbort);
    controller.abort();
    await reader?.cancel().catch(() => {});
  }
  if (idleFailure) throw idleFailure;
}

function parseEvent<T>(line: string, path: string): WatchEvent<T> {
  let event: { type?: string; object?: unknown };
  try {
    event = JSON.parse(line);
  } catch (err) {
    throw new Error(`Watch of "${path}" sent a line that is not JSON: ${line.slice(0, 100)}`, { cause: err });
  }
  if (event.type === "ERROR") {
    const status = (event.object ?? {}) as { code?: number };
    throw kubeApiErrorFromResponse(status.code ?? 500, event.object);
  }
  if (
    event.type !== "ADDED" && event.type !== "MODIFIED" && event.type !== "DELETED" &&
    event.type !== "BOOKMARK"
  ) {
    throw new Error(`Watch of "${path}" sent an unknown event type "${event.type}"`);
  }
  return { type: event.type, object: event.object as T };
}
