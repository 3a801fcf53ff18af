/**
 * The durable state file: whole-state JSON snapshots written atomically (temp file, fsync, rename, directory
 * fsync), so a reader or a restart after SIGKILL sees either the previous or the new state, never a torn one.
 *
 * @module
 */
import type { Snapshot } from "./model.ts";
import { errorMessage } from "../util/errors.ts";

const encoder = new TextEncoder();

/** Reads and atomically replaces one state file. */
export class StateFile {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** The saved snapshot, or `undefined` when the file does not exist yet. */
  async read(): Promise<Snapshot | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw new Error(`Cannot read state file '${this.path}': ${errorMessage(err)}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(
        `Cannot load state file '${this.path}': it is not valid JSON (${errorMessage(err)}); ` +
          "fix it or delete it to start empty",
        { cause: err },
      );
    }
    if (typeof parsed !== "object" || parsed === null || (parsed as { version?: unknown }).version !== 1) {
      throw new Error(
        `Cannot load state file '${this.path}': expected a fake-api state object with "version": 1; ` +
          "delete it to start empty",
      );
    }
    return parsed as Snapshot;
  }

  /** Writes `snapshot` durably; resolves only once the new content is on disk under the final name. */
  async write(snapshot: Snapshot): Promise<void> {
    const tmp = `${this.path}.${Deno.pid}.tmp`;
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
    try {
      const bytes = encoder.encode(JSON.stringify(snapshot));
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, this.path);
    await syncDirectory(this.path);
  }
}

async function syncDirectory(path: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename itself is still atomic.
  }
}
