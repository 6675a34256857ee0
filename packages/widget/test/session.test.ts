// The chat session against fake fetch and EventSource: outbox, dedup, token renewal, reconnects, unread.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError, type Call } from '../src/chat/api'
import { backoff, mergeMessages } from '../src/chat/messages'
import { Session } from '../src/chat/session'
import { localStore } from '../src/chat/store'
import type { Message, WidgetConfig } from '../src/types'

const CONV = '00000000-0000-4000-8000-000000000001'
const config: WidgetConfig = {
  product: 'chatbot',
  botName: 'Assistant',
  greeting: 'Hi!',
  color: '#4f46e5',
  position: 'bottom-right',
  engine: 'knowledge',
  streaming: false,
  sales: null,
  suggestions: [],
  locale: 'auto',
  branding: true,
}

const msg = (seq: number, role: Message['role'], text: string, clientMessageId: string | null = null): Message => ({
  id: `m${seq}`,
  conversationId: CONV,
  seq,
  role,
  text,
  clientMessageId,
  sources: [],
  createdAt: new Date(0).toISOString(),
})

class FakeEventSource {
  static all: FakeEventSource[] = []
  onopen: (() => void) | null = null
  onmessage: ((e: { data: string }) => void) | null = null
  onerror: (() => void) | null = null
  closed = false
  private named = new Map<string, (e: { data: string }) => void>()
  constructor(readonly url: string) {
    FakeEventSource.all.push(this)
  }
  addEventListener(type: string, fn: (e: { data: string }) => void) {
    this.named.set(type, fn)
  }
  close() {
    this.closed = true
  }
  emit(type: string, data: unknown) {
    const e = { data: JSON.stringify(data) }
    if (type === 'message') this.onmessage?.(e)
    else this.named.get(type)?.(e)
  }
  static last() {
    return FakeEventSource.all[FakeEventSource.all.length - 1]!
  }
}

class MemoryStorage {
  data = new Map<string, string>()
  getItem(k: string) {
    return this.data.get(k) ?? null
  }
  setItem(k: string, v: string) {
    this.data.set(k, v)
  }
  removeItem(k: string) {
    this.data.delete(k)
  }
}

interface Server {
  seq: number
  stored: Message[]
  tokens: number
  expired: Set<string>
  offline: boolean
  calls: string[]
  bodies: Record<string, unknown>[]
  /** user id → conversation id, for identify */
  users: Map<string, string>
  attributes: Record<string, unknown>
  /** Past the plan's quota: messages are stored, nobody (no engine) replies. */
  handoff?: boolean
}

