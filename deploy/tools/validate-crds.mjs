// Validates the custom resources of rendered manifests (YAML on stdin) against the schemas
// that @kubernetes-models generates from the upstream CRDs. Fails on an invalid resource
// and on a custom resource kind it has no schema for, so nothing passes unchecked.
// kubernetes-validate checks the built-in kinds; this checks the rest.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { Cluster } from "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster";
import { ScheduledBackup } from "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/ScheduledBackup";
import { BarmanObjectStoreConfiguration } from "@kubernetes-models/cloudnative-pg/github.com/cloudnative-pg/barman-cloud/pkg/api/BarmanObjectStoreConfiguration";
import { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ClusterPolicy } from "@kubernetes-models/kyverno/kyverno.io/v1/ClusterPolicy";

// The Barman Cloud plugin's ObjectStore has no published model. Its documentation ("Using
// the Barman Cloud Plugin") says `.spec.configuration` has exactly the schema of
// CloudNativePG's in-tree `barmanObjectStore`, which the CloudNativePG models carry; the
// rest of its spec is the retention policy and the sidecar's settings.
class ObjectStore {
  constructor(object) {
    this.object = object;
  }

  validate() {
    const { spec, ...rest } = this.object;
    if (!rest.metadata?.name) throw new Error("metadata.name is required");
    const known = ["configuration", "retentionPolicy", "instanceSidecarConfiguration"];
    const unknown = Object.keys(spec ?? {}).filter((key) => !known.includes(key));
    if (unknown.length > 0) throw new Error(`unknown spec fields: ${unknown.join(", ")}`);
    if (spec.retentionPolicy !== undefined && !/^[1-9][0-9]*[dwm]$/.test(spec.retentionPolicy)) {
      throw new Error(`retentionPolicy ${spec.retentionPolicy} is not <number>[dwm]`);
    }
    new BarmanObjectStoreConfiguration(spec.configuration).validate();
  }
}

const models = {
  "postgresql.cnpg.io/v1/Cluster": Cluster,
  "postgresql.cnpg.io/v1/ScheduledBackup": ScheduledBackup,
  "barmancloud.cnpg.io/v1/ObjectStore": ObjectStore,
  "argoproj.io/v1alpha1/Application": Application,
  "monitoring.coreos.com/v1/PodMonitor": PodMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "kyverno.io/v1/ClusterPolicy": ClusterPolicy,
};

// Core and *.k8s.io groups are Kubernetes' own: kubernetes-validate has their schemas.
const builtIn = (apiVersion) => !apiVersion.includes(".") || /\.k8s\.io\//.test(apiVersion);

let failed = 0;
let checked = 0;
const source = readFileSync(0, "utf8");
for (const doc of parseAllDocuments(source)) {
  if (doc.errors.length > 0) {
    console.error(`YAML error: ${doc.errors[0].message}`);
    failed += 1;
    continue;
  }
  const object = doc.toJS();
  if (!object) continue;
  const key = `${object.apiVersion}/${object.kind}`;
  const name = `${key} ${object.metadata?.name}`;
  if (builtIn(object.apiVersion)) continue;
  const Model = models[key];
  if (!Model) {
    console.error(`FAIL ${name}: no schema for this custom resource kind`);
    failed += 1;
    continue;
  }
  try {
    new Model(object).validate();
    checked += 1;
    console.log(`ok   ${name}`);
  } catch (error) {
    console.error(`FAIL ${name}: ${error.message}`);
    failed += 1;
  }
}
console.log(`${checked} custom resources valid, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
