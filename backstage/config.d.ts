import { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';

export interface Config {
  catalog?: {
    providers?: {
      /** The asset-inventory entity provider (@asset-inventory/plugin-catalog-backend-module-asset-inventory). */
      assetInventory?: {
        /** The API's base URL, e.g. https://inventory.example.com (the provider calls `<baseUrl>/graphql`). */
        baseUrl: string;
        /**
         * A viewer token made by `inventory-api new-token --role viewer`.
         * @visibility secret
         */
        token?: string;
        /** An OIDC client (client-credentials grant) whose tokens the API maps to `viewer`. */
        oidc?: {
          tokenUrl: string;
          clientId: string;
          /** @visibility secret */
          clientSecret: string;
          scope?: string;
          audience?: string;
        };
        /** How often the provider runs and how long one run may take. Default: every 5 minutes, 3 minutes. */
        schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
        filters?: {
          /** Cloud providers whose accounts become entities: AWS, GCP, AZURE. Default: all. */
          providers?: string[];
          /** Asset kinds: CloudAccount, MonitoringEndpoint. Default: both. */
          kinds?: string[];
          /** Emit removed assets (annotated asset-inventory/removed: "true") instead of removing them. Default: false. */
          includeRemoved?: boolean;
        };
        /** Assets per GraphQL page (1 to 500). Default: 500. */
        pageSize?: number;
        /** Milliseconds one GraphQL request may take. Default: 30000. */
        requestTimeoutMs?: number;
        /** Consecutive failed runs after which the next run is a full refresh. Default: 3. */
        fullRefreshAfterFailures?: number;
      };
    };
  };
}