/** A tiny in-memory widget API following docs/widget-api.md. */
function fakeApi(server: Server): Call {
  return (async (method: string, path: string, body?: Record<string, string>, token?: string) => {
    server.calls.push(`${method} ${path.split('?')[0]}`)
    server.bodies.push({ path, ...(body ?? {}) })
    if (server.offline) throw new ApiError(0, 'network_error', 'offline')
    if (path === '/api/widget/config') return config
    if (path === '/api/widget/identify') {
      const b = body as unknown as { userId: string; userHash: string; start?: boolean }
      if (b.userHash !== `hash-of-${b.userId}`) throw new ApiError(401, 'identity_invalid', 'bad hash')
      let id = server.users.get(b.userId)
      if (!id && b.start) {
        id = `${CONV.slice(0, -1)}9`
        server.users.set(b.userId, id)
      }
      return {
        user: { id: b.userId, email: null, name: null },
        conversation: id ? { id } : null,
        visitorId: `user-visitor-${b.userId}`,
        visitorToken: `t${++server.tokens}`,
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
        messages: id ? [msg(1, 'agent', `welcome back ${b.userId}`)].map((m) => ({ ...m, conversationId: id })) : [],
      }
    }
    if (path.endsWith('/attributes')) {
      server.attributes = { ...server.attributes, ...(body as unknown as { attributes: object }).attributes }
      return { attributes: server.attributes }
    }
    if (path === '/api/widget/conversations') {
      const token = `t${++server.tokens}`
      const resumed = body?.conversationId === CONV
      if (!resumed) server.stored.push(msg(++server.seq, 'assistant', 'Hi!'))
      return {
        conversation: { id: CONV },
        visitorId: 'v1',
        visitorSecret: resumed ? undefined : 'secret-123456',
        visitorToken: token,
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
        messages: server.stored,
      }
    }
    if (token && server.expired.has(token)) throw new ApiError(401, 'visitor_token_invalid', 'expired')
    if (path.endsWith('/messages') && method === 'POST') {
      const existing = server.stored.find((m) => m.clientMessageId === body!.clientMessageId)
      if (existing) return { message: existing, replies: [] }
      const message = msg(++server.seq, 'visitor', body!.text!, body!.clientMessageId!)
      if (server.handoff) {
        server.stored.push(message)
        return { message, replies: [], handoff: true }
      }
      const reply = msg(++server.seq, 'assistant', `echo: ${body!.text}`)
      server.stored.push(message, reply)
      return { message, replies: [reply] }
    }
    if (path === '/api/widget/leads') {
      server.calls.push(`lead ${JSON.stringify(body)}`)
      return { lead: { id: 'l1', createdAt: new Date(0).toISOString() } }
    }
    if (path.includes('/messages?after=')) {
      const after = Number(path.split('after=')[1])
      return { messages: server.stored.filter((m) => m.seq > after) }
    }
    throw new Error(`unexpected ${method} ${path}`)
  }) as Call
}

