import { LoggerService, SchedulerServiceTaskRunner } from '@backstage/backend-plugin-api';
import { DeferredEntity, EntityProvider, EntityProviderConnection } from '@backstage/plugin-catalog-node';
import { metrics } from '@opentelemetry/api';
import { InventoryClient, InventoryError, isObject, OperationName } from './client';
import { Asset, deferred, readAsset, selected } from './entities';
import { AssetKind, ProviderSettings } from './config';

/** What one run did. */
export type RunOutcome =
  | { type: 'full'; entities: number }
  | { type: 'delta'; added: number; removed: number; pages: number }
  | { type: 'failed'; error: InventoryError | Error };

interface Page {
  nodes: unknown[];
  hasNextPage: boolean;
  endCursor: string | null;
}

const meter = metrics.getMeter('asset-inventory-entity-provider');
const runs = meter.createCounter('asset_inventory_provider_runs_total', {
  description: 'Runs of the asset-inventory entity provider, by type (full, delta, failed).',
});
const changed = meter.createCounter('asset_inventory_provider_entities_total', {
  description: 'Entities the asset-inventory entity provider applied, by mutation (full, added, removed).',
});

/**
 * Keeps the catalog equal to the inventory: a full refresh first (every account and
 * endpoint as the inventory projects it, `backstageEntity`), then, run after run, only what
 * the change feed says changed since the cursor kept from the last run. An unusable cursor,
 * or failures that repeat, bring back a full refresh. A failed run applies nothing, so the
 * catalog keeps what it had.
 */
export class AssetInventoryEntityProvider implements EntityProvider {
  private connection?: EntityProviderConnection;
  private readonly client: InventoryClient;
  private cursor: string | null = null;
  private needsFull = true;
  private failures = 0;

  constructor(
    private readonly settings: ProviderSettings,
    private readonly logger: LoggerService,
    private readonly taskRunner?: SchedulerServiceTaskRunner,
    fetchImpl?: typeof fetch,
  ) {
    this.client = new InventoryClient({
      baseUrl: settings.baseUrl,
      credential: settings.credential,
      requestTimeoutMs: settings.requestTimeoutMs,
      fetch: fetchImpl,
    });
  }

  getProviderName(): string {
    return 'asset-inventory';
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    await this.taskRunner?.run({
      id: `${this.getProviderName()}:refresh`,
      fn: async () => {
        await this.run();
      },
    });
  }

  /** One run: full or incremental. Never throws: a failure is logged, counted and returned. */
  async run(): Promise<RunOutcome> {
    const type = this.needsFull ? 'full' : 'delta';
    try {
      const outcome = this.needsFull ? await this.full() : await this.incremental();
      this.failures = 0;
      runs.add(1, { type });
      return outcome;
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      this.failures += 1;
      const kind = error instanceof InventoryError ? error.kind : 'internal';
      const fallBack =
        kind === 'cursor' || this.failures >= this.settings.fullRefreshAfterFailures;
      if (fallBack) this.needsFull = true;
      runs.add(1, { type: 'failed' });
      this.logger.error(
        `asset-inventory ${type} refresh failed (${kind}, ${this.failures} in a row); the catalog keeps what it had` +
          (fallBack ? '; the next run is a full refresh' : ''),
        { error: error.message, failure: kind },
      );
      return { type: 'failed', error };
    }
  }

  private connected(): EntityProviderConnection {
    if (!this.connection) throw new Error('the asset-inventory entity provider is not connected');
    return this.connection;
  }

  private get location(): string {
    return `url:${this.client.endpoint}`;
  }

