// The chat session without any UI: config, visitor identity (anonymous or verified), the conversation, the
// outbox, custom attributes and the live event stream with reconnects. The Preact view renders `state`.
import type { Attributes, IdentifyParams, Message, WidgetConfig, WidgetEvent } from '../types'
import { ApiError, type Call, isFatal } from './api'
import { backoff, clientId, lastSeq, mergeMessages } from './messages'
import type { OutboxItem, Saved, Store } from './store'

export type Status = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'failed'

export interface State {
  config: WidgetConfig | undefined
  status: Status
  /** Stable error code when `status` is 'failed' (e.g. origin_not_allowed). */
  error: string | undefined
  open: boolean
  messages: Message[]
  /** Visitor messages not yet acknowledged, shown after the confirmed ones. */
  pending: OutboxItem[]
  typing: boolean
  /** A streamed reply in progress (token events), replaced by the final message. */
  draft: string | undefined
  unread: number
  /** Text the page asked to put in the composer (`prefill`), taken by the view. */
  prefill: string | undefined
  /** The server took a message past the plan's quota: a person answers, so the view asks for an email. */
  handoff: boolean
}

const INITIAL: State = {
  config: undefined,
  status: 'idle',
  error: undefined,
  open: false,
  messages: [],
  pending: [],
  typing: false,
  draft: undefined,
  unread: 0,
  prefill: undefined,
  handoff: false,
}

export interface LeadInput {
  name: string
  email: string
  company?: string
  message?: string
  consent: true
  answers?: Record<string, string>
}

export interface SessionDeps {
  api: Call
  base: string
  key: string
  store: Store
  emit(event: WidgetEvent, data?: unknown): void
  EventSource: typeof EventSource
  /** The page's address at the moment of the call (single-page apps change it without reloading). */
  pageUrl?: () => string
  /** document.referrer: with the page URL, what lead enrichment reads the traffic source from. */
  referrer?: string
  random?: () => number
}

interface StartResponse {
  /** Null when an identified user has no conversation yet and none was asked for. */
  conversation: { id: string } | null
  visitorId: string
  visitorSecret?: string
  visitorToken: string
  expiresAt: string
  messages: Message[]
}

/** Thrown inside a chain whose results belong to a visitor the page has since forgotten or replaced. */
class Stale extends Error {}

export class Session {
  state: State = { ...INITIAL }
  private listeners = new Set<() => void>()
  private saved: Saved
  private token: string | undefined
  private tokenExpires = 0
  private starting: Promise<void> | undefined
  private renewing: Promise<void> | undefined
  private configLoading: Promise<WidgetConfig | undefined> | undefined
  private es: EventSource | undefined
  private attempt = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private flushing = false
  private flushTimer: ReturnType<typeof setTimeout> | undefined
  /** A verified user (`identify`), kept in memory only: the page identifies again on every load. */
  private identity: IdentifyParams | undefined
  private verifying: Promise<void> | undefined
  /** Attributes from `update` not yet stored on the conversation. */
  private attributes: Attributes = {}
  /** Bumped whenever the visitor changes (shutdown, identify): answers to older calls are dropped. */
  private epoch = 0

