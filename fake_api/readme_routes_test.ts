/** fake_api/README.md's Routes table lists exactly the API routes the app serves (admin API and console aside). */
import assert from "node:assert/strict";
import { createFakeApi } from "./app.ts";

/** `METHOD /path` for every API route of the app, path parameters written `{name}`. */
async function servedRoutes(): Promise<string[]> {
  const api = await createFakeApi();
  const routes = api.app.routes
    .filter((r) => r.method !== "ALL" && !r.path.startsWith("/_fake") && !r.path.startsWith("/console"))
    .map((r) =>
      `${r.method} ${r.path.replace(/:(\w+)/g, (_m, name) => `{${name === "projectID" ? "id" : name}}`)}`
    );
  return [...new Set(routes)].sort();
}

/** The same from the README: rows `| GET, POST | \`/path\` | notes |` of the section headed `## Routes`. */
async function documentedRoutes(): Promise<string[]> {
  const text = await Deno.readTextFile(new URL("./README.md", import.meta.url));
  const section = text.split(/^## /m).find((s) => s.startsWith("Routes\n"));
  assert.ok(section, "fake_api/README.md has a '## Routes' section");
  const routes: string[] = [];
  for (const m of section.matchAll(/^\|\s*([A-Z, ]+?)\s*\|\s*`([^`]+)`\s*\|/gm)) {
    for (const method of m[1]!.split(",")) routes.push(`${method.trim()} ${m[2]}`);
  }
  return routes.sort();
}

Deno.test("fake_api/README.md lists every route the simulator serves, and no other", async () => {
  const served = await servedRoutes();
  const documented = await documentedRoutes();
  assert.ok(served.length > 40, `the app serves ${served.length} routes`);
  assert.deepEqual(
    documented.filter((r) => !served.includes(r)),
    [],
    "documented but not served (remove from the README)",
  );
  assert.deepEqual(
    served.filter((r) => !documented.includes(r)),
    [],
    "served but not documented (add to the README's Routes table)",
  );
});
