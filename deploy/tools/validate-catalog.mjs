// Validates a Backstage catalog file (path as the argument) the way Backstage's catalog does
// on ingestion: the entity policies (envelope, field formats, schema) and the validator of
// each entity's kind. A `$text` definition must name a file that exists. The API's tests
// run it on the entities `backstageEntity` projects (JSON documents are YAML too).
import { readFileSync, existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import {
  EntityPolicies,
  DefaultNamespaceEntityPolicy,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  parseEntityRef,
  KubernetesValidatorFunctions,
} from "@backstage/catalog-model";

const file = process.argv[2];
const policy = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
  new SchemaValidEntityPolicy(),
]);
const validators = {
  Component: componentEntityV1alpha1Validator,
  API: apiEntityV1alpha1Validator,
  Resource: resourceEntityV1alpha1Validator,
};

let failed = 0;
for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
  const entity = doc.toJS();
  const name = `${entity?.kind} ${entity?.metadata?.name}`;
  try {
    if (doc.errors.length > 0) throw new Error(doc.errors[0].message);
    // The catalog resolves `$text` placeholders before it validates; so do we.
    const text = entity.spec?.definition?.$text;
    if (text) {
      const path = resolve(dirname(file), text);
      if (!existsSync(path)) throw new Error(`${text} does not exist`);
      entity.spec.definition = readFileSync(path, "utf8");
    }
    await policy.enforce(entity);
    const validator = validators[entity.kind];
    if (!validator) throw new Error("no validator for this kind");
    if (!(await validator.check(entity))) throw new Error("not recognised by its kind's validator");
    // The catalog's built-in processor turns these into relations with parseEntityRef; a ref
    // it cannot parse, or whose parts break the naming rules, fails ingestion there.
    const refs = [entity.spec?.owner, entity.spec?.system, ...(entity.spec?.dependsOn ?? [])];
    for (const ref of refs.filter((r) => r !== undefined)) {
      const parsed = parseEntityRef(ref, { defaultKind: "Group", defaultNamespace: "default" });
      if (!KubernetesValidatorFunctions.isValidObjectName(parsed.name)
        || !KubernetesValidatorFunctions.isValidNamespace(parsed.namespace)) {
        throw new Error(`${ref} is not a valid entity ref`);
      }
    }
    console.log(`ok   ${name}`);
  } catch (error) {
    console.error(`FAIL ${name}: ${error.message}`);
    failed += 1;
  }
}
process.exit(failed > 0 ? 1 : 0);
