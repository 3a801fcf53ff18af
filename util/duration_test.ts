import { equal, throws } from "node:assert/strict";
import { formatDuration, parseDuration } from "./duration.ts";
import { errorMessage } from "./errors.ts";

const VALID: [string, number][] = [
  ["0", 0],
  ["-0", 0],
  ["+0", 0],
  ["0s", 0],
  ["15s", 15_000],
  ["1m30s", 90_000],
  ["300ms", 300],
  ["1.5h", 5_400_000],
  ["2h45m", 9_900_000],
  [".5s", 500],
  ["5.s", 5_000],
  ["-1.5s", -1_500],
  ["+10s", 10_000],
  ["1500us", 1.5],
  ["1500µs", 1.5],
  ["1500μs", 1.5],
  ["2000000ns", 2],
  ["1h1m1s1ms", 3_661_001],
  ["12h", 43_200_000],
  ["0.1s", 100],
  ["0.3s", 300],
];

for (const [text, ms] of VALID) {
  Deno.test(`parseDuration() parses '${text}' as ${ms} ms`, () => {
    equal(parseDuration(text), ms);
  });
}

const INVALID: [string, RegExp][] = [
  ["", /it is empty/],
  ["-", /it is empty/],
  ["15", /expected a number followed by a unit/],
  ["00", /expected a number followed by a unit/],
  ["s", /expected a number before the unit/],
  [".s", /expected a number before the unit/],
  ["1d", /unknown unit 'd'/],
  ["1h-2m", /unknown unit 'h-'/],
  ["1 s", /unknown unit ' s'/],
  ["abc", /expected a number before the unit/],
  ["1.2.3s", /expected a number followed by a unit/],
];

for (const [text, message] of INVALID) {
  Deno.test(`parseDuration() rejects '${text}' with a message quoting it`, () => {
    throws(() => parseDuration(text), (err: unknown) => {
      equal(err instanceof SyntaxError, true);
      const msg = errorMessage(err);
      equal(msg.includes(`'${text}'`), true, msg);
      equal(message.test(msg), true, msg);
      equal(msg.includes("'1m30s'"), true, "the message shows valid examples");
      return true;
    });
  });
}

Deno.test("parseDuration() rejects durations beyond Go's int64 nanoseconds", () => {
  throws(() => parseDuration("3000000h"), RangeError);
  equal(parseDuration("2000000h"), 2_000_000 * 3_600_000);
});

const FORMATTED: [number, string][] = [
  [0, "0s"],
  [15_000, "15s"],
  [2_000, "2s"],
  [90_000, "1m30s"],
  [300_000, "5m0s"],
  [43_200_000, "12h0m0s"],
  [1_500, "1.5s"],
  [300, "300ms"],
  [1.5, "1.5ms"],
  [0.002, "2µs"],
  [0.000_5, "500ns"],
  [-2_000, "-2s"],
];

for (const [ms, text] of FORMATTED) {
  Deno.test(`formatDuration() formats ${ms} ms as '${text}' like Go`, () => {
    equal(formatDuration(ms), text);
  });
}

Deno.test("formatDuration() output parses back to the same value", () => {
  for (const [ms] of FORMATTED) equal(parseDuration(formatDuration(ms)), ms);
});
