import assert from "node:assert/strict";
import { smapsBreakdown } from "./smaps.ts";

const SMAPS = `55d0c0000000-55d0c4000000 r-xp 00000000 08:01 123 /opt/deno/deno
Rss:               40000 kB
Shared_Dirty:          0 kB
Private_Dirty:         0 kB
55d0c4000000-55d0c4100000 rw-p 04000000 08:01 123 /opt/deno/deno
Rss:                1024 kB
Private_Dirty:      1024 kB
7f0000000000-7f0000100000 r--p 00000000 08:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                 800 kB
Private_Dirty:         4 kB
55d0c5000000-55d0c6000000 rw-p 00000000 00:00 0                          [heap]
Rss:                9000 kB
Private_Dirty:      9000 kB
7f1000000000-7f1010000000 rw-p 00000000 00:00 0
Rss:               30000 kB
Shared_Dirty:         10 kB
Private_Dirty:     29990 kB
`;

Deno.test("smapsBreakdown() splits resident memory into the executable, other files and anonymous", () => {
  assert.deepEqual(smapsBreakdown(SMAPS, "/opt/deno/deno"), {
    executable: { rssKb: 41024, dirtyKb: 1024 },
    files: { rssKb: 800, dirtyKb: 4 },
    anonymous: { rssKb: 39000, dirtyKb: 39000 },
    totalKb: 80824,
  });
});
