import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { generateCa, generateLeaf } from "./tls_ca.ts";

Deno.test("the generated CA signs a leaf certificate valid for each intercepted host", async () => {
  const ca = await generateCa();
  const caCert = new X509Certificate(ca.cert);
  assertEquals(caCert.ca, true);
  const leaf = await generateLeaf(ca, ["api.equinix.com", "lb.metalctrl.io"]);
  const leafCert = new X509Certificate(leaf.cert);
  assertEquals(leafCert.ca, false);
  assertEquals(leafCert.verify(caCert.publicKey), true);
  assertEquals(leafCert.checkHost("api.equinix.com"), "api.equinix.com");
  assertEquals(leafCert.checkHost("lb.metalctrl.io"), "lb.metalctrl.io");
  assertEquals(leafCert.checkHost("example.com"), undefined);
  const otherCa = new X509Certificate((await generateCa()).cert);
  assertEquals(leafCert.verify(otherCa.publicKey), false);
});
