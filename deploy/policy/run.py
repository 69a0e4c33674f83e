#!/usr/bin/env python3
"""Runs the policies with the regorus Rego engine (its `regorus` command on PATH).

  run.py test                         every `test_*` rule of the *_test.rego files must be true
  run.py manifests FILE POLICY...     no object of the rendered manifests FILE (YAML) may
                                      violate the named policies (packages under
                                      data.assetinventory), reviewed as Gatekeeper would

regorus has no test runner of its own, so this finds the test rules and evaluates each one;
an undefined rule (a failed `count(...) == n`, say) counts as a failure."""

import json
import pathlib
import re
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent


def evaluate(query: str, *data: str) -> list:
    """The values the query yields, as regorus prints them (OPA's result format)."""
    command = ["regorus", "eval", "--bundles", str(HERE)]
    for item in data:
        command += ["--data", item]
    done = subprocess.run(command + [query], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"regorus failed on {query}:\n{done.stderr}")
    results = json.loads(done.stdout).get("result", [])
    return [expression["value"] for result in results for expression in result["expressions"]]


def tests() -> int:
    passed, failed = 0, []
    for path in sorted(HERE.glob("*_test.rego")):
        text = path.read_text()
        package = re.search(r"^package\s+(\S+)", text, re.M).group(1)
        for name in re.findall(r"^(test_\w+)\s+if\b", text, re.M):
            if evaluate(f"data.{package}.{name}") == [True]:
                passed += 1
            else:
                failed.append(f"{path.name}: {name}")
    for failure in failed:
        print(f"FAIL {failure}")
    print(f"{passed} passed, {len(failed)} failed")
    return 1 if failed or passed == 0 else 0


def manifests(file: str, policies: list) -> int:
    import yaml  # PyYAML, which kubernetes-validate brings along

    objects = [doc for doc in yaml.safe_load_all(pathlib.Path(file).read_text()) if doc]
    with tempfile.NamedTemporaryFile("w", suffix=".json") as data:
        json.dump({"manifests": objects, "policies": policies}, data)
        data.flush()
        [found] = evaluate("data.assetinventory.check.found", data.name)
    for violation in found:
        print(f"FAIL {violation}")
    print(f"{len(objects)} objects, {len(found)} violations of {', '.join(policies)}")
    return 1 if found or not objects else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["test"]:
        sys.exit(tests())
    if len(sys.argv) > 3 and sys.argv[1] == "manifests":
        sys.exit(manifests(sys.argv[2], sys.argv[3:]))
    sys.exit(__doc__)
