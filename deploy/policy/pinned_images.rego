# Images must be pinned by digest (name@sha256:<64 hex>): a tag can be moved, a digest
# cannot. Enforced in production namespaces by the Constraint.
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

violation contains {"msg": msg} if {
	some c in containers
	not regex.match(`@sha256:[a-f0-9]{64}$`, c.image)
	msg := sprintf("%s %s: container %q uses image %q, not pinned by digest", [input.review.object.kind, input.review.object.metadata.name, c.name, c.image])
}
