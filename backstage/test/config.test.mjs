// app-config as the module reads it: defaults, and a clear error naming the key for each
// mistake an adopter can make.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigReader } from '@backstage/config';
import { readSettings } from '../dist/index.js';

const read = provider => readSettings(new ConfigReader({ catalog: { providers: { assetInventory: provider } } }));

test('defaults: every kind, every cloud, removed assets left out, every 5 minutes', () => {
  const settings = read({ baseUrl: 'https://inventory.example.com/', token: 'inv_x' });
  assert.equal(settings.baseUrl, 'https://inventory.example.com');
  assert.deepEqual(settings.credential, { type: 'token', token: 'inv_x' });
  assert.deepEqual(settings.filters, { providers: undefined, kinds: ['CloudAccount', 'MonitoringEndpoint'], includeRemoved: false });
  assert.equal(settings.pageSize, 500);
  assert.deepEqual(settings.schedule, { frequency: { minutes: 5 }, timeout: { minutes: 3 } });
});

test('an OIDC client and a schedule', () => {
  const settings = read({
    baseUrl: 'https://inventory.example.com',
    oidc: { tokenUrl: 'https://sso.example.com/token', clientId: 'backstage', clientSecret: 's' },
    schedule: { frequency: { minutes: 1 }, timeout: { seconds: 50 } },
    filters: { providers: ['aws', 'GCP'], kinds: ['CloudAccount'], includeRemoved: true },
  });
  assert.equal(settings.credential.type, 'oidc');
  assert.deepEqual(settings.filters.providers, ['AWS', 'GCP']);
  assert.deepEqual(settings.schedule.frequency, { minutes: 1 });
});

test('mistakes are refused with the key they concern', () => {
  const cases = [
    [{ baseUrl: 'not a url', token: 't' }, /baseUrl is not a URL/],
    [{ baseUrl: 'ftp://inventory.example.com', token: 't' }, /baseUrl must be http/],
    [{ baseUrl: 'https://i.example.com' }, /exactly one credential/],
    [{ baseUrl: 'https://i.example.com', token: 't', oidc: { tokenUrl: 'x', clientId: 'c', clientSecret: 's' } }, /exactly one credential/],
    [{ baseUrl: 'https://i.example.com', token: 't', filters: { providers: ['oracle'] } }, /unknown provider ORACLE/],
    [{ baseUrl: 'https://i.example.com', token: 't', filters: { kinds: ['Bucket'] } }, /unknown kind Bucket/],
    [{ baseUrl: 'https://i.example.com', token: 't', pageSize: 5000 }, /pageSize/],
  ];
  for (const [provider, message] of cases) {
    assert.throws(() => read(provider), message);
  }
});
