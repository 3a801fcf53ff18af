/**
 * Controller names and the `--controllers` selection (`*`, `name`, `-name`), with upstream's canonical names
 * and legacy aliases.
 *
 * @module
 */

/** Canonical controller names; permanent identifiers (flags, logs, `/healthz/<name>`). */
export const CLOUD_NODE = "cloud-node-controller";
export const CLOUD_NODE_LIFECYCLE = "cloud-node-lifecycle-controller";
export const SERVICE_LB = "service-lb-controller";
export const NODE_ROUTE = "node-route-controller";

/** Every controller `--controllers=*` enables, in start order. */
export const ALL_CONTROLLERS: readonly string[] = [CLOUD_NODE, CLOUD_NODE_LIFECYCLE, SERVICE_LB, NODE_ROUTE];

const ALIASES: Readonly<Record<string, string>> = {
  "cloud-node": CLOUD_NODE,
  "cloud-node-lifecycle": CLOUD_NODE_LIFECYCLE,
  "service": SERVICE_LB,
  "route": NODE_ROUTE,
};

/** Maps a canonical name or alias to the canonical name; `undefined` when unknown. */
export function canonicalControllerName(name: string): string | undefined {
  if (ALL_CONTROLLERS.includes(name)) return name;
  return ALIASES[name];
}

/**
 * Resolves `--controllers` into the set of enabled canonical names. Rules as upstream: `*` enables every
 * default controller, `name` enables one, `-name` disables one (winning over `*`).
 *
 * @throws {Error} Naming the unknown entry and the valid names.
 * @example
 * ```ts
 * selectControllers(["*", "-route"]); // Set { cloud-node-controller, cloud-node-lifecycle-controller, service-lb-controller }
 * ```
 */
export function selectControllers(entries: readonly string[]): Set<string> {
  const enabled = new Set<string>();
  const disabled = new Set<string>();
  let star = false;
  for (const raw of entries.flatMap((e) => e.split(","))) {
    const entry = raw.trim();
    if (entry === "") continue;
    if (entry === "*") {
      star = true;
      continue;
    }
    const negated = entry.startsWith("-");
    const name = canonicalControllerName(negated ? entry.slice(1) : entry);
    if (name === undefined) {
      const valid = [...ALL_CONTROLLERS, ...Object.keys(ALIASES)].map((n) => `'${n}'`).join(", ");
      throw new Error(
        `Invalid --controllers entry '${entry}': unknown controller; use '*', a name or '-name' with one of ${valid}`,
      );
    }
    (negated ? disabled : enabled).add(name);
  }
  if (star) { for (const name of ALL_CONTROLLERS) enabled.add(name); }
  for (const name of disabled) enabled.delete(name);
  return new Set(ALL_CONTROLLERS.filter((n) => enabled.has(n)));
}
