// /api/setup: the setup agent. One URL → a crawled site and a proposal (greeting, suggested questions, brand colour,
// allowed origin) → applied to the product's settings and key, with the embed code to paste.
import type { RequestOptions, Transport } from '../core.js'
import type { SetupApplyInput, SetupApplyResult, SetupInput, Setup as SetupView } from '../types.js'

const seg = encodeURIComponent

export class Setup {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Starts the setup: the site is crawled in the background; poll `get` until `status` is `ready` (or `failed`). */
  create(params: SetupInput, options?: RequestOptions): Promise<SetupView> {
    return this.#t.request({ method: 'POST', path: '/api/setup', body: params, options })
  }

  /** The crawl's status and, once ready, the proposal. */
  get(id: string, options?: RequestOptions): Promise<SetupView> {
    return this.#t.request({ method: 'GET', path: `/api/setup/${seg(id)}`, options })
  }

  /** Applies the (edited) proposal; adding an allowed origin needs `keys:write` too. */
  apply(id: string, params: SetupApplyInput, options?: RequestOptions): Promise<SetupApplyResult> {
    return this.#t.request({ method: 'POST', path: `/api/setup/${seg(id)}/apply`, body: params, options })
  }
}
