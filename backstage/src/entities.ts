import {
  ANNOTATION_LOCATION,
  ANNOTATION_ORIGIN_LOCATION,
  Entity,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { DeferredEntity } from '@backstage/plugin-catalog-node';
import { InventoryError, isObject } from './client';
import { AssetKind, CloudProvider, Filters } from './config';

/** The annotation the inventory sets on a removed asset's entity. */
export const ANNOTATION_REMOVED = 'asset-inventory/removed';
/** The asset's stable id in the inventory. */
export const ANNOTATION_ID = 'asset-inventory/id';

/** One asset as the operations return it: its entity and what the filters look at. */
export interface Asset {
  kind: AssetKind;
  provider?: CloudProvider;
  entity: Entity;
  removed: boolean;
}

/** Reads an asset node (a page's node, or a change's `asset`); throws `malformed` when the
 * inventory's answer does not have the shape the operations ask for. */
export function readAsset(kind: AssetKind, node: unknown): Asset {
  if (!isObject(node)) throw new InventoryError('malformed', `a ${kind} node is not an object`);
  const entity = node.backstageEntity;
  if (
    !isObject(entity) ||
    typeof entity.apiVersion !== 'string' ||
    typeof entity.kind !== 'string' ||
    !isObject(entity.metadata) ||
    typeof entity.metadata.name !== 'string'
  ) {
    throw new InventoryError('malformed', `a ${kind} node has no usable backstageEntity`);
  }
  const annotations = isObject(entity.metadata.annotations) ? entity.metadata.annotations : {};
  return {
    kind,
    provider: typeof node.provider === 'string' ? (node.provider as CloudProvider) : undefined,
    entity: entity as unknown as Entity,
    removed: (node.removedAt ?? null) !== null || annotations[ANNOTATION_REMOVED] === 'true',
  };
}

/** Whether the configured filters let this asset into the catalog at all (removed or not). */
export function selected(asset: Asset, filters: Filters): boolean {
  if (!filters.kinds.includes(asset.kind)) return false;
  if (asset.kind === 'CloudAccount' && filters.providers && asset.provider) {
    return filters.providers.includes(asset.provider);
  }
  return true;
}

/** The entity as the catalog gets it: with the location annotations that say where this
 * provider found it, and the asset's id as its location key. */
export function deferred(asset: Asset, location: string): DeferredEntity {
  const metadata = asset.entity.metadata;
  const annotations: Record<string, string> = {
    ...(metadata.annotations ?? {}),
    [ANNOTATION_LOCATION]: location,
    [ANNOTATION_ORIGIN_LOCATION]: location,
  };
  const id = annotations[ANNOTATION_ID];
  return {
    entity: { ...asset.entity, metadata: { ...metadata, annotations } },
    locationKey: `asset-inventory:${id ?? stringifyEntityRef(asset.entity)}`,
  };
}
