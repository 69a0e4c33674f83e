package assetinventory.egress_test

import data.assetinventory.egress

policy(rules) := {"review": {"object": {
	"kind": "NetworkPolicy",
	"metadata": {"name": "np"},
	"spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": rules},
}}}

dns := {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}], "ports": [{"protocol": "UDP", "port": 53}]}

test_named_destinations_and_ports_are_allowed if {
	count(egress.violation) == 0 with input as policy([dns, {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]}])
}

test_default_deny_is_allowed if {
	count(egress.violation) == 0 with input as {"review": {"object": {
		"kind": "NetworkPolicy",
		"metadata": {"name": "deny"},
		"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
	}}}
}

test_empty_rule_is_denied_twice if {
	count(egress.violation) == 2 with input as policy([dns, {}])
}

test_rule_without_ports_is_denied if {
	count(egress.violation) == 1 with input as policy([{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}])
}

test_rule_without_destinations_is_denied if {
	count(egress.violation) == 1 with input as policy([{"ports": [{"protocol": "TCP", "port": 443}]}])
}

test_other_kinds_are_ignored if {
	count(egress.violation) == 0 with input as {"review": {"object": {"kind": "Service", "metadata": {"name": "s"}, "spec": {}}}}
}

test_port_entry_without_port_is_denied if {
	count(egress.violation) == 1 with input as policy([{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"protocol": "TCP"}]}])
}

test_internet_on_every_port_is_denied if {
	count(egress.violation) == 1 with input as policy([{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 1, "endPort": 65535}]}])
}

test_port_range_inside_the_cluster_is_allowed if {
	count(egress.violation) == 0 with input as policy([{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"protocol": "TCP", "port": 9090, "endPort": 9100}]}])
}
