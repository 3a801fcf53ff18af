/**
 * Results of a reliability scenario: printed as one `RELIABILITY <scenario> <json>` line, and appended as JSON
 * lines to the file named by `CCM_RELIABILITY_REPORT` (how test/RELIABILITY.md's numbers are collected).
 *
 * @module
 */

/** Prints (and records) the numbers of one scenario run. */
export function report(scenario: string, results: Record<string, unknown>): void {
  const line = JSON.stringify({ scenario, ...results });
  // deno-lint-ignore no-console
  console.log(`RELIABILITY ${line}`);
  const path = Deno.env.get("CCM_RELIABILITY_REPORT");
  if (path) Deno.writeTextFileSync(path, `${line}\n`, { append: true });
}
