/**
 * A headless Chromium driven over the DevTools protocol (Deno's built-in WebSocket), for browser tests of the
 * simulator console. The browser is env `CHROMIUM_BIN` (what `test/install_chromium.sh` prints), else
 * `/usr/bin/chromium`; when it cannot start, {@linkcode launchChromium} throws — browser tests fail, they never
 * skip.
 *
 * @module
 */
import { ManagedProcess } from "./process.ts";

/** Something the page reported as an error: a console.error/assert, an uncaught exception or a log entry. */
export interface PageProblem {
  kind: string;
  text: string;
}

interface Pending {
  resolve(value: Record<string, unknown>): void;
  reject(err: Error): void;
  method: string;
}

/** One page (target) of a running Chromium. */
export class ChromiumPage {
  /** Errors the page reported since it was opened. */
  readonly problems: PageProblem[] = [];
  #ws: WebSocket;
  #sessionId = "";
  #nextId = 1;
  #pending = new Map<number, Pending>();

  constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener("message", (e) => this.#onMessage(JSON.parse(String(e.data))));
  }

  // deno-lint-ignore no-explicit-any
  #onMessage(msg: any): void {
    if (msg.id !== undefined) {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`DevTools ${p.method}: ${msg.error.message}`));
      else p.resolve(msg.result ?? {});
      return;
    }
    if (msg.sessionId !== this.#sessionId) return;
    const params = msg.params ?? {};
    if (msg.method === "Runtime.consoleAPICalled" && (params.type === "error" || params.type === "assert")) {
      // deno-lint-ignore no-explicit-any
      const text = (params.args ?? []).map((a: any) => a.value ?? a.description ?? "").join(" ");
      this.problems.push({ kind: `console.${params.type}`, text });
    } else if (msg.method === "Runtime.exceptionThrown") {
      const d = params.exceptionDetails ?? {};
      this.problems.push({ kind: "exception", text: d.exception?.description ?? d.text ?? "exception" });
    } else if (msg.method === "Log.entryAdded" && params.entry?.level === "error") {
      this.problems.push({
        kind: `log.${params.entry.source}`,
        text: `${params.entry.text} ${params.entry.url ?? ""}`,
      });
    }
  }

  /** Sends a DevTools command (to this page's session unless `browser`) and resolves with its result. */
  // deno-lint-ignore no-explicit-any
  send(method: string, params: Record<string, unknown> = {}, browser = false): Promise<any> {
    const id = this.#nextId++;
    const msg: Record<string, unknown> = { id, method, params };
    if (!browser) msg.sessionId = this.#sessionId;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, method });
      this.#ws.send(JSON.stringify(msg));
    });
  }

  /** Opens a new tab and attaches to it with the Runtime, Page and Log domains enabled. */
  async attach(width: number, height: number): Promise<void> {
    const { targetId } = await this.send("Target.createTarget", { url: "about:blank" }, true);
    const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true }, true);
    this.#sessionId = sessionId;
    await Promise.all([this.send("Runtime.enable"), this.send("Page.enable"), this.send("Log.enable")]);
    await this.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
  }

  /** Navigates and resolves when the navigation is committed (not when the page is ready). */
  async goto(url: string): Promise<void> {
    const res = await this.send("Page.navigate", { url });
    if (res.errorText) throw new Error(`Chromium could not open ${url}: ${res.errorText}`);
  }

  /** Evaluates `expression` in the page (awaiting promises) and returns its JSON value; page errors throw. */
  // deno-lint-ignore no-explicit-any
  async eval(expression: string): Promise<any> {
    const res = await this.send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
    if (res.exceptionDetails) {
      const d = res.exceptionDetails;
      throw new Error(`in the page: ${d.exception?.description ?? d.text}\n  evaluating: ${expression}`);
    }
    return res.result?.value;
  }

  /** Polls `expression` until it is truthy; returns its value, or throws after `timeoutMs`. */
  // deno-lint-ignore no-explicit-any
  async waitFor(expression: string, timeoutMs = 5000, what = expression): Promise<any> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      let value: unknown;
      try {
        value = await this.eval(expression);
      } catch {
        value = undefined; // e.g. while the page navigates
      }
      if (value) return value;
      if (performance.now() > deadline) {
        throw new Error(`page: ${what} did not happen within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** A PNG of the viewport. */
  async screenshot(): Promise<Uint8Array> {
    const { data } = await this.send("Page.captureScreenshot", { format: "png" });
    return Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  }
}

/** A running Chromium with one page. */
export interface Chromium extends AsyncDisposable {
  page: ChromiumPage;
  close(): Promise<void>;
}

/** The browser binary: env `CHROMIUM_BIN`, else `/usr/bin/chromium`. */
export function chromiumBin(): string {
  return Deno.env.get("CHROMIUM_BIN") || "/usr/bin/chromium";
}

/** Starts headless Chromium with a fresh profile in `dir` and opens a page; throws when it cannot start. */
export async function launchChromium(
  dir: string,
  options: { width?: number; height?: number; timeoutMs?: number; bin?: string } = {},
): Promise<Chromium> {
  const bin = options.bin ?? chromiumBin();
  const profile = `${dir}/chromium-profile`;
  await Deno.mkdir(profile, { recursive: true });
  const proc = await ManagedProcess.start({
    name: "chromium",
    bin,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-extensions",
      "--disable-background-networking",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      "about:blank",
    ],
    env: { HOME: dir, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    clearEnv: true,
    logPath: `${dir}/chromium.log`,
  });
  const deadline = performance.now() + (options.timeoutMs ?? 30_000);
  let endpoint: string | undefined;
  while (endpoint === undefined) {
    try {
      const [port, path] = (await Deno.readTextFile(`${profile}/DevToolsActivePort`)).split("\n");
      if (port && path) endpoint = `ws://127.0.0.1:${port}${path}`;
    } catch {
      // not written yet
    }
    if (endpoint) break;
    if (proc.hasExited || performance.now() > deadline) {
      await proc.kill("SIGKILL");
      const log = await Deno.readTextFile(`${dir}/chromium.log`).catch(() => "");
      throw new Error(
        `Chromium (${bin}) did not start${proc.hasExited ? " (it exited)" : " within the time limit"}; ` +
          `install it with test/install_chromium.sh or set CHROMIUM_BIN. Its log:\n${log.slice(-3000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const ws = new WebSocket(endpoint);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error(`cannot connect to Chromium at ${endpoint}`)), {
      once: true,
    });
  });
  const page = new ChromiumPage(ws);
  const close = async () => {
    await Promise.race([page.send("Browser.close", {}, true).catch(() => {}), proc.exited]);
    ws.close();
    await proc.stop(5000);
  };
  try {
    await page.attach(options.width ?? 1280, options.height ?? 800);
  } catch (err) {
    await close();
    throw err;
  }
  return { page, close, [Symbol.asyncDispose]: close };
}
