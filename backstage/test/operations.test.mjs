// The operations the provider sends, validated by graphql-js (the reference implementation
// that Backstage and code generators use) against the API's committed schema.graphql, which
// the API's own tests hold equal to the served schema: a schema change that breaks the
// provider fails here.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildSchema, parse, validate } from 'graphql';
import { workspace } from './harness.mjs';

const schema = buildSchema(readFileSync(join(workspace, 'schema.graphql'), 'utf8'));
const folder = join(workspace, 'backstage', 'operations');
const files = readdirSync(folder).filter(name => name.endsWith('.graphql'));

test('the package ships the four operations the provider sends, and more for plugin pages', () => {
  for (const name of ['changes-head.graphql', 'account-entities.graphql', 'endpoint-entities.graphql', 'entity-changes.graphql']) {
    assert.ok(files.includes(name), name);
  }
});

for (const name of files) {
  test(`${name} is valid against schema.graphql`, () => {
    const errors = validate(schema, parse(readFileSync(join(folder, name), 'utf8')));
    assert.deepEqual(errors.map(e => e.message), []);
  });
}

test('a broken operation is caught', () => {
  const errors = validate(schema, parse('query { accounts { nodes { noSuchField } } }'));
  assert.equal(errors.length, 1);
});
