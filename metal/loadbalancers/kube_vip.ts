/**
 * kube-vip (`kube-vip://`, spec §4.6): kube-vip announces the Service addresses itself, peering with the
 * Equinix routers using the Node BGP annotations. The implementation has no objects of its own; the shared
 * logic reserves the elastic IP, enables BGP, writes the annotations and makes the address visible where
 * kube-vip reads it (`kube-vip.io/loadbalancerIPs` and `spec.loadBalancerIP`, see `service_ip.ts`).
 *
 * @module
 */
import type { LoadBalancerImplementation } from "./implementation.ts";

/** Builds the kube-vip implementation. */
export function createKubeVipImplementation(): LoadBalancerImplementation {
  return {
    name: "kube-vip",
    usesElasticIP: true,
    addService: () => Promise.resolve(undefined),
    updateService: () => Promise.resolve(),
    removeService: () => Promise.resolve(),
  };
}
