// Validates GraphQL operation documents against the schema with graphql-js, the reference
// implementation that Backstage, codegen and most clients use, so an operation that only
// our server (async-graphql) would accept fails here.
// Usage: node validate-operations.mjs SCHEMA.graphql OPERATION.graphql...
import { readFileSync } from "node:fs";
import { buildSchema, parse, validate } from "graphql";

const [schemaPath, ...operations] = process.argv.slice(2);
if (!schemaPath || operations.length === 0) {
  console.error("usage: node validate-operations.mjs SCHEMA.graphql OPERATION.graphql...");
  process.exit(2);
}
const schema = buildSchema(readFileSync(schemaPath, "utf8"));
let failed = 0;
for (const path of operations) {
  let errors;
  try {
    errors = validate(schema, parse(readFileSync(path, "utf8")));
  } catch (error) {
    errors = [error];
  }
  for (const error of errors) console.error(`FAIL ${path}: ${error.message}`);
  if (errors.length > 0) failed += 1;
  else console.log(`ok   ${path}`);
}
console.log(`${operations.length - failed} operations valid, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
