/**
 * Resource hrefs as the real API writes them (`/metal/v1/devices/<id>`).
 *
 * @module
 */

/** Path prefix of the Metal API. */
export const METAL_PREFIX = "/metal/v1";

/** `{"href": "/metal/v1/<path>"}`. */
export function hrefTo(path: string): { href: string } {
  return { href: `${METAL_PREFIX}/${path}` };
}

/** The href string of a resource path. */
export function href(path: string): string {
  return `${METAL_PREFIX}/${path}`;
}
