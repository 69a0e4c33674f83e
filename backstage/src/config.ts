import {
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';

/** Where the provider's settings live in app-config.yaml. */
export const CONFIG_KEY = 'catalog.providers.assetInventory';

export type Credential =
  | { type: 'token'; token: string }
  | {
      type: 'oidc';
      tokenUrl: string;
      clientId: string;
      clientSecret: string;
      scope?: string;
      audience?: string;
    };

export type AssetKind = 'CloudAccount' | 'MonitoringEndpoint';
export type CloudProvider = 'AWS' | 'GCP' | 'AZURE';

export interface Filters {
  providers?: CloudProvider[];
  kinds: AssetKind[];
  includeRemoved: boolean;
}

export interface ProviderSettings {
  baseUrl: string;
  credential: Credential;
  filters: Filters;
  pageSize: number;
  requestTimeoutMs: number;
  fullRefreshAfterFailures: number;
  schedule: SchedulerServiceTaskScheduleDefinition;
}

const KINDS: AssetKind[] = ['CloudAccount', 'MonitoringEndpoint'];
const PROVIDERS: CloudProvider[] = ['AWS', 'GCP', 'AZURE'];

/** Reads `catalog.providers.assetInventory`; throws a message naming the bad key. */
export function readSettings(root: Config): ProviderSettings {
  const config = root.getConfig(CONFIG_KEY);
  const baseUrl = config.getString('baseUrl').replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`${CONFIG_KEY}.baseUrl is not a URL: ${baseUrl}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`${CONFIG_KEY}.baseUrl must be http(s): ${baseUrl}`);
  }

  const token = config.getOptionalString('token');
  const oidc = config.getOptionalConfig('oidc');
  if ((token === undefined) === (oidc === undefined)) {
    throw new Error(`${CONFIG_KEY} needs exactly one credential: token or oidc`);
  }
  const credential: Credential = oidc
    ? {
        type: 'oidc',
        tokenUrl: oidc.getString('tokenUrl'),
        clientId: oidc.getString('clientId'),
        clientSecret: oidc.getString('clientSecret'),
        scope: oidc.getOptionalString('scope'),
        audience: oidc.getOptionalString('audience'),
      }
    : { type: 'token', token: token as string };

  const filters = config.getOptionalConfig('filters');
  const providers = filters?.getOptionalStringArray('providers')?.map(p => p.toUpperCase());
  for (const p of providers ?? []) {
    if (!PROVIDERS.includes(p as CloudProvider)) {
      throw new Error(`${CONFIG_KEY}.filters.providers: unknown provider ${p} (${PROVIDERS.join(', ')})`);
    }
  }
  const kinds = filters?.getOptionalStringArray('kinds') ?? KINDS;
  for (const k of kinds) {
    if (!KINDS.includes(k as AssetKind)) {
      throw new Error(`${CONFIG_KEY}.filters.kinds: unknown kind ${k} (${KINDS.join(', ')})`);
    }
  }

  const pageSize = config.getOptionalNumber('pageSize') ?? 500;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 500) {
    throw new Error(`${CONFIG_KEY}.pageSize must be an integer from 1 to 500`);
  }
  const requestTimeoutMs = config.getOptionalNumber('requestTimeoutMs') ?? 30_000;
  const fullRefreshAfterFailures = config.getOptionalNumber('fullRefreshAfterFailures') ?? 3;

  const schedule = config.has('schedule')
    ? readSchedulerServiceTaskScheduleDefinitionFromConfig(config.getConfig('schedule'))
    : { frequency: { minutes: 5 }, timeout: { minutes: 3 } };

  return {
    baseUrl,
    credential,
    filters: {
      providers: providers as CloudProvider[] | undefined,
      kinds: kinds as AssetKind[],
      includeRemoved: filters?.getOptionalBoolean('includeRemoved') ?? false,
    },
    pageSize,
    requestTimeoutMs,
    fullRefreshAfterFailures,
    schedule,
  };
}
