// The hot path of a widget message answered by the offline engine: the visitor's message and the answer are stored
// by one statement (appendExchange), with their events, and the general path takes over whenever that cannot hold.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configure, newCustomer } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { StreamReader } from '../../test/sse.js'
import { addKnowledge, DEMO_KNOWLEDGE } from '../knowledge/knowledge.js'
import { appendExchange, findConversation } from './service.js'

const ORIGIN = 'https://exchange.example.com'
type Msg = { id: string; seq: number; role: string; text: string; clientMessageId: string | null }

describe('message and answer in one statement', () => {
  let app: TestApp
  let headers: Record<string, string>
  let licenseId: string
  let ownerToken: string
  beforeAll(async () => {
    app = await createTestApp()
    const owner = await newCustomer(app)
    ownerToken = owner.token
    licenseId = owner.licenseId
    for (const item of DEMO_KNOWLEDGE) await addKnowledge(app.deps.db, licenseId, 'chatbot', item)
    headers = { 'x-product-key': (await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key, origin: ORIGIN }
  })
  afterAll(async () => app.shutdown())

  async function visitor() {
    const res = await app.request('/api/widget/conversations', { method: 'POST', headers, json: {} })
    const body = (await res.json()) as { conversation: { id: string }; visitorToken: string }
    const token = body.visitorToken
    const send = (text: string, clientMessageId = `m-${crypto.randomUUID()}`) =>
      app.request(`/api/widget/conversations/${body.conversation.id}/messages`, {
        method: 'POST',
        headers,
        token: body.visitorToken,
        json: { text, clientMessageId },
      })
    return { id: body.conversation.id, token, send }
  }
  const stored = (conversationId: string) =>
    app.deps.db
      .selectFrom('messages')
      .select(['id', 'seq', 'role', 'text', 'meta', 'created_at'])
      .where('conversation_id', '=', conversationId)
      .orderBy('seq')
      .execute()
  const events = (conversationId: string) =>
    app.deps.db
      .selectFrom('events')
      .select('data')
      .where('type', '=', 'message.created')
      .where((eb) => eb.ref('data', '->>').key('conversationId' as never), '=', conversationId)
      .orderBy('seq')
      .execute()

  it('stores the message and its answer with consecutive seqs and one event each, and answers with both', async () => {
    const v = await visitor()
    const res = await v.send('What are your opening hours?', 'hours-1')
    expect(res.status).toBe(201)
    const body = (await res.json()) as { message: Msg; replies: Msg[] }
    expect(body.message).toMatchObject({ seq: 2, role: 'visitor', clientMessageId: 'hours-1' })
    expect(body.replies).toEqual([expect.objectContaining({ seq: 3, role: 'assistant', text: expect.stringContaining('9am') })])
    const rows = await stored(v.id)
    expect(rows.map((r) => [r.seq, r.role])).toEqual([
      [1, 'assistant'],
      [2, 'visitor'],
      [3, 'assistant'],
    ])
    expect(rows[2]?.meta).toMatchObject({ engine: 'knowledge', outcome: 'answer' })
    // Written by one statement: one timestamp for both (the general path commits them one after the other).
    expect(rows[2]?.created_at.getTime()).toBe(rows[1]?.created_at.getTime())
    // What the events carry is what the API answered (the greeting's event came with the conversation).
    const told = (await events(v.id)).map((e) => (e.data as { message: Msg }).message)
    const pick = (m: Msg | undefined) => ({ id: m?.id, seq: m?.seq, role: m?.role, text: m?.text, clientMessageId: m?.clientMessageId })
    expect(told.slice(-2).map(pick)).toEqual([pick(body.message), pick(body.replies[0])])
    expect((await findConversation(app.deps, licenseId, v.id))?.last_seq).toBe(3)

    // A retry of the same clientMessageId stores nothing more and answers 200 with the stored message.
    const again = await v.send('What are your opening hours?', 'hours-1')
    expect(again.status).toBe(200)
    expect(((await again.json()) as { message: Msg; replies: Msg[] }).message.id).toBe(body.message.id)
    expect(await stored(v.id)).toHaveLength(3)
    expect((await events(v.id)).length).toBe(told.length)
  })

  it('announces the message and its answer in one publish per channel, and each stream gets both as events', async () => {
    const v = await visitor()
    const visitorStream = new StreamReader(await app.request(`/api/widget/conversations/${v.id}/events?token=${v.token}`, { headers }))
    const dashboard = new StreamReader(await app.request('/api/events', { token: ownerToken }))
    await visitorStream.until((t) => t.includes('id: 1\n'))
    await dashboard.until((t) => t.includes('event: ready'))
    const published: [string, string][] = []
    const publish = app.deps.cache.publish.bind(app.deps.cache)
    app.deps.cache.publish = (channel, message) => {
      published.push([channel, message])
      return publish(channel, message)
    }
    try {
      expect((await v.send('What are your opening hours?')).status).toBe(201)
    } finally {
      app.deps.cache.publish = publish
    }
    // One message per channel, each carrying the two events as JSON lines.
    expect(published.map(([channel, message]) => [channel.split(':').slice(0, 2).join(':'), message.split('\n').length])).toEqual([
      ['events:conv', 2],
      ['events:license', 2],
    ])
    // The visitor's stream: the greeting (replayed), then the message and its answer as two events.
    const seen = await visitorStream.until((t) => t.includes('id: 3\n'))
    expect([...seen.matchAll(/event: message\ndata: (.*)\nid: (\d+)\n/g)].map((m) => [m[2], (JSON.parse(m[1] as string) as Msg).role])).toEqual([
      ['1', 'assistant'],
      ['2', 'visitor'],
      ['3', 'assistant'],
    ])
    // The dashboard's: two message.created events.
    const told = await dashboard.until((t) => (t.match(/event: message.created/g) ?? []).length >= 2)
    expect([...told.matchAll(/event: message.created\ndata: (.*)\n/g)].map((m) => (JSON.parse(m[1] as string) as { message: Msg }).message.role)).toEqual([
      'visitor',
      'assistant',
    ])
    await visitorStream.close()
    await dashboard.close()
  })

  it('stores nothing when the conversation moved since it was read, so the general path can take over', async () => {
    const v = await visitor()
    const conv = await findConversation(app.deps, licenseId, v.id)
    if (!conv) throw new Error('no conversation')
    // Someone else's message lands first: the seq the caller read is stale.
    expect((await v.send('Do you offer refunds?')).status).toBe(201)
    const stale = await appendExchange(app.deps, conv, { id: crypto.randomUUID(), text: 'late', clientMessageId: null, meta: {} }, { text: 'answer', meta: {} })
    expect(stale).toBeNull()
    const closed = { ...(await findConversation(app.deps, licenseId, v.id))! }
    await app.deps.db.updateTable('conversations').set({ status: 'closed' }).where('id', '=', v.id).execute()
    expect(
      await appendExchange(app.deps, closed, { id: crypto.randomUUID(), text: 'late', clientMessageId: null, meta: {} }, { text: 'answer', meta: {} }),
    ).toBeNull()
    expect((await stored(v.id)).map((r) => r.text)).not.toContain('late')
    // The widget still answers a closed conversation, by the general path: it reopens it first.
    const reopened = await v.send('What are your opening hours?')
    expect(reopened.status).toBe(201)
    expect(((await reopened.json()) as { replies: Msg[] }).replies[0]?.text).toContain('9am')
    expect((await findConversation(app.deps, licenseId, v.id))?.status).toBe('open')
  })

  it('leaves unsure answers to the general path, which moves the conversation to waiting in the same transaction', async () => {
    const v = await visitor()
    const res = await v.send('Can I bring my pet giraffe to the quantum lab?')
    expect(res.status).toBe(201)
    expect(((await res.json()) as { replies: (Msg & { unanswered?: boolean })[] }).replies[0]).toMatchObject({ unanswered: true })
    expect((await findConversation(app.deps, licenseId, v.id))?.status).toBe('waiting')
  })

  it('writes the exchanges of one turn together: each conversation its own seqs and events, a retry answered alone', async () => {
    const vs = [await visitor(), await visitor(), await visitor()]
    // A message stored earlier: sent again in the same turn as the others, it must not take them down with it.
    const first = (await (await vs[0]!.send('Do you offer refunds?', 'retry-1')).json()) as { message: Msg }
    const convs = await Promise.all(vs.map((v) => findConversation(app.deps, licenseId, v.id)))
    const one = (i: number, text: string, clientMessageId: string | null) =>
      appendExchange(app.deps, convs[i]!, { id: crypto.randomUUID(), text, clientMessageId, meta: {} }, { text: `answer to ${text}`, meta: {} })
    // Text that an array literal would mangle if the values were not passed as proper arrays.
    const awkward = 'She said "hi", {a,b} \\ NULL 👋 \u00e9'
    const [retried, b, c, sameConversationTwice] = await Promise.all([
      one(0, 'Do you offer refunds?', 'retry-1'),
      one(1, 'question b', 'b-1'),
      appendExchange(
        app.deps,
        convs[2]!,
        { id: crypto.randomUUID(), text: awkward, clientMessageId: null, meta: { pageUrl: 'https://x.example/?q="a"' } },
        { text: 'answer to question c', meta: { sources: [{ title: '"quoted"', url: null }] } },
      ),
      // The same conversation twice in a turn: the second finds it moved, as it would one at a time.
      one(1, 'question b again', 'b-2'),
    ])
    expect(retried).toMatchObject({ created: false, reply: null, message: { id: first.message.id } })
    expect(b).toMatchObject({ created: true, message: { seq: 2, text: 'question b' }, reply: { seq: 3, text: 'answer to question b' } })
    expect(c).toMatchObject({ created: true, message: { seq: 2, text: awkward }, reply: { seq: 3 } })
    expect(sameConversationTwice).toBeNull()
    for (const [v, texts] of [
      [vs[1]!, ['question b', 'answer to question b']],
      [vs[2]!, [awkward, 'answer to question c']],
    ] as const) {
      expect((await stored(v.id)).slice(1).map((r) => r.text)).toEqual(texts)
      expect((await events(v.id)).slice(1).map((e) => (e.data as { message: { text: string } }).message.text)).toEqual(texts)
      expect((await findConversation(app.deps, licenseId, v.id))?.last_seq).toBe(3)
    }
    expect((await stored(vs[0]!.id)).filter((r) => r.text === 'Do you offer refunds?')).toHaveLength(1)
    const [cMessage, cAnswer] = (await stored(vs[2]!.id)).slice(1)
    expect(cMessage?.meta).toEqual({ pageUrl: 'https://x.example/?q="a"' })
    expect(cAnswer?.meta).toEqual({ sources: [{ title: '"quoted"', url: null }] })
  })
})
