// The audit trail of the caller's license, and the operators' license administration.
import type { RequestOptions, Transport } from '../core.js'
import { PagePromise } from '../pagination.js'
import type { AuditEntry, License, LicenseStatus } from '../types.js'

export class Audit {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Newest first; `limit` 1–500 (default 100), one page. */
  list(params: { limit?: number } = {}, options?: RequestOptions): PagePromise<AuditEntry> {
    return new PagePromise(async () => {
      const res = await this.#t.request<{ entries: AuditEntry[] }>({ method: 'GET', path: '/api/audit', query: { limit: params.limit }, options })
      return { data: res.entries, nextCursor: null }
    })
  }
}

/** Operators only (admin role): every license on the platform. */
export class Licenses {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Newest first; `limit` 1–500 (default 100), one page. */
  list(params: { limit?: number } = {}, options?: RequestOptions): PagePromise<License> {
    return new PagePromise(async () => {
      const res = await this.#t.request<{ licenses: License[] }>({ method: 'GET', path: '/api/admin/licenses', query: { limit: params.limit }, options })
      return { data: res.licenses, nextCursor: null }
    })
  }

  /** Suspends, revokes or reactivates a license; its keys and sessions follow within a second. */
  async setStatus(id: string, status: LicenseStatus, options?: RequestOptions): Promise<License> {
    const res = await this.#t.request<{ license: License }>({
      method: 'POST',
      path: `/api/admin/licenses/${encodeURIComponent(id)}/status`,
      body: { status },
      options,
    })
    return res.license
  }
}
