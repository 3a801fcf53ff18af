/**
 * Certificates for a test cluster, made with the `openssl` command (EC P-256 keys: fast to generate): a CA,
 * the API server's serving certificate, client certificates, and the service-account signing key.
 *
 * @module
 */
import { errorMessage } from "../../util/errors.ts";

/** Paths of the PEM files of one test cluster. */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    throw new Error(
      `Failed to run "openssl": ${errorMessage(err)}; install openssl (it signs the test certificates)`,
      {
        cause: err,
      },
    );
  }
  if (!output.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** Creates a CA-signed certificate `<name>.crt`/`<name>.key` in `dir` (subject, extensions given). */
async function issue(
  dir: string,
  name: string,
  subject: string,
  extensions: string[],
): Promise<{ cert: string; key: string }> {
  await openssl([
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-subj",
    subject,
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    ...extensions.flatMap((ext) => ["-addext", ext]),
  ], dir);
  return { cert: `${dir}/${name}.crt`, key: `${dir}/${name}.key` };
}

/** Generates the CA, serving, admin (`system:masters`) and service-account keys into `dir`. */
export async function createPki(dir: string): Promise<Pki> {
  await openssl([
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=ccm-test-ca",
  ], dir);
  const [server, admin] = await Promise.all([
    issue(dir, "server", "/CN=kube-apiserver", [
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc",
      "extendedKeyUsage=serverAuth",
    ]),
    issue(dir, "admin", "/O=system:masters/CN=admin", ["extendedKeyUsage=clientAuth"]),
    openssl(["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "sa.key"], dir),
  ]);
  await openssl(["ec", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
  return {
    dir,
    caCert: `${dir}/ca.crt`,
    caKey: `${dir}/ca.key`,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    serviceAccountKey: `${dir}/sa.key`,
    serviceAccountPub: `${dir}/sa.pub`,
  };
}

/** Issues a client certificate for `user` in `groups`, signed by the cluster CA. */
export async function issueClientCert(
  pki: Pki,
  options: { user: string; groups?: string[]; fileName: string },
): Promise<{ cert: string; key: string }> {
  const subject = [
    ...(options.groups ?? []).map((g) => `/O=${escapeRdn(g)}`),
    `/CN=${escapeRdn(options.user)}`,
  ].join("");
  return await issue(pki.dir, options.fileName, subject, ["extendedKeyUsage=clientAuth"]);
}

function escapeRdn(value: string): string {
  return value.replace(/[/=\\+,]/g, (c) => `\\${c}`);
}
