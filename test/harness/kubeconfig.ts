/**
 * Writes self-contained kubeconfig files (certificates embedded) for the test cluster.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/** Credentials of one kubeconfig user: a client certificate or a bearer token. */
export type KubeconfigCredentials =
  | { certPath: string; keyPath: string }
  | { token: string };

/** Options of {@linkcode writeKubeconfig}. */
export interface WriteKubeconfigOptions {
  path: string;
  server: string;
  caPath: string;
  user: string;
  credentials: KubeconfigCredentials;
}

function base64File(path: string): string {
  return Buffer.from(Deno.readFileSync(path)).toString("base64");
}

/** Writes a kubeconfig (JSON is valid YAML) with one cluster, user and context, and returns its path. */
export async function writeKubeconfig(options: WriteKubeconfigOptions): Promise<string> {
  const user: Record<string, string> = "token" in options.credentials
    ? { token: options.credentials.token }
    : {
      "client-certificate-data": base64File(options.credentials.certPath),
      "client-key-data": base64File(options.credentials.keyPath),
    };
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{
      name: "test",
      cluster: { server: options.server, "certificate-authority-data": base64File(options.caPath) },
    }],
    users: [{ name: options.user, user }],
    contexts: [{ name: "test", context: { cluster: "test", user: options.user } }],
    "current-context": "test",
  };
  await Deno.writeTextFile(options.path, JSON.stringify(config, null, 2), { mode: 0o600 });
  return options.path;
}
