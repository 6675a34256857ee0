// The audit trail of the caller's license, and the operators' license and job administration.
import type { RequestOptions, Transport } from '../core.js'
import { PagePromise } from '../pagination.js'
import type {
  AdminLicense,
  AdminLicenseDetail,
  AuditEntry,
  AuditListParams,
  Job,
  JobListParams,
  License,
  LicenseListParams,
  LicenseSearchParams,
  LicenseStatus,
  ResponseBody,
  UpdateLicenseParams,
} from '../types.js'

export class Audit {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Newest first; `limit` 1–500 (default 100), one page. */
  list(params: AuditListParams = {}, options?: RequestOptions): PagePromise<AuditEntry> {
    return new PagePromise(async () => {
      const res = await this.#t.request<ResponseBody<'listAudit', 200>>({ method: 'GET', path: '/api/audit', query: { limit: params.limit }, options })
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
  list(params: LicenseListParams = {}, options?: RequestOptions): PagePromise<License> {
    return new PagePromise(async () => {
      const res = await this.#t.request<ResponseBody<'adminListLicenses', 200>>({
        method: 'GET',
        path: '/api/admin/licenses',
        query: { limit: params.limit },
        options,
      })
      return { data: res.licenses, nextCursor: null }
    })
  }

  /** Suspends, revokes or reactivates a license; its keys and sessions follow within a second. */
  async setStatus(id: string, status: LicenseStatus, options?: RequestOptions): Promise<License> {
    const res = await this.#t.request<ResponseBody<'adminSetLicenseStatus', 200>>({
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
  list(params: JobListParams = {}, options?: RequestOptions): PagePromise<Job> {
    return new PagePromise(async () => {
      const res = await this.#t.request<ResponseBody<'adminListJobs', 200>>({
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
    const res = await this.#t.request<ResponseBody<'adminRetryJob', 200>>({ method: 'POST', path: `/api/admin/jobs/${encodeURIComponent(id)}/retry`, options })
    return res.job
  }
}

/** Operators only: the license console (search, detail, plan changes, suspend and reactivate). */
export class AdminLicenses extends Licenses {
  readonly #t: Transport
  constructor(t: Transport) {
    super(t)
    this.#t = t
  }

  /** By key, email (buyer or member) or order id, and status and tier; newest first. Await one page or `for await` them all. */
  search(params: LicenseSearchParams = {}, options?: RequestOptions): PagePromise<AdminLicense> {
    const load = async (cursor: string | undefined) => {
      const res = await this.#t.request<ResponseBody<'searchLicenses', 200>>({
        method: 'GET',
        path: '/api/admin/licenses/search',
        query: { q: params.q, status: params.status, tier: params.tier, limit: params.limit, cursor },
        options,
      })
      return { data: res.licenses, nextCursor: res.nextCursor }
    }
    return new PagePromise(load, params.cursor)
  }

  /** Products, key counts, usage this period, subscription (status, period end, Stripe ids), members, invitations, seats, emails sent and the recent audit trail. */
  get(id: string, options?: RequestOptions): Promise<AdminLicenseDetail> {
    return this.#t.request({ method: 'GET', path: `/api/admin/licenses/${encodeURIComponent(id)}`, options })
  }

  /** Changes the tier and/or products; keys and sessions pick it up at once. */
  async update(id: string, params: UpdateLicenseParams, options?: RequestOptions): Promise<AdminLicense> {
    const body: UpdateLicenseParams = {}
    if (params.tier !== undefined) body.tier = params.tier
    if (params.products !== undefined) body.products = params.products
    const res = await this.#t.request<ResponseBody<'updateLicense', 200>>({
      method: 'PATCH',
      path: `/api/admin/licenses/${encodeURIComponent(id)}`,
      body,
      options,
    })
    return res.license
  }

  suspend(id: string, options?: RequestOptions): Promise<License> {
    return this.setStatus(id, 'suspended', options)
  }

  reactivate(id: string, options?: RequestOptions): Promise<License> {
    return this.setStatus(id, 'active', options)
  }
}

/** Operators only: the operator console's API. */
export class Admin {
  readonly licenses: AdminLicenses
  constructor(t: Transport) {
    this.licenses = new AdminLicenses(t)
  }
}
