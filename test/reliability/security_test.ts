/**
 * Item 7 — security defaults. The image runs the binary as the distroless `nonroot` user; `ccm run` does all its
 * work without writing anywhere (Deno's `--deny-write`, HOME and TMPDIR on a read-only directory), as on the
 * manifests' read-only root filesystem; the simulator answers nothing without a valid token.
 *
 * The manifests' and the chart's pod hardening (runAsNonRoot, uid 65532, readOnlyRootFilesystem,
 * allowPrivilegeEscalation false, capabilities drop ALL, seccomp RuntimeDefault) is asserted by
 * `test/deploy_manifests_test.ts` and `test/deploy_chart_test.ts` (`assertControlPlanePod` in
 * `test/deploy_util.ts`); RBAC least privilege by `test/deploy_rbac_test.ts`; the simulator's token checks on
 * every route in-process by `fake_api/auth_test.ts`.
 */
import assert from "node:assert/strict";
import { UNINITIALIZED_TAINT, waitFor } from "../harness/mod.ts";
import { startFakeApi } from "../harness/main_process.ts";
import { createLbService, PROJECT_ID } from "../loadbalancer_system.ts";
import { Bed, SECRET_API_KEY, type TrackedService, waitConverged } from "./bed.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("the image runs the binary as the distroless nonroot user, with no shell and nothing writable", async () => {
  const lines = (await Deno.readTextFile(`${ROOT}Dockerfile`)).split("\n").map((l) => l.trim());
  const stages = lines.map((l, i) => [l, i] as const).filter(([l]) => /^FROM\s/i.test(l));
  const [finalFrom, finalAt] = stages.at(-1)!;
  assert.match(finalFrom, /^FROM gcr\.io\/distroless\/[a-z0-9-]+:nonroot$/, "a distroless nonroot base");
  const final = lines.slice(finalAt + 1).filter((l) => l !== "" && !l.startsWith("#"));
  const users = final.filter((l) => /^USER\s/i.test(l));
  assert.deepEqual(users, ["USER nonroot:nonroot"], "exactly one USER in the final stage: nonroot");
  assert.ok(!final.some((l) => /^(RUN|VOLUME|ADD)\s/i.test(l)), "the final stage only copies the binary");
  assert.deepEqual(final.filter((l) => /^ENTRYPOINT\s/i.test(l)), [
    'ENTRYPOINT ["/cloud-provider-equinix-metal"]',
  ]);
});

Deno.test({
  name: "ccm run works with no writable path: --deny-write, HOME and TMPDIR read-only",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using bed = await Bed.start({ loadBalancer: "kube-vip://" });
    const readOnly = `${bed.system.dir}/read-only-home`;
    await Deno.mkdir(readOnly);
    await Deno.chmod(readOnly, 0o555);
    // The module cache stands in for the code a compiled binary carries inside; nothing may be fetched.
    const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], cwd: ROOT }).output();
    const denoDir = JSON.parse(new TextDecoder().decode(info.stdout)).denoDir as string;
    const ccm = await bed.startCcm("ccm", {
      // The runtime refuses every write of the program.
      permissions: [
        "--allow-read",
        "--allow-net",
        "--allow-env",
        "--allow-sys",
        "--deny-write",
        "--no-prompt",
        "--cached-only",
      ],
      env: {
        DENO_DIR: denoDir,
        HOME: readOnly,
        TMPDIR: readOnly,
        XDG_CACHE_HOME: readOnly,
        XDG_CONFIG_HOME: readOnly,
      },
      args: ["--leader-elect=true", "--leader-elect-lease-duration=8s", "--leader-elect-renew-deadline=6s"],
    });
    await bed.ready(ccm);
    const services: TrackedService[] = [{ name: "web", state: "lb" }];
    await createLbService(bed.cluster, "default", "web");
    const device = await bed.addDevice("ro-join");
    await bed.joinNode("ro-join");
    await waitConverged(bed, "default", services, 60_000, async () => {
      const node = await bed.system.node("ro-join");
      const tainted = (node.spec?.taints ?? []).some((t) => t.key === UNINITIALIZED_TAINT.key);
      return node.spec?.providerID === `equinixmetal://${device}` && !tainted
        ? []
        : ["ro-join not initialized"];
    });
    assert.match(
      await bed.metrics(ccm),
      /leader_election_master_status\{name="cloud-controller-manager"\} 1/,
    );
    const log = await Deno.readTextFile(ccm.process.logPath);
    assert.doesNotMatch(log, /NotCapable|PermissionDenied|write access|Requires write/i);
    const status = await ccm.process.kill("SIGTERM").then(() => ccm.process.exited);
    assert.equal(status.code, 0, "a graceful stop (lease release included) writes nothing locally either");
    // Even as root (which ignores the mode bits), nothing was written to HOME or TMPDIR.
    assert.deepEqual(await Array.fromAsync(Deno.readDir(readOnly)), []);
    await bed.assertNoSecrets([]);
  },
});

Deno.test({
  name: "the simulator answers 401 without a valid token on the wire, and changes nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ccm-token-" });
    const fake = await startFakeApi({
      dir,
      seed: {
        projects: [{ id: PROJECT_ID, name: "p" }],
        api_keys: [{ token: SECRET_API_KEY, project_ids: [PROJECT_ID] }],
        devices: [{ project_id: PROJECT_ID, hostname: "d1", metro: "sv" }],
      },
    });
    try {
      const stats = () => fetch(`${fake.url}/_fake/stats`).then((r) => r.text());
      const before = await stats();
      const routes: Array<[string, string]> = [
        ["GET", `/metal/v1/projects/${PROJECT_ID}/devices`],
        ["POST", `/metal/v1/projects/${PROJECT_ID}/ips`],
        ["POST", `/metal/v1/projects/${PROJECT_ID}/bgp-configs`],
        ["GET", "/metal/v1/projects"],
        ["GET", `/lbaas/v1/projects/${PROJECT_ID}/loadbalancers`],
        ["POST", "/iam/api-keys/exchange"],
      ];
      const attempts: Array<[string, string, Record<string, string>]> = [];
      for (const [method, path] of routes) {
        const header = path.startsWith("/metal") ? "X-Auth-Token" : "Authorization";
        const value = (token: string) => header === "Authorization" ? `Bearer ${token}` : token;
        for (const token of [undefined, "not-a-token", SECRET_API_KEY.toLowerCase()]) {
          attempts.push([method, path, token === undefined ? {} : { [header]: value(token) }]);
        }
      }
      for (const [method, path, headers] of attempts) {
        const res = await fetch(`${fake.url}${path}`, {
          method,
          headers: { "Content-Type": "application/json", ...headers },
          body: method === "POST"
            ? JSON.stringify({ type: "public_ipv4", quantity: 1, metro: "sv", asn: 65000 })
            : undefined,
        });
        const body = await res.json();
        assert.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
        assert.ok(Array.isArray(body.errors) && body.errors.length > 0);
        assert.ok(
          !JSON.stringify(body).includes(SECRET_API_KEY.slice(0, 12)),
          "the answer does not echo the key",
        );
      }
      assert.equal(await stats(), before, "nothing changed");
      await waitFor(async () =>
        (await fetch(`${fake.url}/_fake/requests`).then((r) => r.json())).requests.length >= attempts.length
      );
    } finally {
      await fake.process.kill("SIGTERM");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
