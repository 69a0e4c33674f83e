import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Credential } from './config';

/** Why a call to the inventory failed; `cursor` means the feed refused the cursor we kept. */
export type FailureKind = 'unreachable' | 'http' | 'auth' | 'malformed' | 'graphql' | 'cursor';

export class InventoryError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'InventoryError';
  }
}

/** The operations the provider sends, from the package's `operations/` folder (validated
 * against the API's schema.graphql by the package's tests). */
export const OPERATIONS = {
  changesHead: 'changes-head.graphql',
  accountEntities: 'account-entities.graphql',
  endpointEntities: 'endpoint-entities.graphql',
  entityChanges: 'entity-changes.graphql',
} as const;

export type OperationName = keyof typeof OPERATIONS;

export function readOperation(name: OperationName): string {
  return readFileSync(join(__dirname, '..', 'operations', OPERATIONS[name]), 'utf8');
}

interface GraphQLError {
  message?: unknown;
  extensions?: { code?: unknown; field?: unknown };
}

/** A small GraphQL-over-HTTP client for the inventory: bearer credentials, a deadline per
 * request, and every failure turned into an InventoryError that says what went wrong. */
export class InventoryClient {
  private readonly documents = new Map<OperationName, string>();
  private oidcToken?: { value: string; expiresAt: number };

  constructor(
    private readonly options: {
      baseUrl: string;
      credential: Credential;
      requestTimeoutMs: number;
      fetch?: typeof fetch;
    },
  ) {
    for (const name of Object.keys(OPERATIONS) as OperationName[]) {
      this.documents.set(name, readOperation(name));
    }
  }

  get endpoint(): string {
    return `${this.options.baseUrl}/graphql`;
  }

  async query(name: OperationName, variables: Record<string, unknown>): Promise<Record<string, unknown>> {
    const body = JSON.stringify({ query: this.documents.get(name), variables });
    const authorization = `Bearer ${await this.bearer()}`;
    const response = await this.send(this.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization },
      body,
    });
    const text = await this.readText(response);
    if (response.status === 401 || response.status === 403) {
      throw new InventoryError('auth', `the inventory refused the credential (${response.status}): ${summary(text)}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new InventoryError('malformed', `the inventory answered ${response.status} with a body that is not JSON: ${summary(text)}`);
    }
    if (!isObject(parsed)) {
      throw new InventoryError('malformed', `the inventory answered ${response.status} with JSON that is not a GraphQL response`);
    }
    const errors = parsed.errors;
    if (Array.isArray(errors) && errors.length > 0) {
      const first = errors[0] as GraphQLError;
      const message = typeof first?.message === 'string' ? first.message : 'an error without a message';
      const code = first?.extensions?.code;
      if (code === 'BAD_USER_INPUT' && first?.extensions?.field === 'after') {
        throw new InventoryError('cursor', `the change feed refused the kept cursor: ${message}`);
      }
      if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') {
        throw new InventoryError('auth', `the inventory refused the credential: ${message}`);
      }
      throw new InventoryError('graphql', `${name} failed: ${message}${typeof code === 'string' ? ` (${code})` : ''}`);
    }
    if (!response.ok) {
      throw new InventoryError('http', `the inventory answered ${response.status}: ${summary(text)}`);
    }
    if (!isObject(parsed.data)) {
      throw new InventoryError('malformed', `${name} answered without data`);
    }
    return parsed.data;
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    const fetchImpl = this.options.fetch ?? fetch;
    try {
      return await fetchImpl(url, { ...init, signal: AbortSignal.timeout(this.options.requestTimeoutMs) });
    } catch (error) {
      const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      throw new InventoryError('unreachable', `cannot reach ${url}: ${reason}`);
    }
  }

  private async readText(response: Response): Promise<string> {
    try {
      return await response.text();
    } catch (error) {
      throw new InventoryError('unreachable', `the inventory's answer broke off: ${String(error)}`);
    }
  }

  /** The token to send: the configured one, or an OIDC client-credentials token kept until
   * a minute before it expires. */
  private async bearer(): Promise<string> {
    const credential = this.options.credential;
    if (credential.type === 'token') return credential.token;
    if (this.oidcToken && this.oidcToken.expiresAt > Date.now() + 60_000) return this.oidcToken.value;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (credential.scope) form.set('scope', credential.scope);
    if (credential.audience) form.set('audience', credential.audience);
    const basic = Buffer.from(
      `${encodeURIComponent(credential.clientId)}:${encodeURIComponent(credential.clientSecret)}`,
    ).toString('base64');
    const response = await this.send(credential.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      body: form.toString(),
    });
    const text = await this.readText(response);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok || !isObject(parsed) || typeof parsed.access_token !== 'string') {
      throw new InventoryError('auth', `the OIDC token endpoint answered ${response.status} without an access token`);
    }
    const lifetime = typeof parsed.expires_in === 'number' ? parsed.expires_in : 300;
    this.oidcToken = { value: parsed.access_token, expiresAt: Date.now() + lifetime * 1000 };
    return parsed.access_token;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The start of a body, for an error message (never a whole page of HTML). */
function summary(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat || '(empty body)';
}
