// /api/products/:product/knowledge: the Q&A pairs and documents the knowledge engine answers from.
import type { RequestOptions, Transport } from '../core.js'
import { PagePromise } from '../pagination.js'
import type { Deleted, KnowledgeInput, KnowledgeItem, ResponseBody, WidgetProduct } from '../types.js'

const seg = encodeURIComponent

export class Knowledge {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Every item, oldest first (one page). */
  list(product: WidgetProduct, options?: RequestOptions): PagePromise<KnowledgeItem> {
    return new PagePromise(async () => {
      const res = await this.#t.request<ResponseBody<'listKnowledge', 200>>({ method: 'GET', path: `/api/products/${seg(product)}/knowledge`, options })
      return { data: res.items, nextCursor: null }
    })
  }

  async add(product: WidgetProduct, item: KnowledgeInput, options?: RequestOptions): Promise<KnowledgeItem> {
    const res = await this.#t.request<ResponseBody<'addKnowledge', 201>>({
      method: 'POST',
      path: `/api/products/${seg(product)}/knowledge`,
      body: item,
      options,
    })
    return res.item
  }

  delete(product: WidgetProduct, id: string, options?: RequestOptions): Promise<Deleted> {
    return this.#t.request({ method: 'DELETE', path: `/api/products/${seg(product)}/knowledge/${seg(id)}`, options })
  }
}
