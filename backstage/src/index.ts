/**
 * Backstage catalog module for asset-inventory: cloud accounts and monitoring endpoints as
 * catalog entities, kept current from the inventory's change feed.
 */
export { catalogModuleAssetInventory as default } from './module';
export { AssetInventoryEntityProvider } from './provider';
export type { RunOutcome } from './provider';
export { readSettings, CONFIG_KEY } from './config';
export type { ProviderSettings, Credential, Filters } from './config';
export { InventoryError } from './client';
