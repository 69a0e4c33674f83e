package assetinventory.pinnedimages_test

import data.assetinventory.pinnedimages

digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

pod(images) := {"review": {"object": {
	"kind": "Pod",
	"metadata": {"name": "p"},
	"spec": {"containers": [{"name": sprintf("c%d", [i]), "image": image} | some i, image in images]},
}}}

test_digest_is_allowed if {
	count(pinnedimages.violation) == 0 with input as pod([sprintf("ghcr.io/org/app@%s", [digest])])
}

test_tag_and_digest_is_allowed if {
	count(pinnedimages.violation) == 0 with input as pod([sprintf("ghcr.io/org/app:1.2.3@%s", [digest])])
}

test_tag_is_denied if {
	count(pinnedimages.violation) == 1 with input as pod(["ghcr.io/org/app:1.2.3"])
}

test_latest_and_bare_names_are_denied if {
	count(pinnedimages.violation) == 2 with input as pod(["app:latest", "app"])
}

test_short_or_uppercase_digest_is_denied if {
	count(pinnedimages.violation) == 2 with input as pod(["app@sha256:abc", "app@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"])
}

test_job_containers_are_checked if {
	count(pinnedimages.violation) == 1 with input as {"review": {"object": {
		"kind": "Job",
		"metadata": {"name": "migrate"},
		"spec": {"template": {"spec": {"containers": [{"name": "m", "image": "app:1"}]}}},
	}}}
}

test_placeholder_digest_is_denied if {
	count(pinnedimages.violation) == 1 with input as pod(["ghcr.io/org/app@sha256:0000000000000000000000000000000000000000000000000000000000000000"])
}

cnpg_pod(labels, images) := {"review": {"object": {
	"kind": "Pod",
	"metadata": {"name": "asset-inventory-db-1", "labels": labels},
	"spec": {"containers": [{"name": sprintf("c%d", [i]), "image": image} | some i, image in images]},
}}}

test_cloudnative_pg_images_in_its_pods_are_allowed if {
	count(pinnedimages.violation) == 0 with input as cnpg_pod({"cnpg.io/cluster": "asset-inventory-db"}, ["ghcr.io/cloudnative-pg/postgresql:18.1-system-trixie"])
}

test_other_images_in_cloudnative_pg_pods_are_denied if {
	count(pinnedimages.violation) == 1 with input as cnpg_pod({"cnpg.io/cluster": "asset-inventory-db"}, ["docker.io/library/postgres:18"])
}

test_cloudnative_pg_images_elsewhere_are_denied if {
	count(pinnedimages.violation) == 1 with input as cnpg_pod({"app": "mine"}, ["ghcr.io/cloudnative-pg/postgresql:18.1"])
}
