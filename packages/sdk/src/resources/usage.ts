// /api/usage: this billing period's use of every quota of the plan, with forecasts and a daily series.
import type { RequestOptions, Transport } from '../core.js'
import type { Usage as UsageFigures } from '../types.js'

export class Usage {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Needs a session or an API key with `usage:read`. */
  get(options?: RequestOptions): Promise<UsageFigures> {
    return this.#t.request({ method: 'GET', path: '/api/usage', options })
  }
}
