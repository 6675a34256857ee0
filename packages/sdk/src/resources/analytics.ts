// /api/analytics: conversation figures per UTC day (from the server's daily rollups), their totals, the top
// questions, and the same daily figures as CSV.
import type { RequestOptions, Transport } from '../core.js'
import type { AnalyticsParams, Analytics as AnalyticsReport } from '../types.js'

export class Analytics {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Needs a session or an API key with `analytics:read`. At most 366 days per call (else 400 `invalid_range`). */
  get(params: AnalyticsParams = {}, options?: RequestOptions): Promise<AnalyticsReport> {
    return this.#t.request({ method: 'GET', path: '/api/analytics', query: { ...params }, options })
  }

  /** The same daily figures as CSV text (a header line, one line per day, CRLF line ends). */
  async exportCsv(params: AnalyticsParams = {}, options?: RequestOptions): Promise<string> {
    const res = await this.#t.send({
      method: 'GET',
      path: '/api/analytics/export',
      query: { ...params },
      options: { ...options, headers: { Accept: 'text/csv', ...options?.headers } },
    })
    return res.text()
  }
}