  constructor(private deps: SessionDeps) {
    this.saved = deps.store.read()
    this.state.pending = this.saved.outbox
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /** True once this browser has talked to us before (so reading/writing storage is expected). */
  get returning(): boolean {
    return Boolean(this.saved.conversationId)
  }

  private set(patch: Partial<State>): void {
    this.state = { ...this.state, ...patch }
    for (const fn of this.listeners) fn()
  }

  /** Whether opening should move focus into the panel (not for `data-open` at page load). */
  focusOnOpen = true

  /**
   * `user` is false only for `data-open` at page load: the panel shows, but no visitor or conversation is
   * created (nothing stored) until the visitor actually interacts with it.
   */
  setOpen(open: boolean, user = true): void {
    if (open === this.state.open) return
    this.focusOnOpen = user
    this.set({ open, unread: open ? 0 : this.state.unread })
    this.deps.emit(open ? 'open' : 'close')
    if (open && (user || this.returning)) void this.start()
  }

  loadConfig(): Promise<WidgetConfig | undefined> {
    this.configLoading ??= this.deps.api<WidgetConfig>('GET', '/api/widget/config').then(
      (config) => {
        this.set({ config })
        return config
      },
      (err) => {
        this.configLoading = undefined
        this.fail(err, () => this.loadConfig())
        return undefined
      },
    )
    return this.configLoading
  }

  /** Creates or resumes the conversation, then goes live. Safe to call repeatedly. */
  start(): Promise<void> {
    this.starting ??= this.begin().catch((err) => {
      if (err instanceof Stale) return
      this.starting = undefined
      this.fail(err, () => this.start())
    })
    return this.starting
  }

  private async begin(): Promise<void> {
    if (this.state.status === 'failed') return
    const epoch = this.epoch
    if (this.state.status === 'idle') this.set({ status: 'connecting' })
    await this.verifying
    if (!(await this.loadConfig())) throw new ApiError(0, 'config_unavailable', 'No config')
    if (epoch !== this.epoch) throw new Stale()
    await this.authenticate(true)
    this.live()
  }

  private live(): void {
    this.connect()
    void this.flush()
    void this.pushAttributes()
  }

  private pageUrl(): Record<string, string> {
    const url = this.deps.pageUrl?.()
    return url ? { pageUrl: url.slice(0, 2000) } : {}
  }

  /**
   * Anonymous: POST /conversations (new visitor, new conversation, or resume). Identified: POST /identify, which
   * resumes the user's latest conversation on any device (or starts one when `create`). Also how an expired token
   * is renewed.
   */
  private async authenticate(create: boolean): Promise<void> {
    const epoch = this.epoch
    const { visitorId, visitorSecret, conversationId } = this.saved
    const user = this.identity
    let res: StartResponse
    try {
      res = user
        ? await this.deps.api<StartResponse>('POST', '/api/widget/identify', { ...user, ...this.anonymous(), start: create, ...this.pageUrl() })
        : await this.deps.api<StartResponse>('POST', '/api/widget/conversations', {
            ...(visitorId && visitorSecret ? { visitorId, visitorSecret } : {}),
            ...(conversationId ? { conversationId } : {}),
            ...this.pageUrl(),
          })
    } catch (err) {
      if (epoch !== this.epoch) throw new Stale()
      // Stored credentials the server no longer knows (data reset): start over as a new visitor.
      if (err instanceof ApiError && err.code === 'visitor_invalid' && visitorId && !user) {
        this.save({ outbox: this.saved.outbox })
        return this.authenticate(create)
      }
      throw err
    }
    if (epoch !== this.epoch) throw new Stale()
    this.token = res.visitorToken
    this.tokenExpires = Date.parse(res.expiresAt) || Date.now() + 30 * 60_000
    const id = res.conversation?.id
    const changed = id !== this.saved.conversationId
    this.save({
      ...this.saved,
      visitorId: res.visitorId,
      visitorSecret: user ? undefined : (res.visitorSecret ?? this.saved.visitorSecret),
      conversationId: id,
    })
    // History is not news: it neither raises the unread count nor fires `message` events.
    const base = changed ? [] : this.state.messages
    this.absorb(mergeMessages(base, res.messages).list, [])
  }

  /** This browser's anonymous visitor and conversation, which identify hands over to the user (once). */
  private anonymous(): Record<string, string> {
    const { visitorId, visitorSecret, conversationId } = this.saved
    return visitorId && visitorSecret ? { visitorId, visitorSecret, ...(conversationId ? { conversationId } : {}) } : conversationId ? { conversationId } : {}
  }

  /** One token renewal at a time, however many calls noticed the expiry together. */
  private renew(): Promise<void> {
    this.renewing ??= this.authenticate(true).finally(() => {
      this.renewing = undefined
    })
    return this.renewing
  }

  /** Runs a visitor-token call; on 401 renews the token once and retries. */
  private async authed<T>(fn: (token: string) => Promise<T>): Promise<T> {
    if (!this.token || Date.now() > this.tokenExpires - 30_000) await this.renew()
    const token = this.token!
    try {
      return await fn(token)
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && err.code !== 'visitor_invalid' && !isFatal(err)) {
        if (this.token === token) await this.renew()
        return fn(this.token!)
      }
      throw err
    }
  }

  private get conversationPath(): string {
    return `/api/widget/conversations/${encodeURIComponent(this.saved.conversationId ?? '')}`
  }

  private typingTimer: ReturnType<typeof setTimeout> | undefined

