import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { readSettings } from './config';
import { AssetInventoryEntityProvider } from './provider';

/**
 * The catalog module: reads `catalog.providers.assetInventory` and registers the entity
 * provider, which runs on the configured schedule.
 *
 * `backend.add(import('@asset-inventory/plugin-catalog-backend-module-asset-inventory'))`
 */
export const catalogModuleAssetInventory = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'asset-inventory',
  register(env) {
    env.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
      },
      async init({ catalog, config, logger, scheduler }) {
        const settings = readSettings(config);
        const taskRunner = scheduler.createScheduledTaskRunner(settings.schedule);
        catalog.addEntityProvider(new AssetInventoryEntityProvider(settings, logger, taskRunner));
      },
    });
  },
});
