// /api/api-keys: secret API keys (`intl_sk_…`) with scopes and an expiry. Managing them needs a logged-in
// session; the keys themselves authenticate the other resources (`new Intelagent({ apiKey })`).
import type { RequestOptions, Transport } from '../core.js'
import { allOf } from '../lists.js'
import { PagePromise } from '../pagination.js'
import type { ApiKey, ApiKeyScope, CreateApiKeyParams, CreatedApiKey, ResponseBody } from '../types.js'

/** Every scope the server knows, in its order (for pickers; typecheck fails when the document has one it lacks). */
export const API_KEY_SCOPES: readonly ApiKeyScope[] = allOf<ApiKeyScope>()([
  'keys:read',
  'keys:write',
  'keys:revoke',
  'settings:read',
  'settings:write',
  'conversations:read',
  'conversations:write',
  'leads:read',
  'audit:read',
  'enrichment:write',
  'billing:read',
  'billing:write',
  'usage:read',
  'analytics:read',
  'webhooks:read',
  'webhooks:write',
])

export class ApiKeys {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Every API key of the license, newest first (one page); never the secret itself. */
  list(options?: RequestOptions): PagePromise<ApiKey> {
    return new PagePromise(async () => {
      const res = await this.#t.request<ResponseBody<'listApiKeys', 200>>({ method: 'GET', path: '/api/api-keys', options })
      return { data: res.apiKeys, nextCursor: null }
    })
  }

  /** Creates a key; `key` in the result is the only time the secret is ever returned. */
  create(params: CreateApiKeyParams, options?: RequestOptions): Promise<CreatedApiKey> {
    const body: CreateApiKeyParams = { name: params.name, scopes: params.scopes }
    if (params.expiresInDays !== undefined) body.expiresInDays = params.expiresInDays
    // The Idempotency-Key sent with every POST makes a retry return the same key instead of minting a second.
    return this.#t.request({ method: 'POST', path: '/api/api-keys', body, options })
  }

  /** Stops the key on every server within a second. */
  revoke(id: string, options?: RequestOptions): Promise<ApiKey> {
    return this.#t.request({ method: 'POST', path: `/api/api-keys/${encodeURIComponent(id)}/revoke`, options })
  }
}
