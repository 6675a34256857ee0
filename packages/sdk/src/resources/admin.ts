// The audit trail of the caller's license, and the operators' license and job administration.
import type { RequestOptions, Transport } from '../core.js'
import { PagePromise } from '../pagination.js'
import type { AuditEntry, Job, JobStatus, License, LicenseStatus } from '../types.js'

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

/** Operators only (admin role): the server's durable jobs, e.g. order fetches and engine replies that failed. */
export class Jobs {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Most recently changed first, optionally one status (`dead` lists what needs attention); `limit` 1–500 (default 100), one page. */
  list(params: { status?: JobStatus; limit?: number } = {}, options?: RequestOptions): PagePromise<Job> {
    return new PagePromise(async () => {
      const res = await this.#t.request<{ jobs: Job[] }>({
        method: 'GET',
        path: '/api/admin/jobs',
        query: { status: params.status, limit: params.limit },
        options,
      })
      return { data: res.jobs, nextCursor: null }
    })
  }

  /** Queues a dead job again with its attempts reset; a job in any other state is a ConflictError. */
  async retry(id: string, options?: RequestOptions): Promise<Job> {
    const res = await this.#t.request<{ job: Job }>({ method: 'POST', path: `/api/admin/jobs/${encodeURIComponent(id)}/retry`, options })
    return res.job
  }
}
