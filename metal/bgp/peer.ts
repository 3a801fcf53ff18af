/**
 * {@linkcode BgpNodePeer}: what the BGP node manager learns about one node's sessions and hands to the load
 * balancer implementations that configure peers (MetalLB).
 *
 * @module
 */

/** BGP peering data of one node, read from the device's BGP neighbours (upstream `loadbalancers.Node`). */
export interface BgpNodePeer {
  /** Kubernetes Node name. */
  nodeName: string;
  /** The device's private IPv4 the sessions are sourced from (`customer_ip`). */
  sourceIP: string;
  /** Our side's ASN (`customer_as`). */
  localASN: number;
  /** The Equinix routers' ASN (`peer_as`). */
  peerASN: number;
  /** The Equinix router addresses (`peer_ips`), sorted. */
  peerIPs: string[];
  /** BGP MD5 password; empty when none. A secret: never log it. */
  password: string;
}