  private async full(): Promise<RunOutcome> {
    const connection = this.connected();
    // The head first: whatever is written while the lists are read is then replayed by the
    // next incremental run, never missed.
    const head = await this.client.query('changesHead', {});
    const cursor = head.changesHead;
    if (cursor !== null && typeof cursor !== 'string') {
      throw new InventoryError('malformed', 'changesHead is neither a cursor nor null');
    }
    const { filters } = this.settings;
    const assets: Asset[] = [];
    if (filters.kinds.includes('CloudAccount')) {
      await this.pages('accountEntities', 'accounts', 'CloudAccount', { providers: filters.providers ?? null }, assets);
    }
    if (filters.kinds.includes('MonitoringEndpoint')) {
      await this.pages('endpointEntities', 'monitoringEndpoints', 'MonitoringEndpoint', {}, assets);
    }
    const entities = assets
      .filter(asset => selected(asset, filters) && (filters.includeRemoved || !asset.removed))
      .map(asset => deferred(asset, this.location));
    await connection.applyMutation({ type: 'full', entities });
    this.cursor = cursor;
    this.needsFull = false;
    changed.add(entities.length, { mutation: 'full' });
    this.logger.info(`asset-inventory full refresh applied ${entities.length} entities`, {
      entities: entities.length,
    });
    return { type: 'full', entities: entities.length };
  }

  private async pages(
    operation: OperationName,
    field: string,
    kind: AssetKind,
    variables: Record<string, unknown>,
    into: Asset[],
  ): Promise<void> {
    let after: string | null = null;
    for (;;) {
      const data = await this.client.query(operation, { ...variables, first: this.settings.pageSize, after });
      const page = readPage(data[field], field);
      for (const node of page.nodes) into.push(readAsset(kind, node));
      if (!page.hasNextPage) return;
      if (!page.endCursor || page.endCursor === after) {
        throw new InventoryError('malformed', `${field} says it has a next page but gives no new cursor`);
      }
      after = page.endCursor;
    }
  }

  private async incremental(): Promise<RunOutcome> {
    const connection = this.connected();
    const { filters } = this.settings;
    let added = 0;
    let removed = 0;
    let pages = 0;
    for (;;) {
      const data = await this.client.query('entityChanges', { after: this.cursor, first: this.settings.pageSize });
      const page = readPage(data.changes, 'changes');
      // Several changes of one asset carry the same current entity: apply it once.
      const upserts = new Map<string, DeferredEntity>();
      const removals = new Map<string, DeferredEntity>();
      for (const node of page.nodes) {
        if (!isObject(node)) throw new InventoryError('malformed', 'a change is not an object');
        const kind = node.assetType === 'MONITORING_ENDPOINT' ? 'MonitoringEndpoint' : 'CloudAccount';
        if (node.asset === null || node.asset === undefined) continue;
        const asset = readAsset(kind, node.asset);
        if (!selected(asset, filters)) continue;
        const entity = deferred(asset, this.location);
        const key = entity.locationKey as string;
        if (asset.removed && !filters.includeRemoved) {
          upserts.delete(key);
          removals.set(key, entity);
        } else {
          removals.delete(key);
          upserts.set(key, entity);
        }
      }
      if (upserts.size + removals.size > 0) {
        await connection.applyMutation({ type: 'delta', added: [...upserts.values()], removed: [...removals.values()] });
      }
      // Kept only once the page is applied: reapplying a page is harmless, skipping one is not.
      if (page.endCursor) this.cursor = page.endCursor;
      added += upserts.size;
      removed += removals.size;
      pages += 1;
      if (!page.hasNextPage) break;
    }
    changed.add(added, { mutation: 'added' });
    changed.add(removed, { mutation: 'removed' });
    if (added + removed > 0) {
      this.logger.info(`asset-inventory delta applied ${added} added or changed, ${removed} removed`, {
        added,
        removed,
      });
    }
    return { type: 'delta', added, removed, pages };
  }
}

function readPage(value: unknown, field: string): Page {
  if (!isObject(value) || !Array.isArray(value.nodes) || !isObject(value.pageInfo)) {
    throw new InventoryError('malformed', `${field} is not a page of nodes`);
  }
  const { hasNextPage, endCursor } = value.pageInfo;
  if (typeof hasNextPage !== 'boolean' || (endCursor !== null && typeof endCursor !== 'string')) {
    throw new InventoryError('malformed', `${field}.pageInfo is not a page info`);
  }
  return { nodes: value.nodes, hasNextPage, endCursor };
}
