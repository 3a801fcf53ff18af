/**
 * The import graph as `deno info` sees it: what `ccm run` loads, and the layering rules that keep the folders
 * independent (no cycles between files or sibling folders; metal/ sees the framework only through its
 * `mod.ts` files; util/ and fake_api/ stand alone). The graph is what `ccm` ships (main.ts, which reaches the
 * simulator through dynamic imports) plus the framework's test fakes; tests themselves may import across layers.
 */
import assert from "node:assert/strict";

/** File → the files it imports (static and dynamic, code and types), as repo-relative paths. */
type ImportGraph = Map<string, { path: string; dynamic: boolean }[]>;

const ROOT = new URL("./", import.meta.url).href;

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; type?: { specifier: string }; isDynamic?: boolean }[];
}

/** Every module `deno info` lists for `entry`, npm packages included. */
async function denoInfo(entry: string): Promise<InfoModule[]> {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(entry, ROOT).href],
    stderr: "inherit",
  }).output();
  assert.ok(info.success, `deno info ${entry}`);
  return (JSON.parse(new TextDecoder().decode(info.stdout)) as { modules: InfoModule[] }).modules;
}

/** The repo's own modules of `modules` and their imports of each other. */
function importGraph(modules: readonly InfoModule[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const module of modules) {
    if (!module.specifier.startsWith(ROOT)) continue;
    const deps = (module.dependencies ?? []).flatMap((dep) =>
      [dep.code?.specifier, dep.type?.specifier]
        .filter((s): s is string => s !== undefined && s.startsWith(ROOT))
        .map((s) => ({ path: s.slice(ROOT.length), dynamic: dep.isDynamic === true }))
    );
    graph.set(module.specifier.slice(ROOT.length), deps);
  }
  return graph;
}

/** Strongly connected components with more than one member (Tarjan). */
function cycles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return found;
}

const dirOf = (path: string) => path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";

/** Every broken layering rule, as a sentence naming the files. */
export function layeringViolations(graph: ImportGraph): string[] {
  const problems: string[] = [];
  const fileEdges = new Map<string, Set<string>>();
  for (const [file, deps] of graph) fileEdges.set(file, new Set(deps.map((d) => d.path)));
  for (const cycle of cycles(fileEdges)) problems.push(`file cycle: ${cycle.join(" ↔ ")}`);

  // Sibling folders: for every folder, map each import between two of its subtrees to an edge between them.
  const siblingEdges = new Map<string, Map<string, Set<string>>>();
  for (const [file, deps] of graph) {
    for (const { path } of deps) {
      const from = dirOf(file).split("/");
      const to = dirOf(path).split("/");
      let common = 0;
      while (common < from.length && common < to.length && from[common] === to[common]) common++;
      if (common >= from.length || common >= to.length) continue; // same folder, or parent ↔ child
      const parent = from.slice(0, common).join("/");
      const edges = siblingEdges.get(parent) ?? new Map<string, Set<string>>();
      siblingEdges.set(parent, edges);
      const a = from.slice(0, common + 1).join("/");
      const b = to.slice(0, common + 1).join("/");
      edges.set(a, (edges.get(a) ?? new Set()).add(b));
    }
  }
  for (const edges of siblingEdges.values()) {
    for (const cycle of cycles(edges)) problems.push(`folder cycle: ${cycle.join(" ↔ ")}`);
  }

  const frameworkSurface = ["provider/mod.ts", "provider/kube/mod.ts", "provider/testing/mod.ts"];
  for (const [file, deps] of graph) {
    for (const { path } of deps) {
      if (file.startsWith("metal/") && path.startsWith("provider/") && !frameworkSurface.includes(path)) {
        problems.push(
          `${file} imports ${path}: metal/ uses the framework through ${frameworkSurface.join(", ")}`,
        );
      }
      if (file.startsWith("provider/") && frameworkSurface.includes(path)) {
        problems.push(`${file} imports ${path}: files in provider/ import each other directly`);
      }
      if (file.startsWith("util/") && !path.startsWith("util/")) {
        problems.push(`${file} imports ${path}: util/ depends on nothing else in the repo`);
      }
      if (file.startsWith("fake_api/") && /^(provider|metal)\//.test(path)) {
        problems.push(`${file} imports ${path}: the simulator does not depend on the CCM`);
      }
    }
  }
  return problems;
}

