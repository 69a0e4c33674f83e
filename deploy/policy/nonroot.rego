# Containers must not run as root: runAsNonRoot set on the pod or on every container, never
# turned off by a container (its securityContext overrides the pod's), and no runAsUser 0
# anywhere.
package assetinventory.nonroot

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
	not pod_spec.securityContext.runAsNonRoot == true
	not c.securityContext.runAsNonRoot == true
	msg := sprintf("%s %s: container %q may run as root: set securityContext.runAsNonRoot", [input.review.object.kind, input.review.object.metadata.name, c.name])
}

violation contains {"msg": msg} if {
	pod_spec.securityContext.runAsUser == 0
	msg := sprintf("%s %s: the pod runs as user 0", [input.review.object.kind, input.review.object.metadata.name])
}

violation contains {"msg": msg} if {
	some c in containers
	c.securityContext.runAsUser == 0
	msg := sprintf("%s %s: container %q runs as user 0", [input.review.object.kind, input.review.object.metadata.name, c.name])
}

violation contains {"msg": msg} if {
	some c in containers
	c.securityContext.runAsNonRoot == false
	msg := sprintf("%s %s: container %q sets runAsNonRoot: false, overriding the pod's", [input.review.object.kind, input.review.object.metadata.name, c.name])
}
