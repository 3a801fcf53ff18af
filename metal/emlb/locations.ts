/**
 * Constants of the Equinix Metal Load Balancer service the CCM hard-codes: where its APIs live, its single
 * provider id, and the location id of each supported metro.
 *
 * @module
 */

/** Public LBaaS API base URL. */
export const DEFAULT_LBAAS_URL = "https://lb.metalctrl.io";
/** Public token exchange URL (Metal API key → LBaaS access token). */
export const DEFAULT_TOKEN_EXCHANGE_URL = "https://iam.metalctrl.io/api-keys/exchange";
/** The only load balancer provider. */
export const LBAAS_PROVIDER_ID = "loadpvd-gOB_-byp5ebFo7A3LHv2B";

/** Location id of each metro the service runs in. */
export const LBAAS_LOCATIONS: Readonly<Record<string, string>> = Object.freeze({
  da: "lctnloc--uxs0GLeAELHKV8GxO_AI",
  ny: "lctnloc-Vy-1Qpw31mPi6RJQwVf9A",
  sv: "lctnloc-H5rl2M2VL5dcFmdxhbEKx",
});

/** The metro is not one the load balancer service runs in. */
export class UnknownMetroError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownMetroError";
  }
}

/**
 * The location id of `metro` (case-insensitive).
 *
 * @throws {UnknownMetroError} Naming the valid metros.
 */
export function locationIdFor(metro: string): string {
  const id = LBAAS_LOCATIONS[metro.toLowerCase()];
  if (id) return id;
  const valid = Object.keys(LBAAS_LOCATIONS).map((m) => `"${m}"`).join(", ");
  throw new UnknownMetroError(
    `Equinix Metal Load Balancers are not available in metro "${metro}"; valid values are ${valid}: ` +
      `set METAL_LOAD_BALANCER to "emlb:///<metro>" with one of them`,
  );
}
