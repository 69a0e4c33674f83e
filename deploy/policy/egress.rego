# Egress must be explicitly allowed: every egress rule of a NetworkPolicy names its
# destinations (`to`) and its ports. An empty rule, or one without `to` or `ports`, lets a
# pod reach anything and is refused; so is a port entry without a `port` (Kubernetes reads
# it as every port of the protocol) and a port range open to the whole internet.
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

violation contains {"msg": msg} if {
	input.review.object.kind == "NetworkPolicy"
	some i, rule in input.review.object.spec.egress
	some port in rule.ports
	not port.port
	msg := sprintf("NetworkPolicy %s: egress rule %d has a port entry without `port`, which allows every port", [input.review.object.metadata.name, i])
}

violation contains {"msg": msg} if {
	input.review.object.kind == "NetworkPolicy"
	some i, rule in input.review.object.spec.egress
	some peer in rule.to
	peer.ipBlock.cidr in {"0.0.0.0/0", "::/0"}
	some port in rule.ports
	port.endPort
	msg := sprintf("NetworkPolicy %s: egress rule %d opens a port range to the whole internet; name single ports", [input.review.object.metadata.name, i])
}
