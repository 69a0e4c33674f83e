# Secrets reach containers only by reference (secretKeyRef, envFrom secretRef, volumes), never
# as literal env values: no literal value for a variable named like a secret (unless it holds
# a path or reference, or grants references: *_FILE, *_REF, *_PATH, *_GRANTS), and no URL
# with an embedded password.
package assetinventory.secretrefs

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

secret_like(name) if {
	regex.match(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)`, name)
	not regex.match(`(?i)_(FILE|REF|PATH|GRANTS)$`, name)
}

violation contains {"msg": msg} if {
	some c in containers
	some e in c.env
	secret_like(e.name)
	is_string(e.value)
	msg := sprintf("%s %s: container %q sets %s as a literal; use secretKeyRef or a Secret volume", [input.review.object.kind, input.review.object.metadata.name, c.name, e.name])
}

violation contains {"msg": msg} if {
	some c in containers
	some e in c.env
	regex.match(`://[^/@:]+:[^/@]+@`, e.value)
	msg := sprintf("%s %s: container %q has a password in the URL of %s; use secretKeyRef", [input.review.object.kind, input.review.object.metadata.name, c.name, e.name])
}