  private connect(): void {
    this.es?.close()
    const params = new URLSearchParams({ token: this.token ?? '', key: this.deps.key, after: String(lastSeq(this.state.messages)) })
    const es = new this.deps.EventSource(`${this.deps.base}${this.conversationPath}/events?${params}`)
    this.es = es
    es.onopen = () => {
      this.attempt = 0
      this.set({ status: 'live' })
      void this.flush()
    }
    es.onmessage = (e) => this.receive([JSON.parse(e.data) as Message])
    es.addEventListener('typing', (e) => {
      const typing = Boolean((JSON.parse((e as MessageEvent).data) as { typing: boolean }).typing)
      // A lost "typing: false" (a crashed engine, a dropped event) must not leave the dots up forever.
      clearTimeout(this.typingTimer)
      if (typing) this.typingTimer = setTimeout(() => this.set({ typing: false }), 30_000)
      this.set({ typing })
    })
    es.addEventListener('token', (e) => {
      const { delta } = JSON.parse((e as MessageEvent).data) as { delta: string }
      this.set({ draft: (this.state.draft ?? '') + delta, typing: false })
    })
    es.onerror = () => {
      // We own reconnection (backoff, a fresh token, a catch-up read), not the browser's fixed retry.
      es.close()
      if (this.es !== es) return
      this.es = undefined
      this.set({ status: 'reconnecting', typing: false })
      this.retry(() => this.resume())
    }
  }

  /** After a drop: read what was missed (which also proves the token is still good), then reopen the stream. */
  private async resume(): Promise<void> {
    const epoch = this.epoch
    try {
      for (;;) {
        const { messages } = await this.authed((t) =>
          this.deps.api<{ messages: Message[] }>('GET', `${this.conversationPath}/messages?after=${lastSeq(this.state.messages)}`, undefined, t),
        )
        if (epoch !== this.epoch) return
        this.receive(messages)
        if (messages.length < 200) break
      }
    } catch (err) {
      if (epoch !== this.epoch || err instanceof Stale) return
      if (err instanceof ApiError && err.status === 404) {
        // The conversation is gone: start a new one.
        this.save({ ...this.saved, conversationId: undefined })
        this.starting = undefined
        return this.start()
      }
      this.fail(err, () => this.resume())
      return
    }
    this.connect()
  }

