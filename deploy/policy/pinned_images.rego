# Images must be pinned by digest (name@sha256:<64 hex>): a tag can be moved, a digest
# cannot. Enforced in production namespaces by the Constraint. The all-zero digest, the prod
# overlay's placeholder until the first release pins a real one (deploy/promote), is refused
# too, so that placeholder can never be deployed.
#
# One exemption: pods that CloudNativePG creates for its clusters (instances and their
# initdb/join Jobs, all labelled `cnpg.io/cluster`) may run CloudNativePG's own images
# (ghcr.io/cloudnative-pg/...) by tag. The operator chooses those images, not our manifests,
# and re-creates pods with them on failover; refusing them stops PostgreSQL from
# bootstrapping or failing over. Both conditions must hold, so the label alone exempts
# nothing else. To pin these too, configure the operator's and the Cluster's images by digest.
package assetinventory.pinnedimages

pod_spec := input.review.object.spec if input.review.object.kind == "Pod"

pod_spec := input.review.object.spec.template.spec if {
	input.review.object.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
}

pod_spec := input.review.object.spec.jobTemplate.spec.template.spec if {
	input.review.object.kind == "CronJob"
}

containers contains c if {
	some field in ["initContainers", "containers", "ephemeralContainers"]
	some c in pod_spec[field]
}

operator_managed(image) if {
	input.review.object.metadata.labels["cnpg.io/cluster"]
	pod_labels["cnpg.io/cluster"]
	startswith(image, "ghcr.io/cloudnative-pg/")
}

# The labels of the pods the object creates (a Pod's own).
pod_labels := input.review.object.metadata.labels if input.review.object.kind == "Pod"

pod_labels := input.review.object.spec.template.metadata.labels if {
	input.review.object.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
}

pod_labels := input.review.object.spec.jobTemplate.spec.template.metadata.labels if {
	input.review.object.kind == "CronJob"
}

violation contains {"msg": msg} if {
	some c in containers
	not regex.match(`@sha256:[a-f0-9]{64}$`, c.image)
	not operator_managed(c.image)
	msg := sprintf("%s %s: container %q uses image %q, not pinned by digest", [input.review.object.kind, input.review.object.metadata.name, c.name, c.image])
}

violation contains {"msg": msg} if {
	some c in containers
	endswith(c.image, "@sha256:0000000000000000000000000000000000000000000000000000000000000000")
	msg := sprintf("%s %s: container %q uses the placeholder digest; deploy a release (merge its pull request, deploy/promote)", [input.review.object.kind, input.review.object.metadata.name, c.name])
}
