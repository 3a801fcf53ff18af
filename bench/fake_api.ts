/**
 * Benchmark of the simulated Metal API (`ccm fake-api`) with a large fleet: device GET and device list
 * (`per_page=1000`) throughput and latency against a real served process. Prints a table and appends it to
 * bench/RESULTS.md (fake-api section) with the command, commit and machine. Not a test: numbers vary by machine.
 *
 * Usage: deno run --allow-all bench/fake_api.ts [--devices 10000] [--seconds 5] [--concurrency 32] [--no-record]
 *
 * When `taskset` exists the server is pinned to CPU 0 and this load generator to CPU 1, so the server gets one
 * core to itself.
 *
 * @module
 */
import { Command } from "commander";

const ROOT = new URL("..", import.meta.url).pathname;
const PROJECT_ID = "b3e0c9a4-0000-4000-8000-000000000001";
const API_KEY = "bench-api-key-0001";

interface Options {
  devices: number;
  seconds: number;
  concurrency: number;
  record: boolean;
}

interface Result {
  name: string;
  requests: number;
  errors: number;
  seconds: number;
  latencies: number[];
  bytes: number;
}

const encoder = new TextEncoder();
function write(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}

async function hasTaskset(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("taskset", { args: ["-V"], stdout: "null", stderr: "null" })
      .output();
    return success;
  } catch {
    return false;
  }
}

