/**
 * Runs the framework (`runFramework`, as `ccm run` does) in this process against a test cluster, with a
 * {@linkcode FakeProvider} behind the provider interfaces.
 *
 * @module
 */
import type { JsonEvent } from "../provider/kube/json_types.ts";
import { runFramework } from "../provider/app.ts";
import { parseRunFlags } from "../provider/flags.ts";
import { FakeProvider } from "../provider/testing/fake_provider.ts";
import type { TestCluster } from "./harness/mod.ts";

/** A running in-process controller manager. */
export interface InProcessCcm extends AsyncDisposable {
  provider: FakeProvider;
  /** Settles when the framework stops. */
  done: Promise<void>;
  /** Graceful stop (as SIGTERM); resolves when stopped. */
  stop(): Promise<void>;
}

/**
 * Starts the controllers against `cluster` with `--leader-elect=false --secure-port=0` plus `args`.
 *
 * @example
 * ```ts
 * await using ccm = startInProcessCcm(cluster, { args: ["--node-monitor-period=1s"] });
 * ccm.provider.setInstance("n1", { region: "da" });
 * ```
 */
export function startInProcessCcm(
  cluster: TestCluster,
  options: { args?: string[]; provider?: FakeProvider } = {},
): InProcessCcm {
  const provider = options.provider ?? new FakeProvider();
  const abort = new AbortController();
  const done = runFramework({
    provider,
    options: parseRunFlags([
      `--kubeconfig=${cluster.kubeconfigPath}`,
      "--cloud-provider=fake",
      "--leader-elect=false",
      "--secure-port=0",
      ...(options.args ?? []),
    ]),
    signal: abort.signal,
  });
  done.catch(() => {}); // observed through `done`/`stop()`
  const stop = async () => {
    abort.abort(new Error("test stop"));
    await done;
  };
  return { provider, done, stop, [Symbol.asyncDispose]: stop };
}

/** Events about one object (`name` for Nodes, `namespace/name` for Services), oldest first. */
export async function eventsFor(
  cluster: TestCluster,
  kind: "Node" | "Service",
  key: string,
): Promise<JsonEvent[]> {
  const [namespace, name] = kind === "Node" ? ["default", key] : key.split("/") as [string, string];
  const list = await cluster.clients.core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}`,
  });
  return list.items.sort((a, b) =>
    new Date(a.firstTimestamp!).getTime() - new Date(b.firstTimestamp!).getTime()
  );
}