  private retry(fn: () => void, delay = backoff(this.attempt++, this.deps.random)): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(fn, delay)
  }

  private fail(err: unknown, again: () => void): void {
    if (this.state.status === 'failed') return
    if (isFatal(err)) {
      this.es?.close()
      this.set({ status: 'failed', error: err instanceof ApiError ? err.code : 'failed' })
      console.warn(`Intelagent: ${err instanceof Error ? err.message : err}`)
      return
    }
    if (this.state.status !== 'idle') this.set({ status: 'reconnecting' })
    this.retry(again, err instanceof ApiError ? err.retryAfterMs : undefined)
  }

  /** Called by the browser's `online` event: skip the remaining backoff. */
  wake(): void {
    if (this.state.status !== 'reconnecting') return
    this.attempt = 0
    if (this.saved.conversationId && this.token) this.retry(() => this.resume(), 0)
    else this.retry(() => this.start(), 0)
  }

  /** Merges live messages: dedup, unread count, `message` events, outbox cleanup. */
  private receive(incoming: Message[]): void {
    const { list, added } = mergeMessages(this.state.messages, incoming)
    if (added.length === 0) return
    this.absorb(list, added)
  }

  private absorb(list: Message[], added: Message[]): void {
    const acked = new Set(list.map((m) => m.clientMessageId).filter(Boolean))
    if (this.saved.outbox.some((o) => acked.has(o.id))) this.save({ ...this.saved, outbox: this.saved.outbox.filter((o) => !acked.has(o.id)) })
    const replies = added.filter((m) => m.role !== 'visitor')
    this.set({
      messages: list,
      pending: this.saved.outbox,
      unread: this.state.open ? 0 : this.state.unread + replies.length,
      ...(replies.length ? { typing: false, draft: undefined } : {}),
    })
    for (const m of added) this.deps.emit('message', m)
  }

  /** An identified user's visitor and conversation stay in memory: storage keeps at most the unsent outbox, so a
   * browser left without the host site's login cannot reopen that user's conversation. */
  private save(next: Saved): void {
    this.saved = next
    if (!this.identity) this.deps.store.write(next)
    else if (next.outbox.length) this.deps.store.write({ outbox: next.outbox })
    else this.deps.store.clear()
  }

  /** Queues a visitor message: persisted in the outbox first, then posted; never lost, never doubled. */
  send(text: string): void {
    const clean = text.trim().slice(0, 4000)
    if (!clean) return
    this.save({ ...this.saved, outbox: [...this.saved.outbox, { id: clientId(), text: clean, ...this.pageUrl() }] })
    this.set({ pending: this.saved.outbox })
    if (this.token && this.saved.conversationId) void this.flush()
    else void this.start()
  }

  private async flush(): Promise<void> {
    if (this.flushing || !this.saved.conversationId) return
    this.flushing = true
    clearTimeout(this.flushTimer)
    const epoch = this.epoch
    try {
      for (let item = this.saved.outbox[0]; item && epoch === this.epoch; item = this.saved.outbox[0]) {
        try {
          const res = await this.authed((t) =>
            this.deps.api<{ message: Message; replies: Message[]; handoff?: boolean }>(
              'POST',
              `${this.conversationPath}/messages`,
              { clientMessageId: item!.id, text: item!.text, ...(item!.pageUrl ? { pageUrl: item!.pageUrl } : this.pageUrl()) },
              t,
            ),
          )
          if (epoch !== this.epoch) return
          this.receive([res.message, ...res.replies])
          if (res.handoff) this.set({ handoff: true })
          this.drop(item.id)
        } catch (err) {
          if (epoch !== this.epoch || err instanceof Stale) return
          if (err instanceof ApiError && (err.status === 0 || err.status === 408 || err.status === 429 || err.status >= 500)) {
            // Kept in the outbox; the next reconnect (or this timer) sends it again with the same id.
            this.flushTimer = setTimeout(() => void this.flush(), err.retryAfterMs ?? backoff(2, this.deps.random))
            return
          }
          if (isFatal(err)) return this.fail(err, () => undefined)
          if (err instanceof ApiError && err.status === 404) {
            // The conversation is gone: the outbox moves to a new one.
            this.save({ ...this.saved, conversationId: undefined })
            this.starting = undefined
            void this.start()
            return
          }
          // Refused for good (e.g. validation): drop it so it cannot block the queue.
          this.drop(item.id)
        }
      }
    } finally {
      // A loop cut short by stop() must not clear the flag of the loop that replaced it.
      if (epoch === this.epoch) this.flushing = false
    }
  }

  private drop(id: string): void {
    if (!this.saved.outbox.some((o) => o.id === id)) return
    this.save({ ...this.saved, outbox: this.saved.outbox.filter((o) => o.id !== id) })
    this.set({ pending: this.saved.outbox })
  }

  /** Rates a bot answer (shown at once; put back if the server refuses). */
  async rate(id: string, rating: 'helpful' | 'not_helpful'): Promise<void> {
    const put = (r: Message['rating']) => this.set({ messages: this.state.messages.map((m) => (m.id === id ? { ...m, rating: r } : m)) })
    const before = this.state.messages.find((m) => m.id === id)?.rating ?? null
    put(rating)
    try {
      await this.authed((t) => this.deps.api('POST', `${this.conversationPath}/messages/${encodeURIComponent(id)}/rating`, { rating }, t))
    } catch (err) {
      put(before)
      this.report(err)
    }
  }

  /** The visitor asks for a person: the conversation waits for one, and the view asks for an email. */
  async askHuman(): Promise<void> {
    this.set({ handoff: true })
    try {
      await this.start()
      await this.authed((t) => this.deps.api('POST', `${this.conversationPath}/handoff`, undefined, t))
    } catch (err) {
      this.report(err)
    }
  }

  async submitLead(input: LeadInput): Promise<{ id: string; createdAt: string }> {
    const { referrer } = this.deps
    const body = {
      ...input,
      ...(this.saved.conversationId && this.token ? { conversationId: this.saved.conversationId } : {}),
      ...this.pageUrl(),
      ...(referrer ? { referrer: referrer.slice(0, 2000) } : {}),
    }
    const call = (t?: string) => this.deps.api<{ lead: { id: string; createdAt: string } }>('POST', '/api/widget/leads', body, t)
    const { lead } = body.conversationId ? await this.authed(call) : await call()
    this.deps.emit('lead', lead)
    return lead
  }

  /** `Intelagent('update', …)`: merged here, stored on the conversation once there is one. */
  update(attributes: Attributes): void {
    if (!attributes || typeof attributes !== 'object' || Array.isArray(attributes)) {
      console.warn('Intelagent: update() takes an object of attributes')
      return
    }
    this.attributes = { ...this.attributes, ...attributes }
    void this.pushAttributes()
  }

  private async pushAttributes(): Promise<void> {
    const attributes = this.attributes
    if (!Object.keys(attributes).length || !this.token || !this.saved.conversationId) return
    this.attributes = {}
    const epoch = this.epoch
    try {
      await this.authed((t) => this.deps.api('POST', `${this.conversationPath}/attributes`, { attributes }, t))
    } catch (err) {
      if (epoch !== this.epoch || err instanceof Stale) return
      if (err instanceof ApiError && (err.status === 0 || err.status === 429 || err.status >= 500)) {
        // Kept (newer values win) and sent again with the next connection.
        this.attributes = { ...attributes, ...this.attributes }
        return
      }
      this.report(err)
    }
  }

  /** `Intelagent('identify', …)`: checks the user with the server now, so a bad hash is refused at once. */
  identify(user: IdentifyParams): void {
    if (!user || typeof user.userId !== 'string' || typeof user.userHash !== 'string') {
      console.warn('Intelagent: identify() needs { userId, userHash }')
      return
    }
    const current = this.identity
    if (current?.userId === user.userId && current.userHash === user.userHash) {
      this.identity = { ...current, ...user }
      return
    }
    // Another person on this browser: nothing of the previous one may show.
    if (current) this.shutdown()
    else this.stop()
    this.identity = user
    this.verifying = this.verify(user)
  }

  private async verify(user: IdentifyParams): Promise<void> {
    const epoch = this.epoch
    const resume = this.state.open || this.returning || this.saved.outbox.length > 0
    try {
      await this.authenticate(false)
    } catch (err) {
      if (epoch !== this.epoch || err instanceof Stale) return
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) {
        // Refused: the visitor stays who they were (anonymous), with their own conversation.
        if (this.identity === user) this.identity = undefined
        this.report(err)
        this.verifying = undefined
        if (resume) void this.start()
        return
      }
      this.verifying = undefined
      this.fail(err, () => {
        if (this.identity === user) this.verifying = this.verify(user)
      })
      return
    }
    this.verifying = undefined
    if (epoch !== this.epoch) return
    if (this.saved.conversationId) {
      if (this.state.status === 'idle') this.set({ status: 'connecting' })
      this.starting = Promise.resolve()
      this.live()
    } else if (this.state.open || this.saved.outbox.length) void this.start()
  }

  private report(err: unknown): void {
    const code = err instanceof ApiError ? err.code : 'failed'
    const message = err instanceof Error ? err.message : String(err)
    console.warn(`Intelagent: ${code}: ${message}`)
    this.deps.emit('error', { code, message })
  }

  /** Puts text in the composer (the view takes it from `state.prefill`). */
  prefill(text: string): void {
    this.set({ prefill: String(text ?? '').slice(0, 4000) })
  }

  /** Called by the view once the prefilled text is in the composer. */
  tookPrefill(): void {
    if (this.state.prefill !== undefined) this.set({ prefill: undefined })
  }

  /** True while an identify call is being checked by the server. */
  get identifying(): boolean {
    return this.verifying !== undefined
  }

  /** Closes the stream and forgets every call in flight; the stored state is untouched. */
  private stop(): void {
    this.epoch++
    this.es?.close()
    this.es = undefined
    for (const t of [this.timer, this.flushTimer, this.typingTimer]) clearTimeout(t)
    this.token = undefined
    this.starting = undefined
    this.renewing = undefined
    this.verifying = undefined
    this.flushing = false
  }

  /**
   * `Intelagent('shutdown')`: forgets the visitor on this browser (storage, identity, attributes, the stream).
   * The next open starts a new anonymous visitor.
   */
  shutdown(): void {
    this.stop()
    this.identity = undefined
    this.attributes = {}
    this.saved = { outbox: [] }
    this.deps.store.clear()
    const wasOpen = this.state.open
    this.set({ ...INITIAL, config: this.state.config })
    if (wasOpen) this.deps.emit('close')
  }

  dispose(): void {
    this.stop()
  }
}
