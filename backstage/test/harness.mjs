// Test harness: a real inventory-api process on a fresh database seeded from
// deploy/examples/inventory.json, the real inventory-collect binary for collector runs, and
// the two small recorders the provider's public API reports to (a catalog connection and a
// logger). Binaries: INVENTORY_API_BIN and INVENTORY_COLLECT_BIN, else the workspace's own
// debug build (built here when missing).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigReader } from '@backstage/config';
import { readSettings } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
export const workspace = resolve(here, '..', '..');
export const seedPath = join(workspace, 'deploy', 'examples', 'inventory.json');

function binary(variable, name) {
  if (process.env[variable]) return process.env[variable];
  const built = join(workspace, 'target', 'debug', name);
  if (!existsSync(built)) {
    execFileSync('cargo', ['build', '--bin', name], { cwd: workspace, stdio: 'inherit' });
  }
  return built;
}

export const apiBin = () => binary('INVENTORY_API_BIN', 'inventory-api');
export const collectBin = () => binary('INVENTORY_COLLECT_BIN', 'inventory-collect');

/** The backends to run on: SQLite always, PostgreSQL when INVENTORY_TEST_POSTGRES_URL is set. */
export function backends() {
  return process.env.INVENTORY_TEST_POSTGRES_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

async function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

function newToken(name, role) {
  const out = execFileSync(apiBin(), ['new-token', '--name', name, '--role', role], { encoding: 'utf8' });
  const lines = out.trim().split('\n');
  return { token: lines[1].trim(), entry: lines[lines.length - 1].trim() };
}

/** A running inventory-api on its own fresh database. */
export async function startInventory(backend) {
  const dir = mkdtempSync(join(tmpdir(), 'asset-inventory-backstage-'));
  const database =
    backend === 'postgres'
      ? {
          INVENTORY_DATABASE_URL: process.env.INVENTORY_TEST_POSTGRES_URL,
          INVENTORY_DATABASE_SCHEMA: `backstage_${randomBytes(6).toString('hex')}`,
          INVENTORY_MIGRATE: 'true',
        }
      : { INVENTORY_DATABASE_URL: `sqlite://${join(dir, 'inventory.db')}?mode=rwc` };
  const viewer = newToken('backstage', 'viewer');
  const editor = newToken('seeder', 'editor');
  const port = await freePort();
  const child = spawn(apiBin(), ['serve', '--seed-file', seedPath], {
    env: {
      ...process.env,
      ...database,
      INVENTORY_LISTEN: `127.0.0.1:${port}`,
      INVENTORY_API_TOKENS: `${viewer.entry},${editor.entry}`,
      INVENTORY_LOG_FORMAT: 'json',
      RUST_LOG: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', chunk => {
    stderr += chunk;
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`inventory-api exited: ${stderr}`);
    try {
      const ready = await fetch(`${baseUrl}/readyz`);
      if (ready.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`inventory-api did not become ready: ${stderr}`);
    await new Promise(r => setTimeout(r, 100));
  }

  const graphql = async (query, variables = {}, token = viewer.token) => {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };

  return {
    baseUrl,
    viewerToken: viewer.token,
    editorToken: editor.token,
    graphql,
    /** Runs inventory-collect on the same database with `args` (the source and its flags). */
    collect(args) {
      return execFileSync(collectBin(), args, {
        env: { ...process.env, ...database, INVENTORY_LOG_FORMAT: 'json', RUST_LOG: 'warn' },
        encoding: 'utf8',
      });
    },
    /** Writes a document next to the database and returns its path. */
    writeDocument(name, document) {
      const path = join(dir, name);
      writeFileSync(path, JSON.stringify(document));
      return path;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise(r => (child.exitCode !== null ? r() : child.once('exit', r)));
      if (backend === 'postgres') {
        try {
          execFileSync('psql', [process.env.INVENTORY_TEST_POSTGRES_URL, '-qc',
            `DROP SCHEMA IF EXISTS ${database.INVENTORY_DATABASE_SCHEMA} CASCADE`]);
        } catch {
          // psql absent: the schema stays in the test database, named for this run
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function seedDocument() {
  return JSON.parse(readFileSync(seedPath, 'utf8'));
}

/** The catalog's side of the connection, recording every mutation it is given. */
export class RecordingConnection {
  mutations = [];
  async applyMutation(mutation) {
    this.mutations.push(structuredClone(mutation));
  }
  async refresh() {}
}

/** A LoggerService that keeps what it is told. */
export class RecordingLogger {
  constructor(lines = []) {
    this.lines = lines;
  }
  error(message, meta) {
    this.lines.push({ level: 'error', message, meta });
  }
  warn(message, meta) {
    this.lines.push({ level: 'warn', message, meta });
  }
  info(message, meta) {
    this.lines.push({ level: 'info', message, meta });
  }
  debug(message, meta) {
    this.lines.push({ level: 'debug', message, meta });
  }
  child() {
    return new RecordingLogger(this.lines);
  }
  errors() {
    return this.lines.filter(line => line.level === 'error');
  }
}

/** Settings read the way the module reads them: app-config through readSettings. */
export function settings(baseUrl, token, provider = {}) {
  const config = new ConfigReader({
    catalog: { providers: { assetInventory: { baseUrl, token, pageSize: 5, requestTimeoutMs: 5000, ...provider } } },
  });
  return readSettings(config);
}
