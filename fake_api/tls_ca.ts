/**
 * A throwaway certificate authority for `ccm fake-api --intercept`, and the leaf certificate (for the
 * intercepted hosts) it signs. Generation is done by `selfsigned`, which can sign with a given CA.
 */
import { generate } from "selfsigned";

/** A PEM certificate with its PEM private key. */
export interface PemPair {
  cert: string;
  key: string;
}

/** Generates a self-signed CA certificate valid for `days` days. */
export async function generateCa(days = 30): Promise<PemPair> {
  const result = await generate([{ name: "commonName", value: "ccm fake-api intercept CA" }], {
    keyType: "ec",
    algorithm: "sha256",
    notAfterDate: new Date(Date.now() + days * 86_400_000),
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: result.cert, key: result.private };
}

/** Generates a leaf certificate for `hosts` (DNS SANs), signed by `ca`. */
export async function generateLeaf(ca: PemPair, hosts: readonly string[], days = 30): Promise<PemPair> {
  const result = await generate([{ name: "commonName", value: hosts[0] ?? "localhost" }], {
    keyType: "ec",
    algorithm: "sha256",
    notAfterDate: new Date(Date.now() + days * 86_400_000),
    ca,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: hosts.map((value) => ({ type: 2, value })) },
    ],
  });
  return { cert: result.cert, key: result.private };
}
