#!/usr/bin/env python3
"""Simulates Argo CD's sync of rendered manifests and fails when something is used before it
exists: a workload or hook whose ServiceAccount, ConfigMap or Secret, or a custom resource
whose kind (CRD) or referenced object, is applied in a later step or never.

Usage: sync_order.py RENDERED.yaml

The order follows Argo CD's "Sync Phases and Waves" documentation
(https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/): phases PreSync, Sync,
PostSync; within a phase, waves (`argocd.argoproj.io/sync-wave`, default 0) in ascending
order, each wave applied and then waited on until healthy before the next starts; within a
wave, resources in the kind order of gitops-engine's sync tasks. What an operator creates
from a resource (CloudNativePG's `<cluster>-app` Secret) exists only once that resource is
healthy, so only a later wave may use it. Argo CD itself cannot run here: this follows its
documented semantics, not its code.
"""

import pathlib
import sys

import yaml

PHASES = ["PreSync", "Sync", "PostSync"]

# gitops-engine's kind order for resources of the same phase and wave; other kinds follow.
KIND_ORDER = [
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
    "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap",
    "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition",
    "ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role",
    "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
    "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler",
    "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
]

# What must exist before the Application syncs: the operators whose CRDs the manifests use,
# and the Secrets an operator creates by hand (docs/deploy.md, "First deploy").
PREREQUISITE_GROUPS = {
    "postgresql.cnpg.io": "the CloudNativePG operator",
    "barmancloud.cnpg.io": "the Barman Cloud plugin for CloudNativePG",
    "monitoring.coreos.com": "the Prometheus Operator",
}
PREREQUISITE_SECRETS = {
    "asset-inventory-api-tokens",
    "asset-inventory-grafana",
    "asset-inventory-backup-s3",
}

# Secrets CloudNativePG creates for a Cluster once it is healthy (its "Connecting from an
# application" and "Certificates" pages).
CNPG_SECRETS = ["-app", "-superuser", "-ca", "-replication", "-server"]


def step(obj):
    """(phase, wave, kind rank) of an object, or None when Argo CD skips it."""
    annotations = obj.get("metadata", {}).get("annotations") or {}
    hook = annotations.get("argocd.argoproj.io/hook")
    if hook == "Skip":
        return None
    phase = PHASES.index(hook.split(",")[0]) if hook else PHASES.index("Sync")
    wave = int(annotations.get("argocd.argoproj.io/sync-wave", "0"))
    kind = obj["kind"]
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return (phase, wave, rank)


def describe(position):
    phase, wave, _ = position
    return f"{PHASES[phase]} wave {wave}"


def pod_spec(obj):
    spec = obj.get("spec") or {}
    kind = obj["kind"]
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return spec.get("template", {}).get("spec")
    return None


def pod_uses(pod):
    """(kind, name) of every ServiceAccount, ConfigMap and Secret a pod needs to start."""
    uses = set()
    if pod.get("serviceAccountName") not in (None, "default"):
        uses.add(("ServiceAccount", pod["serviceAccountName"]))
    for secret in pod.get("imagePullSecrets") or []:
        uses.add(("Secret", secret["name"]))
    for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        for source in container.get("envFrom") or []:
            for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                ref = source.get(key)
                if ref and not ref.get("optional"):
                    uses.add((kind, ref["name"]))
        for env in container.get("env") or []:
            value = env.get("valueFrom") or {}
            for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                ref = value.get(key)
                if ref and not ref.get("optional"):
                    uses.add((kind, ref["name"]))
    for volume in pod.get("volumes") or []:
        if "secret" in volume and not volume["secret"].get("optional"):
            uses.add(("Secret", volume["secret"]["secretName"]))
        if "configMap" in volume and not volume["configMap"].get("optional"):
            uses.add(("ConfigMap", volume["configMap"]["name"]))
    return uses


def credential_secrets(node):
    """Secret names under any `*Credentials` map of a Barman object store configuration."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("Credentials") and isinstance(value, dict):
                for ref in value.values():
                    if isinstance(ref, dict) and "name" in ref:
                        found.add(ref["name"])
            else:
                found |= credential_secrets(value)
    elif isinstance(node, list):
        for value in node:
            found |= credential_secrets(value)
    return found


def custom_uses(obj):
    """What the custom resources we ship refer to by name."""
    kind, spec = obj["kind"], obj.get("spec") or {}
    group = obj["apiVersion"].split("/")[0]
    uses = set()
    if group == "postgresql.cnpg.io" and kind == "Cluster":
        for plugin in spec.get("plugins") or []:
            store = (plugin.get("parameters") or {}).get("barmanObjectName")
            if store:
                uses.add(("ObjectStore", store))
    if group == "postgresql.cnpg.io" and kind == "ScheduledBackup":
        uses.add(("Cluster", spec["cluster"]["name"]))
    if group == "barmancloud.cnpg.io" and kind == "ObjectStore":
        uses |= {("Secret", name) for name in credential_secrets(spec)}
    return uses


def check(objects):
    applied = {}  # (kind, name) -> position it is applied at
    produced = {}  # (kind, name) -> position of the resource whose health creates it
    plan = []
    for obj in objects:
        position = step(obj)
        if position is None:
            continue
        name = obj["metadata"]["name"]
        applied[(obj["kind"], name)] = position
        plan.append((position, obj["kind"], name, obj))
        if obj["kind"] == "Cluster" and obj["apiVersion"].startswith("postgresql.cnpg.io/"):
            for suffix in CNPG_SECRETS:
                produced[("Secret", name + suffix)] = position
    plan.sort(key=lambda item: (item[0], item[1], item[2]))

    errors = []
    for position, kind, name, obj in plan:
        group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
        builtin = group == "" or "." not in group or group.endswith(".k8s.io")
        if not builtin and group not in PREREQUISITE_GROUPS:
            errors.append(f"{kind} {name}: no prerequisite installs the CRD of group {group}")
        pod = pod_spec(obj)
        uses = (pod_uses(pod) if pod else set()) | custom_uses(obj)
        for used_kind, used_name in sorted(uses):
            key = (used_kind, used_name)
            where = f"{kind} {name} ({describe(position)}) uses {used_kind} {used_name}"
            if used_kind == "Secret" and used_name in PREREQUISITE_SECRETS:
                continue
            if key in applied:
                if applied[key] >= position:
                    errors.append(f"{where}, applied later ({describe(applied[key])})")
            elif key in produced:
                if produced[key][:2] >= position[:2]:
                    errors.append(
                        f"{where}, created by the operator only once the resource of "
                        f"{describe(produced[key])} is healthy: use a later wave"
                    )
            else:
                errors.append(f"{where}, which nothing creates")
    for position, kind, name, _ in plan:
        print(f"{describe(position):>16}  {kind} {name}")
    for error in errors:
        print(f"FAIL {error}")
    print(f"{len(plan)} resources, {len(errors)} ordering errors")
    return 1 if errors or not plan else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    docs = yaml.safe_load_all(pathlib.Path(sys.argv[1]).read_text())
    sys.exit(check([doc for doc in docs if doc]))
