# Secrets reach containers only by reference (secretKeyRef, envFrom secretRef, volumes), never
# as literal env values: no literal value for a variable named like a secret (unless it holds
# a path or reference, or grants references: *_FILE, *_REF, *_PATH, *_GRANTS), no URL with an
# embedded password and no libpq `password=` keyword, in env values or in a container's
# command and args, and no literal value for a secret-named flag (`--token=…`, `--password …`).
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

# Every literal string a container starts with: env values, command and args.
literals contains [c, sprintf("env %s", [e.name]), e.value] if {
	some c in containers
	some e in c.env
	is_string(e.value)
}

literals contains [c, "its command or args", arg] if {
	some c in containers
	some field in ["command", "args"]
	some arg in c[field]
}

violation contains {"msg": msg} if {
	some [c, where, value] in literals
	regex.match(`(?i)(^|\s)password\s*=\s*[^\s'"]`, value)
	msg := sprintf("%s %s: container %q has a libpq password= in %s; use secretKeyRef", [input.review.object.kind, input.review.object.metadata.name, c.name, where])
}

violation contains {"msg": msg} if {
	some c in containers
	some field in ["command", "args"]
	some arg in c[field]
	regex.match(`://[^/@:]+:[^/@]+@`, arg)
	msg := sprintf("%s %s: container %q has a password in a URL in its %s; use secretKeyRef", [input.review.object.kind, input.review.object.metadata.name, c.name, field])
}

# `--token=value`, or `--token` followed by its value as the next argument.
violation contains {"msg": msg} if {
	some c in containers
	some field in ["command", "args"]
	some i, arg in c[field]
	flag_value(arg, following(c[field], i))
	msg := sprintf("%s %s: container %q passes a secret as a literal flag in its %s; use secretKeyRef or a file", [input.review.object.kind, input.review.object.metadata.name, c.name, field])
}

following(list, i) := list[i + 1] if i + 1 < count(list)

following(list, i) := "" if i + 1 >= count(list)

flag_value(arg, _) if {
	at := indexof(arg, "=")
	at > 0
	secret_flag(substring(arg, 0, at))
	not lower(substring(arg, at + 1, -1)) in {"", "true", "false"}
}

flag_value(arg, next) if {
	not contains(arg, "=")
	secret_flag(arg)
	not lower(next) in {"", "true", "false"}
	not startswith(next, "-")
}

secret_flag(flag) if {
	startswith(flag, "--")
	secret_like(replace(upper(trim_left(flag, "-")), "-", "_"))
}
