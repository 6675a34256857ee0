// The public widget API (docs/widget-api.md) from code: what the script tag does, for tests, bots and
// server-side integrations. Authenticated by a publishable product key and, per conversation, a visitor token.
import { type RequestOptions, randomId, type Transport } from '../core.js'
import { IntelagentError } from '../errors.js'
import type {
  Conversation,
  CreatedLead,
  LeadParams,
  Message,
  Rating,
  ResponseBody,
  SendMessageResponse,
  StartConversationParams,
  StartConversationResponse,
  WidgetConfig,
} from '../types.js'

export interface WidgetOptions extends RequestOptions {
  /** Overrides the client's `productKey`. */
  productKey?: string
}

export interface VisitorOptions extends WidgetOptions {
  /** From `startConversation`; valid for one hour. */
  visitorToken: string
}

const seg = encodeURIComponent

export class Widget {
  readonly #t: Transport
  constructor(t: Transport) {
    this.#t = t
  }

  #key(options: WidgetOptions | undefined): string {
    const key = options?.productKey ?? this.#t.productKey
    if (!key)
      throw new IntelagentError('Widget calls need a product key: new Intelagent({ productKey }) or { productKey } per call', { code: 'missing_product_key' })
    return key
  }

  config(options?: WidgetOptions): Promise<WidgetConfig> {
    return this.#t.request({ method: 'GET', path: '/api/widget/config', productKey: this.#key(options), bearer: null, options })
  }

  /** Starts a conversation (a new visitor unless visitor credentials are given) or resumes one. */
  startConversation(params: StartConversationParams = {}, options?: WidgetOptions): Promise<StartConversationResponse> {
    return this.#t.request({ method: 'POST', path: '/api/widget/conversations', body: params, productKey: this.#key(options), bearer: null, options })
  }

  /**
   * Sends a visitor message. A `clientMessageId` is generated when not given and kept across retries,
   * so the message is stored once however many attempts it takes.
   */
  sendMessage(conversationId: string, text: string, options: VisitorOptions & { clientMessageId?: string }): Promise<SendMessageResponse> {
    return this.#t.request({
      method: 'POST',
      path: `/api/widget/conversations/${seg(conversationId)}/messages`,
      body: { clientMessageId: options.clientMessageId ?? randomId(), text },
      productKey: this.#key(options),
      bearer: options.visitorToken,
      options,
    })
  }

  /** Messages with a seq above `after` (default 0: all), oldest first, at most 200. */
  async messages(conversationId: string, options: VisitorOptions & { after?: number }): Promise<Message[]> {
    const res = await this.#t.request<ResponseBody<'listVisitorMessages', 200>>({
      method: 'GET',
      path: `/api/widget/conversations/${seg(conversationId)}/messages`,
      query: { after: options.after },
      productKey: this.#key(options),
      bearer: options.visitorToken,
      options,
    })
    return res.messages
  }

  /** Rates one of the bot's answers; rating it again replaces the earlier rating. Resolves to the rated message. */
  async rate(conversationId: string, messageId: string, rating: Rating, options: VisitorOptions): Promise<Message> {
    const res = await this.#t.request<{ message: Message }>({
      method: 'POST',
      path: `/api/widget/conversations/${seg(conversationId)}/messages/${seg(messageId)}/rating`,
      body: { rating },
      productKey: this.#key(options),
      bearer: options.visitorToken,
      options,
    })
    return res.message
  }

  /** The visitor asks for a person: the conversation waits for one and the owner is told. */
  async requestHuman(conversationId: string, options: VisitorOptions): Promise<Conversation> {
    const res = await this.#t.request<{ conversation: Conversation }>({
      method: 'POST',
      path: `/api/widget/conversations/${seg(conversationId)}/handoff`,
      productKey: this.#key(options),
      bearer: options.visitorToken,
      options,
    })
    return res.conversation
  }

  /**
   * Leaves the visitor's contact details (consent must be true). Naming a `conversationId` needs that
   * conversation's `visitorToken`.
   */
  async createLead(params: LeadParams, options?: WidgetOptions & { visitorToken?: string }): Promise<CreatedLead> {
    const res = await this.#t.request<ResponseBody<'createLead', 201>>({
      method: 'POST',
      path: '/api/widget/leads',
      body: params,
      productKey: this.#key(options),
      bearer: options?.visitorToken ?? null,
      options,
    })
    return res.lead
  }
}
