package assetinventory.nonroot_test

import data.assetinventory.nonroot

deployment(pod) := {"review": {"object": {
	"kind": "Deployment",
	"metadata": {"name": "web"},
	"spec": {"template": {"spec": pod}},
}}}

test_non_root_pod_is_allowed if {
	count(nonroot.violation) == 0 with input as deployment({
		"securityContext": {"runAsNonRoot": true, "runAsUser": 65532},
		"containers": [{"name": "app", "image": "app"}],
	})
}

test_non_root_on_every_container_is_allowed if {
	count(nonroot.violation) == 0 with input as deployment({"containers": [
		{"name": "a", "image": "a", "securityContext": {"runAsNonRoot": true}},
		{"name": "b", "image": "b", "securityContext": {"runAsNonRoot": true}},
	]})
}

test_container_without_non_root_is_denied if {
	count(nonroot.violation) == 1 with input as deployment({"containers": [
		{"name": "a", "image": "a", "securityContext": {"runAsNonRoot": true}},
		{"name": "b", "image": "b"},
	]})
}

test_init_container_counts_too if {
	count(nonroot.violation) == 1 with input as deployment({
		"initContainers": [{"name": "init", "image": "i"}],
		"containers": [{"name": "a", "image": "a", "securityContext": {"runAsNonRoot": true}}],
	})
}

test_run_as_non_root_false_is_denied if {
	count(nonroot.violation) == 1 with input as deployment({
		"securityContext": {"runAsNonRoot": false},
		"containers": [{"name": "a", "image": "a"}],
	})
}

test_user_zero_is_denied_even_with_non_root_set if {
	count(nonroot.violation) == 1 with input as deployment({
		"securityContext": {"runAsNonRoot": true},
		"containers": [{"name": "a", "image": "a", "securityContext": {"runAsUser": 0}}],
	})
}

test_cronjob_pods_are_checked if {
	count(nonroot.violation) == 1 with input as {"review": {"object": {
		"kind": "CronJob",
		"metadata": {"name": "collect"},
		"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "c"}]}}}}},
	}}}
}

test_other_kinds_are_ignored if {
	count(nonroot.violation) == 0 with input as {"review": {"object": {
		"kind": "ConfigMap",
		"metadata": {"name": "settings"},
		"data": {"a": "b"},
	}}}
}

test_container_turning_non_root_off_is_denied if {
	count(nonroot.violation) == 1 with input as deployment({
		"securityContext": {"runAsNonRoot": true, "runAsUser": 65532},
		"containers": [
			{"name": "good", "image": "a"},
			{"name": "bad", "image": "b", "securityContext": {"runAsNonRoot": false}},
		],
	})
}
