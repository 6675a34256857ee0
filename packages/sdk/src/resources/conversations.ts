// Conversations, leads and the live event stream of the caller's license.
import type { RequestOptions, Transport } from '../core.js'
import { ConnectionError } from '../errors.js'
import { PagePromise } from '../pagination.js'
import type {
  Conversation,
  ConversationDetail,
  ConversationFlag,
  ConversationStatus,
  ConversationSummary,
  Lead,
  LiveEvent,
  Message,
  PageParams,
  ResponseBody,
  UnansweredAnswered,
  UnansweredQuestion,
  WidgetProduct,
} from '../types.js'

const seg = encodeURIComponent

export class Conversations {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Most recently active first. Await for one page, or `for await` over every conversation. */
  list(product: WidgetProduct, params: PageParams & { status?: ConversationStatus } = {}, options?: RequestOptions): PagePromise<ConversationSummary> {
    return new PagePromise(async (cursor) => {
      const res = await this.#t.request<ResponseBody<'listConversations', 200>>({
        method: 'GET',
        path: `/api/products/${seg(product)}/conversations`,
        query: { limit: params.limit, cursor, status: params.status },
        options,
      })
      return { data: res.conversations, nextCursor: res.nextCursor }
    }, params.cursor)
  }

  /** One conversation with all its messages, oldest first. */
  get(id: string, options?: RequestOptions): Promise<ConversationDetail> {
    return this.#t.request({ method: 'GET', path: `/api/conversations/${seg(id)}`, options })
  }

  /** Answers as a human agent; the visitor sees it live. */
  async reply(id: string, text: string, options?: RequestOptions & { clientMessageId?: string }): Promise<Message> {
    const body = { text, ...(options?.clientMessageId ? { clientMessageId: options.clientMessageId } : {}) }
    const res = await this.#t.request<ResponseBody<'replyToConversation', 201>>({
      method: 'POST',
      path: `/api/conversations/${seg(id)}/messages`,
      body,
      options,
    })
    return res.message
  }

  async #lifecycle(id: string, action: 'close' | 'reopen' | 'takeover' | 'handback', options?: RequestOptions): Promise<Conversation> {
    const res = await this.#t.request<{ conversation: Conversation }>({ method: 'POST', path: `/api/conversations/${seg(id)}/${action}`, options })
    return res.conversation
  }

  /** Closes the conversation (and hands it back to the bot). A new visitor message reopens it. */
  close(id: string, options?: RequestOptions): Promise<Conversation> {
    return this.#lifecycle(id, 'close', options)
  }

  /** Opens a closed or waiting conversation again. */
  reopen(id: string, options?: RequestOptions): Promise<Conversation> {
    return this.#lifecycle(id, 'reopen', options)
  }

  /** A person takes the conversation over: the bot stops answering in it (a `reply` does the same). */
  takeOver(id: string, options?: RequestOptions): Promise<Conversation> {
    return this.#lifecycle(id, 'takeover', options)
  }

  /** The bot answers again in this conversation. */
  handBack(id: string, options?: RequestOptions): Promise<Conversation> {
    return this.#lifecycle(id, 'handback', options)
  }

  /** Flags a conversation as abuse: its usage is given back to this period's quotas (once) and it counts no more. */
  flag(id: string, options?: RequestOptions): Promise<ConversationFlag> {
    return this.#t.request({ method: 'POST', path: `/api/conversations/${seg(id)}/flag`, options })
  }
}

/** The questions the bot could not answer, per widget product: answer one (it becomes a Q&A pair) or dismiss it. */
export class Unanswered {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** The open questions, most asked first (one page of up to `limit`, default 50, at most 200). */
  async list(product: WidgetProduct, params: { limit?: number } = {}, options?: RequestOptions): Promise<UnansweredQuestion[]> {
    const res = await this.#t.request<{ questions: UnansweredQuestion[] }>({
      method: 'GET',
      path: `/api/products/${seg(product)}/unanswered`,
      query: { limit: params.limit },
      options,
    })
    return res.questions
  }

  /** Answers the question: it becomes a Q&A pair in the knowledge base and leaves the list. */
  answer(product: WidgetProduct, id: string, answer: string, options?: RequestOptions): Promise<UnansweredAnswered> {
    return this.#t.request({ method: 'POST', path: `/api/products/${seg(product)}/unanswered/${seg(id)}/answer`, body: { answer }, options })
  }

  /** Drops the question from the list (asked again, it comes back as new). */
  async dismiss(product: WidgetProduct, id: string, options?: RequestOptions): Promise<UnansweredQuestion> {
    const res = await this.#t.request<{ question: UnansweredQuestion }>({
      method: 'POST',
      path: `/api/products/${seg(product)}/unanswered/${seg(id)}/dismiss`,
      options,
    })
    return res.question
  }
}

export class Leads {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /** Newest first. Leads come from the sales agent unless another widget product is named. */
  list(params: PageParams & { product?: WidgetProduct } = {}, options?: RequestOptions): PagePromise<Lead> {
    const product = params.product ?? 'sales-agent'
    return new PagePromise(async (cursor) => {
      const res = await this.#t.request<ResponseBody<'listLeads', 200>>({
        method: 'GET',
        path: `/api/products/${seg(product)}/leads`,
        query: { limit: params.limit, cursor },
        options,
      })
      return { data: res.leads, nextCursor: res.nextCursor }
    }, params.cursor)
  }
}

/** Parses a text/event-stream body into events (the subset of the SSE format the API sends). */
export async function* parseSse(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<{ event: string; data: string; id?: string }> {
  const reader = body.getReader()
  const stop = () => void reader.cancel().catch(() => {})
  signal?.addEventListener('abort', stop, { once: true })
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += decoder.decode(value, { stream: true })
      for (let end = buffer.search(/\r?\n\r?\n/); end !== -1; end = buffer.search(/\r?\n\r?\n/)) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '')
        let event = 'message'
        let id: string | undefined
        const data: string[] = []
        for (const line of block.split(/\r?\n/)) {
          if (!line || line.startsWith(':')) continue
          const colon = line.indexOf(':')
          const field = colon === -1 ? line : line.slice(0, colon)
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
          if (field === 'event') event = value
          else if (field === 'data') data.push(value)
          else if (field === 'id') id = value
        }
        if (data.length) yield { event, data: data.join('\n'), ...(id === undefined ? {} : { id }) }
      }
    }
  } finally {
    signal?.removeEventListener('abort', stop)
    reader.releaseLock()
  }
}

export class Events {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  /**
   * The license's live events (new conversations, messages, leads, knowledge sources' crawl progress) until `signal`
   * aborts or the server closes the stream. Not retried: reconnect by calling again, then reload what you show.
   */
  async *stream(options: { signal?: AbortSignal } = {}): AsyncGenerator<LiveEvent, void, undefined> {
    const res = await this.#t.send({
      method: 'GET',
      path: '/api/events',
      options: { maxRetries: 0, headers: { Accept: 'text/event-stream' }, ...(options.signal ? { signal: options.signal } : {}) },
    })
    if (!res.body) throw new ConnectionError('The event stream has no body')
    try {
      for await (const e of parseSse(res.body, options.signal)) {
        if (options.signal?.aborted) return
        const data = JSON.parse(e.data) as Record<string, unknown>
        yield { ...data, type: e.event } as LiveEvent
      }
    } catch (err) {
      if (options.signal?.aborted) return
      throw new ConnectionError(`The event stream broke: ${(err as Error)?.message ?? err}`, { cause: err })
    }
  }
}
