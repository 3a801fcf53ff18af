/**
 * Project BGP (upstream's metal/bgp.go): adopt the project's enabled BGP configuration, or enable local BGP
 * with the configured ASN and password. Only done when the load balancer mode announces addresses with BGP
 * (kube-vip, empty, MetalLB): upstream enabled it on every start, even with load balancers disabled
 * (docs/upstream.md#bgp-at-every-start).
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { MetalClient } from "../api/client.ts";
import { errorMessage } from "../../util/errors.ts";

/** `use_case` sent when enabling BGP (upstream's value). */
export const BGP_USE_CASE = "kubernetes-load-balancer";

/** The project's BGP settings in effect. */
export interface ProjectBgp {
  /** The project's ASN (adopted, or the configured local ASN). */
  asn: number;
  /** Whether an existing configuration was adopted (else we enabled BGP). */
  adopted: boolean;
  /** Status reported by the API (`enabled`, `requested`), when adopted. */
  status?: string;
}

/** Options of {@linkcode ensureProjectBgp}. */
export interface EnsureProjectBgpOptions {
  client: Pick<MetalClient, "getBgpConfig" | "createBgpConfig">;
  projectId: string;
  /** `METAL_LOCAL_ASN`. */
  localAsn: number;
  /** `METAL_BGP_PASS`; a secret (never logged). Empty: no password. */
  bgpPass: string;
  logger: Logger;
  signal?: AbortSignal;
}

/**
 * Makes sure BGP is enabled on the project: an existing configuration with an id and a status other than
 * `disabled` is adopted; otherwise `POST /projects/{id}/bgp-configs` with `{asn, md5, deployment_type: local,
 * use_case: kubernetes-load-balancer}` (md5 omitted when empty; the API rejects an empty one).
 *
 * @throws {Error} Naming the project and the API's answer when BGP cannot be read or enabled.
 */
export async function ensureProjectBgp(options: EnsureProjectBgpOptions): Promise<ProjectBgp> {
  const { client, projectId, localAsn, bgpPass, logger, signal } = options;
  let current;
  try {
    current = await client.getBgpConfig(projectId, { signal });
  } catch (err) {
    throw new Error(
      `Failed to read the BGP configuration of project '${projectId}': ${errorMessage(err)}; check ` +
        "METAL_PROJECT_ID and that the API key may read the project",
      { cause: err },
    );
  }
  if (current.id && current.status !== "disabled") {
    const asn = current.asn ?? localAsn;
    if (asn !== localAsn) {
      logger.warn("Adopted the project's BGP configuration, whose ASN differs from METAL_LOCAL_ASN", {
        projectId,
        asn,
        localAsn,
      });
    } else {
      logger.info("Adopted the project's BGP configuration", {
        v: 2,
        projectId,
        asn,
        status: current.status,
      });
    }
    if (bgpPass !== "" && (current.md5 ?? "") !== bgpPass) {
      logger.warn(
        "The project's BGP password differs from METAL_BGP_PASS; the project's password is the one in effect",
        { projectId },
      );
    }
    return { asn, adopted: true, status: current.status };
  }
  try {
    await client.createBgpConfig(projectId, {
      asn: localAsn,
      md5: bgpPass === "" ? undefined : bgpPass,
      deploymentType: "local",
      useCase: BGP_USE_CASE,
    }, { signal });
  } catch (err) {
    throw new Error(
      `Failed to enable BGP on project '${projectId}': ${errorMessage(err)}; enable BGP on the project ` +
        "yourself, or check METAL_LOCAL_ASN and METAL_BGP_PASS",
      { cause: err },
    );
  }
  logger.info("Enabled BGP on the project", { projectId, asn: localAsn });
  return { asn: localAsn, adopted: false };
}
