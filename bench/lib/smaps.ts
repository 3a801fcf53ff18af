/**
 * What a process's resident memory is made of, from /proc/<pid>/smaps: the executable's own pages, other
 * files, the C heap and anonymous mappings (V8's heap, code space and the allocator's arenas), split into
 * clean (the kernel may drop them) and dirty.
 *
 * @module
 */

/** Resident kilobytes of one kind of mapping. */
export interface SmapsPart {
  rssKb: number;
  /** Dirty pages (private or shared): memory only this process's lifetime frees. */
  dirtyKb: number;
}

/** Resident memory by kind of mapping. */
export interface SmapsBreakdown {
  /** Pages of the executable (`deno`, or the compiled binary) itself: text and data. */
  executable: SmapsPart;
  /** Other file-backed mappings (shared libraries, ICU data, caches). */
  files: SmapsPart;
  /** The C heap (`[heap]`) and anonymous mappings: V8's heap and code, allocator arenas, thread stacks. */
  anonymous: SmapsPart;
  totalKb: number;
}

/** Sums the `Rss` and dirty lines of `smaps` text by mapping kind; `executable` is the path of the binary. */
export function smapsBreakdown(smaps: string, executable: string): SmapsBreakdown {
  const empty = (): SmapsPart => ({ rssKb: 0, dirtyKb: 0 });
  const result: SmapsBreakdown = { executable: empty(), files: empty(), anonymous: empty(), totalKb: 0 };
  let current: SmapsPart = result.anonymous;
  for (const line of smaps.split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const path = header[1]!.trim();
      current = path === executable
        ? result.executable
        : path.startsWith("/") && !path.startsWith("/memfd:")
        ? result.files
        : result.anonymous;
      continue;
    }
    const field = /^(Rss|Shared_Dirty|Private_Dirty):\s+(\d+) kB$/.exec(line);
    if (!field) continue;
    const kb = Number(field[2]);
    if (field[1] === "Rss") {
      current.rssKb += kb;
      result.totalKb += kb;
    } else {
      current.dirtyKb += kb;
    }
  }
  return result;
}

/** {@linkcode smapsBreakdown} of a running process. */
export async function readSmaps(pid: number): Promise<SmapsBreakdown> {
  const executable = await Deno.readLink(`/proc/${pid}/exe`);
  return smapsBreakdown(await Deno.readTextFile(`/proc/${pid}/smaps`), executable);
}