async function startServer(
  seedPath: string,
  pin: boolean,
): Promise<{ child: Deno.ChildProcess; baseUrl: string }> {
  const deno = [
    Deno.execPath(),
    "run",
    "--allow-all",
    `${ROOT}main.ts`,
    "fake-api",
    "--listen",
    "127.0.0.1:0",
  ];
  const args = [...deno, "--seed", seedPath];
  const cmd = pin ? ["taskset", "-c", "0", ...args] : args;
  const child = new Deno.Command(cmd[0]!, { args: cmd.slice(1), stdout: "piped", stderr: "inherit" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!/METAL_BASE_URL=(\S+)/.test(out)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`fake-api exited before it was ready: ${out}`);
    out += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return { child, baseUrl: /METAL_BASE_URL=(\S+)/.exec(out)![1]! };
}

/**
 * One keep-alive HTTP/1.1 connection sending a request at a time. The load generator uses raw sockets because
 * `fetch` itself tops out at a few thousand requests per second on one core, below what the server sustains.
 */
class Connection {
  #conn: Deno.TcpConn;
  #buf = new Uint8Array(1 << 16);
  #len = 0;
  #decoder = new TextDecoder();

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async open(url: URL): Promise<Connection> {
    return new Connection(await Deno.connect({ hostname: url.hostname, port: Number(url.port) }));
  }

  /** Sends a GET and returns status and body size. */
  async get(path: string, headers: string): Promise<{ status: number; bytes: number }> {
    await this.#conn.write(encoder.encode(`GET ${path} HTTP/1.1\r\nHost: bench\r\n${headers}\r\n`));
    let end = -1;
    for (let from = 3; end < 0; from = Math.max(3, this.#len)) {
      if (from >= this.#len) await this.#fill();
      for (let i = from; i < this.#len; i++) {
        if (
          this.#buf[i] === 10 && this.#buf[i - 1] === 13 && this.#buf[i - 2] === 10 && this.#buf[i - 3] === 13
        ) {
          end = i + 1;
          break;
        }
      }
    }
    const head = this.#decoder.decode(this.#buf.subarray(0, end));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) throw new Error(`Response without Content-Length: ${head}`);
    const total = end + Number(length[1]);
    while (this.#len < total) await this.#fill();
    this.#buf.copyWithin(0, total, this.#len);
    this.#len -= total;
    return { status: Number(head.slice(9, 12)), bytes: total - end };
  }

  close(): void {
    this.#conn.close();
  }

  async #fill(): Promise<void> {
    if (this.#len === this.#buf.length) {
      const bigger = new Uint8Array(this.#buf.length * 2);
      bigger.set(this.#buf);
      this.#buf = bigger;
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#len));
    if (n === null) throw new Error("Connection closed by the server");
    this.#len += n;
  }
}

async function load(
  name: string,
  options: { baseUrl: string; seconds: number; concurrency: number; next: (i: number) => string },
): Promise<Result> {
  const url = new URL(options.baseUrl);
  const headers = `X-Auth-Token: ${API_KEY}\r\n`;
  const latencies: number[] = [];
  let errors = 0;
  let bytes = 0;
  let counter = 0;
  const start = performance.now();
  const deadline = start + options.seconds * 1000;
  const worker = async () => {
    const conn = await Connection.open(url);
    try {
      while (performance.now() < deadline) {
        const path = `${url.pathname}${options.next(counter++)}`;
        const t0 = performance.now();
        const res = await conn.get(path, headers);
        if (res.status !== 200) errors++;
        bytes += res.bytes;
        latencies.push(performance.now() - t0);
      }
    } finally {
      conn.close();
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return {
    name,
    requests: latencies.length,
    errors,
    seconds: (performance.now() - start) / 1000,
    latencies,
    bytes,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

function row(r: Result): string[] {
  const sorted = [...r.latencies].sort((a, b) => a - b);
  return [
    r.name,
    String(r.requests),
    (r.requests / r.seconds).toFixed(0),
    percentile(sorted, 0.5).toFixed(2),
    percentile(sorted, 0.99).toFixed(2),
    (r.bytes / r.requests / 1024).toFixed(1),
    String(r.errors),
  ];
}

function table(rows: string[][]): string {
  const header = ["operation", "requests", "req/s", "p50 ms", "p99 ms", "KiB/resp", "errors"];
  const lines = [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`);
  return lines.join("\n") + "\n";
}

async function loadAverage(): Promise<string> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return text.split(" ")[0] || "unknown";
}

async function machine(): Promise<string> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown CPU";
  return `${model}, ${navigator.hardwareConcurrency} CPUs, ${Deno.build.os}/${Deno.build.arch}, Deno ${Deno.version.deno}`;
}

async function commit(): Promise<string> {
  try {
    const out = await new Deno.Command("git", { args: ["rev-parse", "--short", "HEAD"], cwd: ROOT }).output();
    const dirty = await new Deno.Command("git", {
      args: ["status", "--porcelain", "--", "fake_api", "bench/fake_api.ts"],
      cwd: ROOT,
    })
      .output();
    const suffix = new TextDecoder().decode(dirty.stdout).trim() === ""
      ? ""
      : " (with uncommitted fake_api/bench changes)";
    return new TextDecoder().decode(out.stdout).trim() + suffix;
  } catch {
    return "unknown";
  }
}

/** Inserts `entry` at the end of the "## fake-api" section of RESULTS.md (creating file or section). */
async function record(entry: string): Promise<void> {
  const path = `${ROOT}bench/RESULTS.md`;
  let text = await Deno.readTextFile(path).catch(() =>
    "# Benchmark results\n\nAppended by the scripts in bench/.\n"
  );
  const heading = "## fake-api";
  if (!text.includes(`\n${heading}\n`)) text = `${text.trimEnd()}\n\n${heading}\n\n`;
  const start = text.indexOf(`\n${heading}\n`) + heading.length + 2;
  const next = text.indexOf("\n## ", start);
  const end = next < 0 ? text.length : next + 1;
  const section = text.slice(start, end).trimEnd();
  const before = section === "" ? "\n" : `${section}\n\n`;
  text = `${text.slice(0, start)}${before}${entry.trimEnd()}\n${next < 0 ? "" : "\n"}${text.slice(end)}`;
  await Deno.writeTextFile(path, text);
}

async function run(options: Options): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fake-api-bench-" });
  const ids = Array.from({ length: options.devices }, () => crypto.randomUUID());
  const seed = {
    projects: [{ id: PROJECT_ID, name: "bench" }],
    "api_keys": [{ token: API_KEY }],
    devices: ids.map((id, i) => ({
      project_id: PROJECT_ID,
      id,
      hostname: `node-${String(i).padStart(5, "0")}`,
    })),
  };
  await Deno.writeTextFile(`${dir}/seed.json`, JSON.stringify(seed));
  const pin = await hasTaskset();
  if (pin) {
    await new Deno.Command("taskset", { args: ["-cp", "1", String(Deno.pid)], stdout: "null" }).output();
  }
  const t0 = performance.now();
  const { child, baseUrl } = await startServer(`${dir}/seed.json`, pin);
  const startup = (performance.now() - t0) / 1000;
  try {
    const pages = Math.ceil(options.devices / 1000);
    const get = (i: number) => `/devices/${ids[(i * 7919) % ids.length]}`;
    const list = (i: number) => `/projects/${PROJECT_ID}/devices?per_page=1000&page=${(i % pages) + 1}`;
    await load("warm-up", { baseUrl, seconds: 2, concurrency: options.concurrency, next: get });
    const results = [
      await load("GET /devices/{id}", {
        baseUrl,
        seconds: options.seconds,
        concurrency: options.concurrency,
        next: get,
      }),
      await load("GET /projects/{id}/devices?per_page=1000", {
        baseUrl,
        seconds: options.seconds,
        concurrency: Math.min(4, options.concurrency),
        next: list,
      }),
    ];
    const command =
      `deno run --allow-all bench/fake_api.ts --devices ${options.devices} --seconds ${options.seconds} ` +
      `--concurrency ${options.concurrency}`;
    const report = [
      `### ${new Date().toISOString().slice(0, 19)}Z — ${options.devices} devices`,
      "",
      `- Command: \`${command}\``,
      `- Commit: ${await commit()}`,
      `- Machine: ${await machine()}`,
      `- Setup: server ${
        pin ? "pinned to CPU 0, load generator to CPU 1 (taskset)" : "not pinned (no taskset)"
      }; ` +
      `keep-alive HTTP/1.1 connections, ${options.concurrency} concurrent GETs, ${
        Math.min(4, options.concurrency)
      } concurrent lists; ` +
      `server start-up with the seed took ${startup.toFixed(1)} s`,
      `- Load: 1-minute load average ${await loadAverage()} when the run ended (the machine is shared; busy ` +
      "neighbours lower the numbers)",
      "",
      table(results.map(row)),
    ].join("\n");
    write(`\n${report}\n`);
    if (options.record) {
      await record(report);
      write("Appended to bench/RESULTS.md\n");
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const program = new Command("fake_api")
    .option("--devices <n>", "devices in the seeded project", "10000")
    .option("--seconds <n>", "duration of each measurement", "5")
    .option("--concurrency <n>", "concurrent device GETs", "32")
    .option("--no-record", "do not append to bench/RESULTS.md")
    .parse(Deno.args, { from: "user" });
  const o = program.opts();
  await run({
    devices: Number(o.devices),
    seconds: Number(o.seconds),
    concurrency: Number(o.concurrency),
    record: o.record,
  });
}