describe('chat session', () => {
  let server: Server
  let storage: MemoryStorage
  let events: [string, unknown][]
  const make = () =>
    new Session({
      api: fakeApi(server),
      base: 'https://api.test',
      key: 'chat_test',
      store: localStore('chat_test', storage as unknown as Storage),
      emit: (e, d) => events.push([e, d]),
      EventSource: FakeEventSource as unknown as typeof EventSource,
      random: () => 1,
    })
  const saved = () => JSON.parse(storage.getItem('intelagent:chat_test') ?? 'null')

  beforeEach(() => {
    vi.useFakeTimers()
    server = { seq: 0, stored: [], tokens: 0, expired: new Set(), offline: false, calls: [], bodies: [], users: new Map(), attributes: {} }
    storage = new MemoryStorage()
    events = []
    FakeEventSource.all = []
  })
  afterEach(() => vi.useRealTimers())

  it('sends the page and its referrer with a lead, for enrichment', async () => {
    const s = new Session({
      api: fakeApi(server),
      base: 'https://api.test',
      key: 'chat_test',
      store: localStore('chat_test', storage as unknown as Storage),
      emit: (e, d) => events.push([e, d]),
      EventSource: FakeEventSource as unknown as typeof EventSource,
      pageUrl: () => 'https://shop.example.com/pricing?utm_source=newsletter',
      referrer: 'https://www.google.com/',
    })
    await s.submitLead({ name: 'Ann', email: 'ann@example.com', consent: true })
    const sent = JSON.parse(server.calls.find((c) => c.startsWith('lead '))!.slice(5))
    expect(sent).toMatchObject({ pageUrl: 'https://shop.example.com/pricing?utm_source=newsletter', referrer: 'https://www.google.com/' })
    expect(events.map((e) => e[0])).toEqual(['lead'])
  })

  it('writes nothing to storage until the visitor opens the chat', async () => {
    const s = make()
    await s.loadConfig()
    expect(storage.data.size).toBe(0)
    s.setOpen(true)
    await vi.waitFor(() => expect(s.state.messages).toHaveLength(1))
    expect(Object.keys(saved()).sort()).toEqual(['conversationId', 'outbox', 'visitorId', 'visitorSecret'])
    expect(events.map((e) => e[0])).toEqual(['open'])
  })

  it('sends through the outbox and shows each message once, whatever order POST and stream answer in', async () => {
    const s = make()
    s.setOpen(true)
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    FakeEventSource.last().onopen?.()
    s.send('hello')
    expect(saved().outbox).toMatchObject([{ text: 'hello' }])
    await vi.waitFor(() => expect(s.state.messages.map((m) => m.text)).toEqual(['Hi!', 'hello', 'echo: hello']))
    // The stream delivers the same messages again: nothing doubles.
    for (const m of server.stored) FakeEventSource.last().emit('message', m)
    expect(s.state.messages).toHaveLength(3)
    expect(s.state.pending).toEqual([])
    expect(saved().outbox).toEqual([])
    expect(events.filter((e) => e[0] === 'message')).toHaveLength(2)
  })

  it('past the plan’s quota the message is kept and the view is told to ask for an email', async () => {
    server.handoff = true
    const s = make()
    s.setOpen(true)
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    FakeEventSource.last().onopen?.()
    expect(s.state.handoff).toBe(false)
    s.send('anyone there?')
    await vi.waitFor(() => expect(s.state.handoff).toBe(true))
    expect(s.state.messages.map((m) => m.text)).toEqual(['Hi!', 'anyone there?'])
    expect(s.state.pending).toEqual([])
    await s.submitLead({ name: 'Ann', email: 'ann@example.com', consent: true })
    expect(server.calls.some((c) => c.startsWith('lead '))).toBe(true)
  })

  it('keeps messages while offline and delivers them once, in order, when the network returns', async () => {
    const s = make()
    s.setOpen(true)
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    server.offline = true
    s.send('one')
    s.send('two')
    await vi.advanceTimersByTimeAsync(10)
    expect(s.state.pending.map((p) => p.text)).toEqual(['one', 'two'])
    expect(saved().outbox.map((o: { text: string }) => o.text)).toEqual(['one', 'two'])
    // A reload while offline: a new session picks the outbox up from storage.
    const again = make()
    expect(again.state.pending.map((p) => p.text)).toEqual(['one', 'two'])
    server.offline = false
    await vi.advanceTimersByTimeAsync(5000)
    expect(server.stored.filter((m) => m.role === 'visitor').map((m) => m.text)).toEqual(['one', 'two'])
    expect(s.state.messages.filter((m) => m.role === 'visitor').map((m) => m.text)).toEqual(['one', 'two'])
    expect(saved().outbox).toEqual([])
  })

  it('renews an expired visitor token by resuming the conversation, then retries the call', async () => {
    const s = make()
    s.setOpen(true)
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    server.expired.add('t1')
    s.send('still there?')
    await vi.waitFor(() => expect(s.state.messages.map((m) => m.text)).toContain('echo: still there?'))
    expect(server.tokens).toBe(2)
    expect(server.calls.filter((c) => c === 'POST /api/widget/conversations')).toHaveLength(2)
    expect(server.stored.filter((m) => m.role === 'visitor')).toHaveLength(1)
  })

  it('reconnects the stream with backoff, catching up on what it missed from the last seq', async () => {
    const s = make()
    s.setOpen(true)
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    FakeEventSource.last().onopen?.()
    expect(s.state.status).toBe('live')
    FakeEventSource.last().onerror?.()
    expect(s.state.status).toBe('reconnecting')
    server.stored.push(msg(++server.seq, 'agent', 'missed while away'))
    await vi.advanceTimersByTimeAsync(999)
    expect(FakeEventSource.all).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(10)
    expect(FakeEventSource.all).toHaveLength(2)
    expect(FakeEventSource.last().url).toContain('after=2')
    expect(s.state.messages.map((m) => m.text)).toEqual(['Hi!', 'missed while away'])
  })

  it('counts unread replies while closed, streams tokens into a draft, and clears typing on the final message', async () => {
    const s = make()
    s.setOpen(true)
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    s.setOpen(false)
    const es = FakeEventSource.last()
    es.emit('typing', { typing: true })
    expect(s.state.typing).toBe(true)
    es.emit('token', { delta: 'Hel' })
    es.emit('token', { delta: 'lo' })
    expect(s.state).toMatchObject({ draft: 'Hello', typing: false })
    es.emit('message', msg(2, 'assistant', 'Hello!'))
    expect(s.state).toMatchObject({ draft: undefined, unread: 1 })
    s.setOpen(true)
    expect(s.state.unread).toBe(0)
  })

  it('drops a typing indicator that is never switched off after 30 s', async () => {
    const s = make()
    s.setOpen(true)
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    FakeEventSource.last().emit('typing', { typing: true })
    await vi.advanceTimersByTimeAsync(29_000)
    expect(s.state.typing).toBe(true)
    await vi.advanceTimersByTimeAsync(1_001)
    expect(s.state.typing).toBe(false)
  })

  it('stops for good when the site is not allowed', async () => {
    const s = new Session({
      api: (async () => {
        throw new ApiError(403, 'origin_not_allowed', 'no')
      }) as Call,
      base: 'https://api.test',
      key: 'chat_test',
      store: localStore('chat_test', storage as unknown as Storage),
      emit: () => undefined,
      EventSource: FakeEventSource as unknown as typeof EventSource,
    })
    vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    s.setOpen(true)
    await vi.waitFor(() => expect(s.state.status).toBe('failed'))
    expect(s.state.error).toBe('origin_not_allowed')
    await vi.advanceTimersByTimeAsync(60_000)
    expect(FakeEventSource.all).toHaveLength(0)
  })
})

