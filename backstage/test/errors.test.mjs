// What the provider does when the inventory cannot be used: a refused token, no server, an
// answer that is not what the operations ask for, a server that never answers, failures
// that repeat. Each run fails with a logged error and applies nothing, so the catalog keeps
// what it had.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { AssetInventoryEntityProvider } from '../dist/index.js';
import { RecordingConnection, RecordingLogger, settings, startInventory } from './harness.mjs';

/** A local HTTP server answering every request with `answer(request, body)`. */
async function serve(answer) {
  const server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    await answer(request, response, body);
  });
  await new Promise(r => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise(r => server.close(r)) };
}

async function failedRun(config) {
  const connection = new RecordingConnection();
  const logger = new RecordingLogger();
  const provider = new AssetInventoryEntityProvider(config, logger);
  await provider.connect(connection);
  const outcome = await provider.run();
  assert.equal(outcome.type, 'failed');
  assert.deepEqual(connection.mutations, [], 'a failed run applies nothing');
  assert.equal(logger.errors().length, 1);
  return { outcome, logger };
}

describe('failures', () => {
  let inventory;
  before(async () => {
    inventory = await startInventory('sqlite');
  });
  after(async () => {
    await inventory?.stop();
  });

  test('a refused token', async () => {
    const token = 'inv_ThisTokenWasNeverIssuedByTheInventory0000000';
    const { outcome, logger } = await failedRun(settings(inventory.baseUrl, token));
    assert.equal(outcome.error.kind, 'auth');
    assert.match(logger.errors()[0].message, /full refresh failed \(auth/);
    assert.ok(!JSON.stringify(logger.lines).includes(token), 'the token was logged');
  });

  test('no server', async () => {
    const gone = await serve(() => {});
    await gone.close();
    const { outcome } = await failedRun(settings(gone.url, 'inv_x'));
    assert.equal(outcome.error.kind, 'unreachable');
    assert.match(outcome.error.message, /cannot reach/);
  });

  test('answers that are not GraphQL responses', async () => {
    const answers = [
      [200, 'text/html', '<html><body>Sign in</body></html>'],
      [502, 'text/html', '<html>Bad gateway</html>'],
      [200, 'application/json', '[1, 2, 3]'],
      [200, 'application/json', '{"data": {"changesHead": 42}}'],
      [200, 'application/json', '{"data": {"changesHead": null, "accounts": {"nodes": "x"}}}'],
      [200, 'application/json', '{"data": {"changesHead": null, "accounts": {"pageInfo": {"hasNextPage": false, "endCursor": null}, "nodes": [{"backstageEntity": "not an entity"}]}}}'],
    ];
    for (const [status, type, body] of answers) {
      const server = await serve((_, response) => {
        response.writeHead(status, { 'content-type': type });
        response.end(body);
      });
      try {
        const { outcome } = await failedRun(settings(server.url, 'inv_x'));
        assert.equal(outcome.error.kind, 'malformed', `${status} ${body}: ${outcome.error.message}`);
      } finally {
        await server.close();
      }
    }
  });

  test('a server that never answers', async () => {
    const silent = await serve(() => {});
    try {
      const { outcome } = await failedRun(settings(silent.url, 'inv_x', { requestTimeoutMs: 300 }));
      assert.equal(outcome.error.kind, 'unreachable');
    } finally {
      silent.closeAllConnections?.();
      await silent.close();
    }
  });

  test('failures that repeat bring back a full refresh', async () => {
    let failing = false;
    const proxy = await serve(async (request, response, body) => {
      if (failing) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end('{"errors": [{"message": "internal error", "extensions": {"code": "INTERNAL"}}]}');
        return;
      }
      const upstream = await fetch(`${inventory.baseUrl}${request.url}`, {
        method: request.method,
        headers: { 'content-type': 'application/json', authorization: request.headers.authorization },
        body,
      });
      response.writeHead(upstream.status, { 'content-type': 'application/json' });
      response.end(await upstream.text());
    });
    try {
      const connection = new RecordingConnection();
      const logger = new RecordingLogger();
      const provider = new AssetInventoryEntityProvider(
        settings(proxy.url, inventory.viewerToken, { fullRefreshAfterFailures: 2 }),
        logger,
      );
      await provider.connect(connection);
      assert.equal((await provider.run()).type, 'full');
      failing = true;
      assert.equal((await provider.run()).error.kind, 'graphql');
      assert.doesNotMatch(logger.errors()[0].message, /next run is a full refresh/);
      assert.equal((await provider.run()).type, 'failed');
      assert.match(logger.errors()[1].message, /2 in a row\); the catalog keeps what it had; the next run is a full refresh/);
      failing = false;
      assert.equal((await provider.run()).type, 'full');
      assert.deepEqual(connection.mutations.map(m => m.type), ['full', 'full']);
    } finally {
      await proxy.close();
    }
  });
});
