// Validates the custom resources of rendered manifests (YAML on stdin) against the schemas
// that @kubernetes-models generates from the upstream CRDs. Fails on an invalid resource
// and on a custom resource kind it has no schema for, so nothing passes unchecked.
// kubernetes-validate checks the built-in kinds; this checks the rest.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { Cluster } from "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster";
import { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application";

const models = {
  "postgresql.cnpg.io/v1/Cluster": Cluster,
  "argoproj.io/v1alpha1/Application": Application,
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
