/**
 * `empty://` (spec §4.6): like kube-vip — elastic IPs, BGP sessions and Node annotations — for an announcer the
 * CCM does not configure. Nothing is written on the Service besides its status (upstream also wrote
 * `spec.loadBalancerIP`, which users of this mode asked to stop, KR#200). To have the CCM leave Services
 * entirely alone, leave `METAL_LOAD_BALANCER` empty instead.
 *
 * @module
 */
import type { LoadBalancerImplementation } from "./implementation.ts";

/** Builds the empty implementation. */
export function createEmptyImplementation(): LoadBalancerImplementation {
  return {
    name: "empty",
    usesElasticIP: true,
    usesPeers: false,
    addService: () => Promise.resolve(undefined),
    updateService: () => Promise.resolve(),
    removeService: () => Promise.resolve(),
  };
}