describe('page API calls', () => {
  let server: Server
  let storage: MemoryStorage
  let events: [string, unknown][]
  let url: string
  const make = () =>
    new Session({
      api: fakeApi(server),
      base: 'https://api.test',
      key: 'chat_test',
      store: localStore('chat_test', storage as unknown as Storage),
      emit: (e, d) => events.push([e, d]),
      EventSource: FakeEventSource as unknown as typeof EventSource,
      pageUrl: () => url,
      random: () => 1,
    })
  const saved = () => JSON.parse(storage.getItem('intelagent:chat_test') ?? 'null')

  beforeEach(() => {
    vi.useFakeTimers()
    server = { seq: 0, stored: [], tokens: 0, expired: new Set(), offline: false, calls: [], bodies: [], users: new Map(), attributes: {} }
    storage = new MemoryStorage()
    events = []
    url = 'https://shop.test/'
    FakeEventSource.all = []
  })
  afterEach(() => vi.useRealTimers())

  it('sends the page address of the moment with each message (single-page apps)', async () => {
    const s = make()
    s.setOpen(true)
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    url = 'https://shop.test/orders/7'
    s.send('where is it?')
    await vi.waitFor(() => expect(s.state.messages.map((m) => m.text)).toContain('where is it?'))
    expect(server.bodies.find((b) => b.text === 'where is it?')).toMatchObject({ pageUrl: 'https://shop.test/orders/7' })
    expect(server.bodies.find((b) => b.path === '/api/widget/conversations')).toMatchObject({ pageUrl: 'https://shop.test/' })
  })

  it('keeps the page a message was sent from when it is posted later (offline, or the app moved on)', async () => {
    const s = make()
    s.setOpen(true)
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    server.offline = true
    url = 'https://shop.test/orders/7'
    s.send('sent from the order')
    // The single-page app navigates back before the network returns.
    url = 'https://shop.test/'
    server.offline = false
    await vi.advanceTimersByTimeAsync(60_000)
    await vi.waitFor(() => expect(s.state.messages.map((m) => m.text)).toContain('sent from the order'))
    const posted = server.bodies.filter((b) => b.text === 'sent from the order')
    expect(posted.length).toBeGreaterThan(0)
    for (const b of posted) expect(b).toMatchObject({ pageUrl: 'https://shop.test/orders/7' })
  })

  it("identifies a user: resumes the user's conversation from the server and stores nothing of it in the browser", async () => {
    server.users.set('u1', CONV)
    const s = make()
    s.identify({ userId: 'u1', userHash: 'hash-of-u1' })
    await vi.waitFor(() => expect(s.state.messages.map((m) => m.text)).toEqual(['welcome back u1']))
    expect(FakeEventSource.all).toHaveLength(1)
    expect(storage.data.size).toBe(0)
    s.send('hi again')
    expect(saved()).toMatchObject({ outbox: [{ text: 'hi again' }] })
    expect(saved()).not.toHaveProperty('conversationId')
    await vi.waitFor(() => expect(s.state.messages.map((m) => m.text)).toContain('hi again'))
    expect(storage.data.size).toBe(0)
  })

  it('hands an anonymous conversation over on identify, and stays anonymous when the hash is refused', async () => {
    const s = make()
    s.setOpen(true)
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    const anonymous = saved()
    s.identify({ userId: 'u2', userHash: 'forged' })
    await vi.waitFor(() => expect(events.map((e) => e[0])).toContain('error'))
    expect(events.find((e) => e[0] === 'error')?.[1]).toMatchObject({ code: 'identity_invalid' })
    // Still the anonymous visitor, with the same stored conversation, live again.
    expect(saved()).toMatchObject({ visitorId: anonymous.visitorId, conversationId: anonymous.conversationId })
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(2))

    s.identify({ userId: 'u2', userHash: 'hash-of-u2' })
    await vi.waitFor(() => expect(server.calls.filter((c) => c === 'POST /api/widget/identify')).toHaveLength(2))
    expect(server.bodies.filter((b) => b.path === '/api/widget/identify').at(-1)).toMatchObject({
      visitorId: anonymous.visitorId,
      visitorSecret: anonymous.visitorSecret,
      conversationId: anonymous.conversationId,
    })
  })

  it('keeps attributes until a conversation exists, then stores them once', async () => {
    const s = make()
    s.update({ plan: 'pro' })
    s.update({ seats: 3 })
    await vi.advanceTimersByTimeAsync(10)
    expect(server.calls).not.toContain(`POST /api/widget/conversations/${CONV}/attributes`)
    s.setOpen(true)
    await vi.waitFor(() => expect(server.attributes).toEqual({ plan: 'pro', seats: 3 }))
    expect(server.calls.filter((c) => c.endsWith('/attributes'))).toHaveLength(1)
  })

  it('shutdown forgets the visitor: storage, stream and view state; the next open is a new visitor', async () => {
    const s = make()
    s.setOpen(true)
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    s.shutdown()
    expect(storage.data.size).toBe(0)
    expect(FakeEventSource.last().closed).toBe(true)
    expect(s.state).toMatchObject({ open: false, messages: [], status: 'idle' })
    expect(events.map((e) => e[0])).toEqual(['open', 'close'])
    s.setOpen(true)
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(2))
    const second = server.bodies.filter((b) => b.path === '/api/widget/conversations').at(-1)
    expect(second).not.toHaveProperty('visitorId')
    expect(second).not.toHaveProperty('conversationId')
  })

  it('puts prefilled text in the state for the composer until the view takes it', () => {
    const s = make()
    s.prefill('I have a question about ')
    expect(s.state.prefill).toBe('I have a question about ')
    s.tookPrefill()
    expect(s.state.prefill).toBeUndefined()
  })
})

describe('message helpers', () => {
  it('merges by id and orders by seq', () => {
    const a = msg(1, 'assistant', 'a')
    const b = msg(2, 'visitor', 'b')
    const { list, added } = mergeMessages([b], [a, b])
    expect(list.map((m) => m.seq)).toEqual([1, 2])
    expect(added).toEqual([a])
  })

  it('backs off exponentially with jitter, capped at 30 s', () => {
    expect(backoff(0, () => 1)).toBe(1000)
    expect(backoff(3, () => 1)).toBe(8000)
    expect(backoff(3, () => 0)).toBe(4000)
    expect(backoff(20, () => 1)).toBe(30_000)
  })
})
