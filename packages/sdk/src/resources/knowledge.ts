// /api/products/:product/knowledge: the Q&A pairs and documents the knowledge engine answers from.
import type { RequestOptions, Transport } from '../core.js'
import { PagePromise } from '../pagination.js'
import type {
  Deleted,
  KnowledgeInput,
  KnowledgeItem,
  KnowledgeSource,
  KnowledgeSourceDetail,
  KnowledgeSourceInput,
  ResponseBody,
  WidgetProduct,
} from '../types.js'

const seg = encodeURIComponent

/** /api/knowledge/sources: sites, sitemaps, pages and files the bot learns from, crawled in the background. */
export class KnowledgeSources {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Adds a source; it comes back `queued` and is crawled by a background job (poll `get` for progress). */
  async create(params: KnowledgeSourceInput, options?: RequestOptions): Promise<KnowledgeSource> {
    const res = await this.#t.request<{ source: KnowledgeSource }>({ method: 'POST', path: '/api/knowledge/sources', body: params, options })
    return res.source
  }

  /** Every source, newest first (of one product when given; one page). */
  list(params: { product?: WidgetProduct } = {}, options?: RequestOptions): PagePromise<KnowledgeSource> {
    return new PagePromise(async () => {
      const res = await this.#t.request<{ sources: KnowledgeSource[] }>({
        method: 'GET',
        path: '/api/knowledge/sources',
        query: { product: params.product },
        options,
      })
      return { data: res.sources, nextCursor: null }
    })
  }

  /** The source with its pages: indexed, or skipped with the reason. */
  get(id: string, options?: RequestOptions): Promise<KnowledgeSourceDetail> {
    return this.#t.request({ method: 'GET', path: `/api/knowledge/sources/${seg(id)}`, options })
  }

  /** Queues a sync now: changed pages re-indexed, gone pages removed, unchanged ones kept. */
  async sync(id: string, options?: RequestOptions): Promise<KnowledgeSource> {
    const res = await this.#t.request<{ source: KnowledgeSource }>({ method: 'POST', path: `/api/knowledge/sources/${seg(id)}/sync`, options })
    return res.source
  }

  /** Deletes the source with its pages and passages. */
  delete(id: string, options?: RequestOptions): Promise<{ deleted: true }> {
    return this.#t.request({ method: 'DELETE', path: `/api/knowledge/sources/${seg(id)}`, options })
  }
}

export class Knowledge {
  readonly #t: Transport
  /** Sites, sitemaps, pages and files crawled into the knowledge. */
  readonly sources: KnowledgeSources
  constructor(t: Transport) {
    this.#t = t
    this.sources = new KnowledgeSources(t)
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
