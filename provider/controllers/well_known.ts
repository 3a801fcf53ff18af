/**
 * Kubernetes identifiers the controllers read and write. They are wire contracts shared with kubelet,
 * kube-controller-manager and every other CCM: never change them.
 *
 * @module
 */

/** Taint the kubelet sets with `--cloud-provider=external`; the node controller removes it after init. */
export const TAINT_UNINITIALIZED = "node.cloudprovider.kubernetes.io/uninitialized";
/** Taint the lifecycle controller sets on nodes whose instance is shut down. */
export const TAINT_SHUTDOWN = "node.cloudprovider.kubernetes.io/shutdown";
/** Cluster-autoscaler taint on nodes it is about to delete; such nodes get no load-balancer traffic. */
export const TAINT_TO_BE_DELETED_BY_CA = "ToBeDeletedByClusterAutoscaler";

/** Annotation the kubelet sets from `--node-ip`. */
export const ANNOTATION_PROVIDED_NODE_IP = "alpha.kubernetes.io/provided-node-ip";

/** Node label that excludes a node from external load balancers. */
export const LABEL_EXCLUDE_FROM_LB = "node.kubernetes.io/exclude-from-external-load-balancers";

export const LABEL_INSTANCE_TYPE = "node.kubernetes.io/instance-type";
export const LABEL_INSTANCE_TYPE_BETA = "beta.kubernetes.io/instance-type";
export const LABEL_ZONE = "topology.kubernetes.io/zone";
export const LABEL_ZONE_BETA = "failure-domain.beta.kubernetes.io/zone";
export const LABEL_REGION = "topology.kubernetes.io/region";
export const LABEL_REGION_BETA = "failure-domain.beta.kubernetes.io/region";

/** Finalizer that keeps a Service until its load balancer is deleted. */
export const FINALIZER_LB_CLEANUP = "service.kubernetes.io/load-balancer-cleanup";
