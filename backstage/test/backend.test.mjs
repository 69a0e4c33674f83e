// The module installed as an adopter installs it (`backend.add(import(...))`), in a real
// Backstage backend (backend-test-utils' startTestBackend with the catalog plugin and its
// SQLite database), against a real inventory-api: the catalog ends up serving every asset.
// The test backend with the catalog plugin leaves a timer running after `stop()` (with or
// without this module), so `npm test` runs node with --test-force-exit.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { seedDocument, startInventory } from './harness.mjs';

let inventory;
let backend;
before(async () => {
  inventory = await startInventory('sqlite');
});
after(async () => {
  await backend?.stop();
  await inventory?.stop();
});

test('the module registers with the catalog and fills it', { timeout: 120_000 }, async () => {
  backend = await startTestBackend({
    features: [
      import('@backstage/plugin-catalog-backend'),
      import('../dist/index.js'),
      mockServices.rootConfig.factory({
        data: {
          catalog: {
            providers: {
              assetInventory: {
                baseUrl: inventory.baseUrl,
                token: inventory.viewerToken,
                schedule: { frequency: { seconds: 2 }, timeout: { seconds: 30 } },
              },
            },
          },
        },
      }),
    ],
  });
  const seed = seedDocument();
  const expected = seed.accounts.length + seed.endpoints.length;
  const url = `http://localhost:${backend.server.port()}/api/catalog/entities/by-query?filter=kind=resource&limit=100`;
  const headers = { authorization: mockCredentials.user.header() };
  let items = [];
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const response = await fetch(url, { headers });
    assert.equal(response.status, 200);
    items = (await response.json()).items;
    if (items.length >= expected) break;
    await new Promise(r => setTimeout(r, 500));
  }
  assert.equal(items.length, expected);
  const account = items.find(e => e.metadata.name === 'aws-111111111111');
  assert.ok(account, 'aws-111111111111 is in the catalog');
  assert.equal(account.spec.type, 'cloud-account');
  assert.equal(account.metadata.annotations['backstage.io/managed-by-location'], `url:${inventory.baseUrl}/graphql`);
});
