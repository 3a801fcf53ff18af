/**
 * CR mode's BGPPeer layout against a fake API server whose BGPPeer admission judges like MetalLB ≤ 0.15's
 * webhook in FRR mode (a second peer with one address is denied, with MetalLB's message).
 */
import assert from "node:assert/strict";
import type { KubeClients } from "../../../provider/kube/mod.ts";
import { apiError, RecordingRecorder } from "../../../provider/testing/mod.ts";
import { makeService } from "../../testing.ts";
import { createMetalLBCRImplementation, type MetalLBCRImplementation } from "./cr.ts";
import type { BGPPeer } from "./cr_objects.ts";
import type { MetalLbBgpType } from "./cr_peer_layout.ts";
import { applyOps, bgpNode as node } from "./test_util.ts";

const NS = "metallb-system";

/** Custom objects in memory; BGPPeer creates and patches judged as `webhook` says. */
function fakeKube(webhook: "native" | "frr", peers: BGPPeer[] = []) {
  const store = new Map<string, BGPPeer[]>([["bgppeers", peers]]);
  /** Denials to answer as if from a stale list, before judging for real. */
  const staleDenials = { count: 0 };
  /** Names of peers patched as a dry run (admitted or not). */
  const dryRuns: string[] = [];
  const denial = (address: string) =>
    apiError(
      403,
      `admission webhook "bgppeersvalidationwebhook.metallb.io" denied the request: peer ${address} already ` +
        "exists, FRR mode doesn't support duplicate BGPPeers",
    );
  const judge = (plural: string, after: BGPPeer[], changed: BGPPeer) => {
    if (plural !== "bgppeers" || webhook !== "frr") return;
    if (staleDenials.count > 0) {
      staleDenials.count--;
      throw denial(String(changed.spec?.peerAddress));
    }
    const same = after.filter((p) => p.spec?.peerAddress === changed.spec?.peerAddress);
    if (same.length > 1) throw denial(String(changed.spec?.peerAddress));
  };
  const kube = {
    rest: { get: () => Promise.reject(apiError(404, "not found")) },
    custom: {
      listNamespacedCustomObject: (req: { plural: string; labelSelector?: string }) => {
        const [key, value] = (req.labelSelector ?? "").split("=");
        const items = (store.get(req.plural) ?? []).filter((o) => !key || o.metadata.labels?.[key] === value);
        return Promise.resolve({ items: structuredClone(items) });
      },
      createNamespacedCustomObject: (req: { plural: string; body: BGPPeer }) => {
        const list = store.get(req.plural) ?? [];
        if (list.some((o) => o.metadata.name === req.body.metadata.name)) {
          return Promise.reject(apiError(409, "exists", "AlreadyExists"));
        }
        const after = [...list, structuredClone(req.body)];
        try {
          judge(req.plural, after, req.body);
        } catch (err) {
          return Promise.reject(err);
        }
        store.set(req.plural, after);
        return Promise.resolve(req.body);
      },
      patchNamespacedCustomObject: (
        req: { plural: string; name: string; body: Record<string, unknown>; dryRun?: string },
      ) => {
        const list = store.get(req.plural) ?? [];
        const after = applyOps(list, [{ verb: "patch", kind: "BGPPeer", name: req.name, patch: req.body }]);
        if (req.dryRun === "All") dryRuns.push(req.name);
        try {
          judge(req.plural, after, after.find((o) => o.metadata.name === req.name) as BGPPeer);
        } catch (err) {
          return Promise.reject(err);
        }
        if (req.dryRun !== "All") store.set(req.plural, after);
        return Promise.resolve({});
      },
      getNamespacedCustomObject: (req: { plural: string; name: string }) => {
        const found = (store.get(req.plural) ?? []).find((o) => o.metadata.name === req.name);
        return found ? Promise.resolve(structuredClone(found)) : Promise.reject(apiError(404, "not found"));
      },
      deleteNamespacedCustomObject: (req: { plural: string; name: string }) => {
        store.set(req.plural, (store.get(req.plural) ?? []).filter((o) => o.metadata.name !== req.name));
        return Promise.resolve({});
      },
    },
  } as unknown as KubeClients;
  return { kube, peers: () => store.get("bgppeers") ?? [], staleDenials, dryRuns };
}

function add(impl: MetalLBCRImplementation, service: string, nodes: string[]) {
  return impl.addService({
    service: makeService("default", service),
    ipCidr: "",
    peers: nodes.map((n) => node(n)),
    nodes: nodes.map((name) => ({ metadata: { name } })),
    loadBalancerName: "lb",
  });
}

function setup(webhook: "native" | "frr", bgpType?: MetalLbBgpType, peers: BGPPeer[] = []) {
  const fake = fakeKube(webhook, peers);
  const recorder = new RecordingRecorder();
  const slept: number[] = [];
  const clock = {
    now: () => 0,
    sleep: (ms: number) => {
      slept.push(ms);
      return Promise.resolve();
    },
  };
  const impl = createMetalLBCRImplementation({
    kube: fake.kube,
    namespace: NS,
    recorder,
    clock,
    ...(bgpType ? { bgpType } : {}),
  }) as MetalLBCRImplementation;
  return { ...fake, recorder, impl, slept };
}

const names = (peers: BGPPeer[]) => peers.map((p) => p.metadata.name).sort();

