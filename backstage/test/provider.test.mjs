// The entity provider against a real inventory-api (SQLite, and PostgreSQL when
// INVENTORY_TEST_POSTGRES_URL is set), through the package's public entry point.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DefaultNamespaceEntityPolicy,
  EntityPolicies,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  resourceEntityV1alpha1Validator,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { AssetInventoryEntityProvider } from '../dist/index.js';
import {
  backends,
  RecordingConnection,
  RecordingLogger,
  seedDocument,
  settings,
  startInventory,
} from './harness.mjs';

const policy = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
  new SchemaValidEntityPolicy(),
]);

async function valid(entity) {
  const enforced = await policy.enforce(entity);
  assert.ok(enforced, `${stringifyEntityRef(entity)} was refused by the entity policies`);
  assert.equal(await resourceEntityV1alpha1Validator.check(entity), true, stringifyEntityRef(entity));
}

const refs = entities => entities.map(e => stringifyEntityRef(e.entity)).sort();

for (const backend of backends()) {
  describe(`the provider on ${backend}`, () => {
    let inventory;
    before(async () => {
      inventory = await startInventory(backend);
    });
    after(async () => {
      await inventory?.stop();
    });

    test('a full refresh, then a delta with exactly what changed', async () => {
      const seed = seedDocument();
      const expected = seed.accounts.length + seed.endpoints.length;
      const connection = new RecordingConnection();
      const logger = new RecordingLogger();
      const provider = new AssetInventoryEntityProvider(settings(inventory.baseUrl, inventory.viewerToken), logger);
      await provider.connect(connection);

      const first = await provider.run();
      assert.deepEqual(first, { type: 'full', entities: expected });
      assert.equal(connection.mutations.length, 1);
      const [full] = connection.mutations;
      assert.equal(full.type, 'full');
      assert.equal(full.entities.length, expected);
      const location = `url:${inventory.baseUrl}/graphql`;
      for (const { entity, locationKey } of full.entities) {
        await valid(entity);
        assert.equal(entity.metadata.annotations['backstage.io/managed-by-location'], location);
        assert.equal(entity.metadata.annotations['backstage.io/managed-by-origin-location'], location);
        assert.equal(locationKey, `asset-inventory:${entity.metadata.annotations['asset-inventory/id']}`);
      }
      assert.ok(refs(full.entities).includes('resource:default/aws-210987654322'));

      // Nothing changed: a delta run that applies nothing.
      assert.deepEqual(await provider.run(), { type: 'delta', added: 0, removed: 0, pages: 1 });
      assert.equal(connection.mutations.length, 1);

      // A person seeds an endpoint; a collector run no longer sees one AWS account.
      await inventory.graphql(
        `mutation($input: UpsertMonitoringEndpointInput!) {
           upsertMonitoringEndpoint(input: $input) { outcome }
         }`,
        { input: { id: 'prom-backstage-test', kind: 'PROMETHEUS', url: 'https://prom.backstage-test.example.com' } },
        inventory.editorToken,
      );
      const organization = seed.accounts.filter(a => a.scope === 'o-a1b2c3d4e5');
      const remaining = organization.filter(a => a.native_id !== '210987654322');
      const path = inventory.writeDocument('organization.json', { accounts: remaining, endpoints: [] });
      inventory.collect(['file', '--scope', 'o-a1b2c3d4e5', path]);

      const second = await provider.run();
      assert.equal(second.type, 'delta');
      assert.equal(connection.mutations.length, 2);
      const delta = connection.mutations[1];
      assert.equal(delta.type, 'delta');
      assert.deepEqual(refs(delta.added), ['resource:default/endpoint-prom-backstage-test']);
      assert.deepEqual(refs(delta.removed), ['resource:default/aws-210987654322']);
      await valid(delta.added[0].entity);
      assert.equal(delta.added[0].entity.metadata.annotations['backstage.io/managed-by-location'], location);
      assert.deepEqual(logger.errors(), []);
    });

    // After the test above, which removed aws-210987654322.
    test('filters: one cloud, accounts only, with and without removed assets', async () => {
      const aws = seedDocument().accounts.filter(a => a.provider === 'aws');
      for (const includeRemoved of [false, true]) {
        const connection = new RecordingConnection();
        const provider = new AssetInventoryEntityProvider(
          settings(inventory.baseUrl, inventory.viewerToken, {
            filters: { providers: ['aws'], kinds: ['CloudAccount'], includeRemoved },
          }),
          new RecordingLogger(),
        );
        await provider.connect(connection);
        await provider.run();
        const entities = connection.mutations[0].entities;
        assert.equal(entities.length, includeRemoved ? aws.length : aws.length - 1);
        for (const { entity } of entities) assert.match(entity.metadata.name, /^aws-/);
        const removed = entities.find(e => e.entity.metadata.name === 'aws-210987654322');
        if (includeRemoved) {
          assert.equal(removed.entity.metadata.annotations['asset-inventory/removed'], 'true');
        } else {
          assert.equal(removed, undefined);
        }
      }
    });

    test('an unusable cursor brings back a full refresh', async () => {
      const connection = new RecordingConnection();
      const logger = new RecordingLogger();
      const provider = new AssetInventoryEntityProvider(settings(inventory.baseUrl, inventory.viewerToken), logger);
      await provider.connect(connection);
      assert.equal((await provider.run()).type, 'full');
      // As if the cursor had been kept across an inventory that was restored from a backup
      // and no longer knows it: the feed refuses it.
      provider.cursor = 'bm90LWEtY3Vyc29y';
      const refused = await provider.run();
      assert.equal(refused.type, 'failed');
      assert.equal(refused.error.kind, 'cursor');
      assert.equal(connection.mutations.length, 1, 'a refused run applies nothing');
      assert.match(logger.errors()[0].message, /next run is a full refresh/);
      assert.equal((await provider.run()).type, 'full');
    });
  });
}
