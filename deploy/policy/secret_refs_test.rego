package assetinventory.secretrefs_test

import data.assetinventory.secretrefs

deployment(env) := {"review": {"object": {
	"kind": "Deployment",
	"metadata": {"name": "api"},
	"spec": {"template": {"spec": {"containers": [{"name": "api", "image": "app", "env": env}]}}},
}}}

test_secret_key_ref_is_allowed if {
	count(secretrefs.violation) == 0 with input as deployment([
		{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
		{"name": "INVENTORY_DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "uri"}}},
	])
}

test_paths_and_references_are_allowed if {
	count(secretrefs.violation) == 0 with input as deployment([
		{"name": "INVENTORY_API_TOKENS_FILE", "value": "/etc/asset-inventory/tokens/tokens"},
		{"name": "INVENTORY_GRAFANA_SECRET_REF", "value": "file:/var/run/secrets/grafana/token"},
		{"name": "INVENTORY_SECRET_GRANTS", "value": "file:/var/run/secrets/asset-inventory/=https://prom.example.com"},
		{"name": "INVENTORY_DATABASE_URL", "value": "sqlite:///data/inventory.db?mode=rwc"},
		{"name": "LOG_LEVEL", "value": "info"},
	])
}

test_literal_secret_is_denied if {
	count(secretrefs.violation) == 1 with input as deployment([{"name": "GRAFANA_TOKEN", "value": "glsa_fake"}])
}

test_names_are_matched_case_insensitively if {
	count(secretrefs.violation) == 2 with input as deployment([
		{"name": "aws_secret_access_key", "value": "fake"},
		{"name": "ApiKey", "value": "fake"},
	])
}

test_password_in_url_is_denied if {
	count(secretrefs.violation) == 1 with input as deployment([{"name": "INVENTORY_DATABASE_URL", "value": "postgres://inventory:fake@db:5432/inventory"}])
}

test_init_containers_are_checked if {
	count(secretrefs.violation) == 1 with input as {"review": {"object": {
		"kind": "Pod",
		"metadata": {"name": "p"},
		"spec": {
			"initContainers": [{"name": "i", "image": "i", "env": [{"name": "PASSWORD", "value": "fake"}]}],
			"containers": [{"name": "c", "image": "c"}],
		},
	}}}
}

container(fields) := {"review": {"object": {
	"kind": "Job",
	"metadata": {"name": "migrate"},
	"spec": {"template": {"spec": {"containers": [object.union({"name": "m", "image": "app"}, fields)]}}},
}}}

test_libpq_password_in_env_is_denied if {
	count(secretrefs.violation) == 1 with input as deployment([{"name": "PGCONN", "value": "host=db user=app password=hunter2 dbname=inventory"}])
}

test_libpq_password_in_args_is_denied if {
	count(secretrefs.violation) == 1 with input as container({"args": ["migrate", "--database-url", "host=db password=hunter2"]})
}

test_url_password_in_args_is_denied if {
	count(secretrefs.violation) == 1 with input as container({"args": ["--database-url=postgres://app:hunter2@db:5432/inventory"]})
}

test_secret_flag_with_value_is_denied if {
	count(secretrefs.violation) == 1 with input as container({"args": ["--api-token=inv_abc"]})
}

test_secret_flag_followed_by_value_is_denied if {
	count(secretrefs.violation) == 1 with input as container({"command": ["/bin/app", "--password", "hunter2"]})
}

test_flags_with_paths_and_plain_args_are_allowed if {
	count(secretrefs.violation) == 0 with input as container({"args": [
		"serve", "--api-tokens-file=/etc/tokens", "--grafana-secret-ref", "file:/run/token",
		"--database-url=postgres://db:5432/inventory", "--token-cache", "--verbose",
		"--skip-jwt-bearer-tokens=true", "--pass-authorization-header", "false",
	]})
}