Deno.test("auto (the default): MetalLB's FRR webhook denies a duplicate address → one shared peer per address", async () => {
  const { impl, peers, recorder } = setup("frr");
  await add(impl, "web", ["n1", "n2", "n3"]);
  assert.equal(impl.peerLayout(), "shared");
  assert.deepEqual(names(peers()), ["equinix-metal.169.254.255.1", "equinix-metal.169.254.255.2"]);
  for (const p of peers()) {
    assert.deepEqual(p.spec?.nodeSelectors?.[0], {
      matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n1", "n2", "n3"] }],
    });
  }
  assert.deepEqual(recorder.reasons(), ["MetalLBFRRModeDetected"]);
  assert.match(recorder.events[0]?.message ?? "", /METAL_METALLB_BGP_TYPE/);
  await add(impl, "api", ["n1", "n2", "n3"]);
  assert.deepEqual(recorder.reasons(), ["MetalLBFRRModeDetected"], "detected once");
  assert.equal(peers().length, 2);
});

Deno.test("auto with MetalLB's native webhook keeps upstream's per-node peers", async () => {
  const { impl, peers, recorder } = setup("native");
  await add(impl, "web", ["n1", "n2"]);
  assert.equal(impl.peerLayout(), "per-node");
  assert.deepEqual(names(peers()), ["n1-0", "n1-1", "n2-0", "n2-1"]);
  assert.deepEqual(recorder.reasons(), []);
});

Deno.test("auto starts with the layout it finds: shared peers already there mean no per-node attempt", async () => {
  const first = setup("frr", "frr");
  await add(first.impl, "web", ["n1", "n2"]);
  const { impl, peers, recorder } = setup("frr", "auto", first.peers());
  await add(impl, "web", ["n1", "n2", "n3"]);
  assert.equal(impl.peerLayout(), "shared");
  assert.deepEqual(names(peers()), ["equinix-metal.169.254.255.1", "equinix-metal.169.254.255.2"]);
  assert.deepEqual(recorder.reasons(), []);
});

Deno.test("native set explicitly: a FRR denial fails with an error naming METAL_METALLB_BGP_TYPE", async () => {
  const { impl } = setup("frr", "native");
  await assert.rejects(
    add(impl, "web", ["n1", "n2"]),
    /FRR mode doesn't support duplicate BGPPeers; .*set METAL_METALLB_BGP_TYPE to "frr"/,
  );
});

Deno.test("frr: switches a per-node cluster over, re-planning while the webhook judges from a stale list", async () => {
  const native = setup("native", "native");
  await add(native.impl, "web", ["n1", "n2"]);
  const { impl, peers, staleDenials, slept } = setup("frr", "frr", native.peers());
  staleDenials.count = 2;
  await add(impl, "api", ["n1", "n2"]);
  assert.deepEqual(names(peers()), ["equinix-metal.169.254.255.1", "equinix-metal.169.254.255.2"]);
  assert.deepEqual(slept, [250, 500]);
  for (const p of peers()) assert.equal(p.spec?.sourceAddress, undefined);
});

Deno.test("frr: a peer of someone else's with the router's address fails with an error saying what to do", async () => {
  const theirs: BGPPeer = { metadata: { name: "mine" }, spec: { peerAddress: "169.254.255.1" } };
  const { impl, slept } = setup("frr", "frr", [theirs]);
  await assert.rejects(
    add(impl, "web", ["n1"]),
    /duplicate BGPPeers; another BGPPeer in "metallb-system" has that peer address: delete it, since/,
  );
  assert.deepEqual(slept, [250, 500, 750, 1000], "retried while it could have been a stale list");
});

Deno.test("auto finds upstream's per-node peers under MetalLB's FRR webhook: a dry run asks, then it switches", async () => {
  const native = setup("native", "native");
  await add(native.impl, "web", ["n1", "n2"]);
  const frr = setup("frr", "auto", native.peers());
  await add(frr.impl, "web", ["n1", "n2"]);
  assert.deepEqual(frr.dryRuns, ["n2-0"]);
  assert.equal(frr.impl.peerLayout(), "shared");
  assert.deepEqual(names(frr.peers()), ["equinix-metal.169.254.255.1", "equinix-metal.169.254.255.2"]);
  assert.deepEqual(frr.recorder.reasons(), ["MetalLBFRRModeDetected"]);
  // Under MetalLB's native webhook the same dry run is admitted: upstream's layout stays, unchanged.
  const still = setup("native", "auto", native.peers());
  await add(still.impl, "web", ["n1", "n2"]);
  assert.deepEqual(still.dryRuns, ["n2-0"]);
  assert.equal(still.impl.peerLayout(), "per-node");
  assert.deepEqual(names(still.peers()), ["n1-0", "n1-1", "n2-0", "n2-1"]);
});

Deno.test("frr: two Services creating the same shared peer at once both end on it (the loser re-plans)", async () => {
  const { impl, peers, recorder } = setup("frr", "frr");
  await Promise.all([add(impl, "web", ["n1", "n2"]), add(impl, "api", ["n1", "n2"])]);
  assert.deepEqual(names(peers()), ["equinix-metal.169.254.255.1", "equinix-metal.169.254.255.2"]);
  for (const p of peers()) {
    const services = (p.spec?.nodeSelectors ?? []).map((s) =>
      s.matchLabels?.["nomatch.metal.equinix.com/service-name"]
    )
      .filter((n) => n !== undefined).sort();
    assert.deepEqual(services, ["api", "web"], p.metadata.name);
  }
  assert.deepEqual(recorder.reasons(), [], "no MetalLBObjectConflict for our own peer");
});
