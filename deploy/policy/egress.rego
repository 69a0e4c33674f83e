# Egress must be explicitly allowed: every egress rule of a NetworkPolicy names its
# destinations (`to`) and its ports. An empty rule, or one without `to` or `ports`, lets a
# pod reach anything and is refused.
package assetinventory.egress

violation contains {"msg": msg} if {
	input.review.object.kind == "NetworkPolicy"
	some i, rule in input.review.object.spec.egress
	not has_destinations(rule)
	msg := sprintf("NetworkPolicy %s: egress rule %d allows every destination; list them in `to`", [input.review.object.metadata.name, i])
}

violation contains {"msg": msg} if {
	input.review.object.kind == "NetworkPolicy"
	some i, rule in input.review.object.spec.egress
	not has_ports(rule)
	msg := sprintf("NetworkPolicy %s: egress rule %d allows every port; list them in `ports`", [input.review.object.metadata.name, i])
}

has_destinations(rule) if count(rule.to) > 0

has_ports(rule) if count(rule.ports) > 0