Deno.test("layeringViolations() finds file and sibling-folder cycles and imports past a mod.ts", () => {
  const graph: ImportGraph = new Map([
    ["a/x.ts", [{ path: "a/y.ts", dynamic: false }]],
    ["a/y.ts", [{ path: "a/x.ts", dynamic: false }]],
    ["metal/bgp/p.ts", [{ path: "metal/lb/q.ts", dynamic: false }]],
    ["metal/lb/q.ts", [{ path: "metal/bgp/r.ts", dynamic: false }, { path: "metal/mod.ts", dynamic: false }]],
    ["metal/lb/sub/s.ts", [{ path: "metal/lb/q.ts", dynamic: false }, {
      path: "provider/kube/api.ts",
      dynamic: false,
    }]],
    ["util/u.ts", [{ path: "provider/mod.ts", dynamic: false }]],
  ]);
  assert.deepEqual(layeringViolations(graph), [
    "file cycle: a/x.ts ↔ a/y.ts",
    "folder cycle: metal/bgp ↔ metal/lb",
    "metal/lb/sub/s.ts imports provider/kube/api.ts: metal/ uses the framework through provider/mod.ts, " +
    "provider/kube/mod.ts, provider/testing/mod.ts",
    "util/u.ts imports provider/mod.ts: util/ depends on nothing else in the repo",
  ]);
});

Deno.test("the import graph has no cycles, and metal/, util/ and fake_api/ keep to their layers", async () => {
  const graph = importGraph([...await denoInfo("main.ts"), ...await denoInfo("provider/testing/mod.ts")]);
  assert.deepEqual(layeringViolations(graph), []);
});

Deno.test("`ccm run` loads neither the simulator nor the official Kubernetes client (type imports only)", async () => {
  const modules = await denoInfo("main.ts");
  const graph = importGraph(modules);
  const bySpecifier = new Map(modules.map((m) => [m.specifier, m]));
  const loaded = new Set<string>();
  const visit = (specifier: string) => {
    if (loaded.has(specifier)) return;
    loaded.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) visit(dep.code.specifier);
    }
  };
  visit(`${ROOT}main.ts`);
  const simulator = [...loaded].filter((s) => s.startsWith(`${ROOT}fake_api/`)).map((s) =>
    s.slice(`${ROOT}fake_api/`.length)
  );
  assert.deepEqual(
    simulator,
    ["command.ts"],
    "main.ts reaches fake_api/ only through command.ts's dynamic imports",
  );
  assert.ok(
    graph.get("fake_api/command.ts")?.some((d) => d.dynamic),
    "command.ts imports the simulator lazily",
  );
  // ~45 MB of memory to load (bench/RESULTS.md, memory): provider/kube/ has its own client.
  assert.deepEqual([...loaded].filter((s) => s.includes("@kubernetes/client-node")), []);
  // Only needed without --tls-cert-file (provider/server.ts imports it then).
  assert.deepEqual([...loaded].filter((s) => s.includes("selfsigned")), []);
  assert.ok(loaded.has(`${ROOT}metal/mod.ts`), "the walk follows static imports");
});

Deno.test("every mod.ts only re-exports its folder's public surface (metal/mod.ts also registers the provider)", async () => {
  const list = await new Deno.Command("git", { args: ["ls-files", "*mod.ts"], cwd: new URL(ROOT).pathname })
    .output();
  const files = new TextDecoder().decode(list.stdout).split("\n").filter((f) => f.endsWith("/mod.ts"));
  assert.ok(files.includes("provider/mod.ts") && files.includes("metal/mod.ts"), `found ${files.join(", ")}`);
  for (const file of files) {
    const code = (await Deno.readTextFile(new URL(file, ROOT)))
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    // Statements end at ";" (deno fmt writes them), so a multi-line export is one statement.
    const statements = code.split(";").map((s) => s.trim()).filter((s) => s !== "");
    for (const statement of statements) {
      const allowed = /^export (type )?(\*|\{[^}]*\}) from "\.\/[^"]+"$/.test(statement) ||
        (file === "metal/mod.ts" &&
          (/^import \{[^}]*\} from "[^"]+"$/.test(statement) ||
            statement === "registerCloudProvider(PROVIDER_NAME, createMetalCloud)"));
      assert.ok(allowed, `${file}: only re-exports belong in a mod.ts, found: ${statement.slice(0, 80)}`);
    }
  }
});
