// /api/enrich: company, email quality, country, device, traffic source and a lead score for one item or a batch.
import type { RequestOptions, Transport } from '../core.js'
import type { EnrichBatchItem, EnrichInput, EnrichResult, ResponseBody } from '../types.js'

/** The most items `batch` sends in one request (the server refuses more). */
export const ENRICH_BATCH_LIMIT = 100

export class Enrich {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Enriches one item. Needs a `data_` key, an API key with `enrichment:write`, or a session. */
  one(input: EnrichInput, options?: RequestOptions): Promise<EnrichResult> {
    return this.#t.request({ method: 'POST', path: '/api/enrich', body: input, options })
  }

  /**
   * Enriches up to 100 items in one request; the answer at index i is for item i, either a result or
   * `{error}` for an invalid item (the others are enriched regardless). Split longer lists yourself.
   */
  async batch(items: EnrichInput[], options?: RequestOptions): Promise<EnrichBatchItem[]> {
    if (items.length > ENRICH_BATCH_LIMIT) throw new RangeError(`enrich.batch takes at most ${ENRICH_BATCH_LIMIT} items (got ${items.length})`)
    const res = await this.#t.request<ResponseBody<'enrichBatch', 200>>({ method: 'POST', path: '/api/enrich/batch', body: { items }, options })
    return res.results
  }
}

/** True for a batch item that could not be enriched. */
export const isEnrichError = (item: EnrichBatchItem): item is Extract<EnrichBatchItem, { error: unknown }> => 'error' in item
