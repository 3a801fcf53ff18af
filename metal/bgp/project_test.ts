import { deepEqual, equal, match, rejects } from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { captureLogs } from "../../util/log.ts";
import { simulatedMetal } from "../testing.ts";
import { ensureProjectBgp } from "./project.ts";

const logger = getLogger(["ccm", "metal", "bgp"]);

Deno.test("ensureProjectBgp() creates local BGP with the configured ASN, password and upstream's use case", async () => {
  const metal = await simulatedMetal();
  const result = await ensureProjectBgp({
    client: metal.client,
    projectId: metal.projectId,
    localAsn: 65100,
    bgpPass: "Secret123abc",
    logger,
  });
  deepEqual(result, { asn: 65100, adopted: false });
  const bgp = metal.api.store.projects.get(metal.projectId)!.bgp!;
  equal(bgp.status, "enabled");
  equal(bgp.asn, 65100);
  equal(bgp.md5, "Secret123abc");
  equal(bgp.deploymentType, "local");
  equal(bgp.useCase, "kubernetes-load-balancer");
  deepEqual(metal.requests(), [
    `GET /projects/${metal.projectId}/bgp-config`,
    `POST /projects/${metal.projectId}/bgp-configs`,
  ]);
});

Deno.test("ensureProjectBgp() adopts an enabled configuration without writing, warning when the ASN differs", async () => {
  const metal = await simulatedMetal({ bgp: { asn: 64999 } });
  await using logs = await captureLogs();
  const result = await ensureProjectBgp({
    client: metal.client,
    projectId: metal.projectId,
    localAsn: 65000,
    bgpPass: "",
    logger,
  });
  equal(result.adopted, true);
  equal(result.asn, 64999);
  deepEqual(metal.requests(), [`GET /projects/${metal.projectId}/bgp-config`]);
  match(logs.text(), /ASN differs from METAL_LOCAL_ASN/);
});

Deno.test("ensureProjectBgp() re-enables a disabled configuration", async () => {
  const metal = await simulatedMetal({ bgp: { asn: 65000 } });
  metal.api.store.projects.get(metal.projectId)!.bgp!.status = "disabled";
  const result = await ensureProjectBgp({
    client: metal.client,
    projectId: metal.projectId,
    localAsn: 65000,
    bgpPass: "",
    logger,
  });
  equal(result.adopted, false);
  equal(metal.api.store.projects.get(metal.projectId)!.bgp!.status, "enabled");
});

Deno.test("ensureProjectBgp() failure names the project and the API's answer, never the password", async () => {
  const metal = await simulatedMetal();
  metal.failNext({ method: "POST", path: `/projects/${metal.projectId}/bgp-configs`, status: 403 });
  await rejects(
    ensureProjectBgp({
      client: metal.client,
      projectId: metal.projectId,
      localAsn: 65000,
      bgpPass: "Secret123abc",
      logger,
    }),
    (err: Error) =>
      err.message.startsWith(`Failed to enable BGP on project '${metal.projectId}'`) &&
      /403/.test(err.message) && !err.message.includes("Secret123abc"),
  );
});
