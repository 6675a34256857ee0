// The conversation lifecycle (open → waiting → closed, reopen, takeover), honest "I don't know" with the owner told,
// visitor ratings, and unanswered questions that become knowledge.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createTestApp, ManualClock, type TestApp } from '../../test/harness.js'
import { normalizeQuestion } from '../knowledge/unanswered.js'
import { closeInactive, INACTIVITY_JOB } from './lifecycle.js'

const ORIGIN = 'https://shop.example.com'

interface Msg {
  id: string
  seq: number
  role: string
  text: string
  rating?: string | null
  unanswered?: true
}
interface Conv {
  id: string
  status: string
  waitingReason: string | null
  closedBy: string | null
  takenOver: { at: string; by: string | null } | null
}

describe('conversation lifecycle', () => {
  let app: TestApp
  const clock = new ManualClock(Date.now())

  beforeAll(async () => {
    app = await createTestApp({ clock })
  })
  afterAll(async () => {
    await app.shutdown()
  })

  /** A customer with a configured chatbot, and a helper to start visitor conversations on it. */
  async function shop(settings: Record<string, unknown> = {}) {
    const owner = await newCustomer(app)
    const { key } = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN], settings })
    const headers = { 'x-product-key': key, origin: ORIGIN }
    const visitor = async () => {
      const res = await app.request('/api/widget/conversations', { method: 'POST', headers, json: {} })
      expect(res.status).toBe(201)
      const body = (await res.json()) as { conversation: Conv; visitorToken: string; messages: Msg[] }
      let n = 0
      return {
        id: body.conversation.id,
        token: body.visitorToken,
        greeting: body.messages[0] as Msg,
        async send(text: string) {
          const r = await app.request(`/api/widget/conversations/${body.conversation.id}/messages`, {
            method: 'POST',
            headers,
            token: body.visitorToken,
            json: { clientMessageId: `m${n++}`, text },
          })
          expect(r.status).toBe(201)
          return (await r.json()) as { message: Msg; replies: Msg[] }
        },
        rate(messageId: string, rating: unknown, token = body.visitorToken, conversationId = body.conversation.id) {
          return app.request(`/api/widget/conversations/${conversationId}/messages/${messageId}/rating`, {
            method: 'POST',
            headers,
            token,
            json: { rating },
          })
        },
        handoff() {
          return app.request(`/api/widget/conversations/${body.conversation.id}/handoff`, { method: 'POST', headers, token: body.visitorToken })
        },
      }
    }
    return { owner, headers, visitor }
  }

  const act = async (owner: Customer, id: string, action: 'close' | 'reopen' | 'takeover' | 'handback') => {
    const res = await app.request(`/api/conversations/${id}/${action}`, { method: 'POST', token: owner.token })
    expect(res.status).toBe(200)
    return ((await res.json()) as { conversation: Conv }).conversation
  }
  const events = (type: string, conversationId: string) =>
    app.deps.db
      .selectFrom('events')
      .select(['type', 'data'])
      .where('type', '=', type)
      .where((eb) => eb.ref('data', '->>').key('conversationId' as never), '=', conversationId)
      .orderBy('seq')
      .execute()
  const status = async (id: string) =>
    (await app.deps.db.selectFrom('conversations').select(['status', 'waiting_reason', 'closed_by']).where('id', '=', id).executeTakeFirstOrThrow()).status

  it('moves open → closed → open (owner close, visitor message reopens) with one event per change', async () => {
    const { owner, visitor } = await shop()
    const v = await visitor()
    expect(await status(v.id)).toBe('open')

    const closed = await act(owner, v.id, 'close')
    expect(closed).toMatchObject({ status: 'closed', closedBy: 'owner' })
    // Closing again changes nothing and emits nothing.
    await act(owner, v.id, 'close')
    expect(await events('conversation.closed', v.id)).toEqual([{ type: 'conversation.closed', data: expect.objectContaining({ by: 'owner' }) }])

    await v.send('hello again')
    expect(await status(v.id)).not.toBe('closed')
    expect(await events('conversation.reopened', v.id)).toHaveLength(1)

    // The owner reopens a closed one too; reopening an open one is a no-op.
    await act(owner, v.id, 'close')
    expect((await act(owner, v.id, 'reopen')).status).toBe('open')
    await act(owner, v.id, 'reopen')
    expect(await events('conversation.reopened', v.id)).toHaveLength(2)
    expect(await events('conversation.closed', v.id)).toHaveLength(2)

    // The list filters by status.
    await act(owner, v.id, 'close')
    const list = await app.request('/api/products/chatbot/conversations?status=closed', { token: owner.token })
    expect(((await list.json()) as { conversations: Conv[] }).conversations.map((c) => c.id)).toEqual([v.id])
    const open = await app.request('/api/products/chatbot/conversations?status=open', { token: owner.token })
    expect(((await open.json()) as { conversations: Conv[] }).conversations).toEqual([])
    expect((await app.request('/api/products/chatbot/conversations?status=nope', { token: owner.token })).status).toBe(422)
  })

  it('answers 404 for another license’s conversation', async () => {
    const { visitor } = await shop()
    const v = await visitor()
    const stranger = await newCustomer(app)
    const res = await app.request(`/api/conversations/${v.id}/close`, { method: 'POST', token: stranger.token })
    expect(res.status).toBe(404)
    expect(await status(v.id)).toBe('open')
  })

  it('below the threshold says it does not know, waits for a person, tells the owner once, and collects the question', async () => {
    const { owner, visitor } = await shop()
    const v = await visitor()
    const { replies } = await v.send('Do you ship to Norway?')
    expect(replies).toHaveLength(1)
    expect(replies[0]).toMatchObject({ role: 'assistant', unanswered: true, rating: null })
    expect(replies[0]?.text).toContain('not sure')
    const conv = await app.request(`/api/conversations/${v.id}`, { token: owner.token })
    expect(((await conv.json()) as { conversation: Conv }).conversation).toMatchObject({ status: 'waiting', waitingReason: 'unanswered' })
    expect(await events('conversation.waiting', v.id)).toEqual([{ type: 'conversation.waiting', data: expect.objectContaining({ reason: 'unanswered' }) }])
    expect(await events('question.unanswered', v.id)).toEqual([
      { type: 'question.unanswered', data: expect.objectContaining({ question: 'Do you ship to Norway?', messageId: expect.any(String) }) },
    ])

    // A second unknown question in the same wait: collected, but no second wait and no second mail.
    await v.send('do you ship to NORWAY')
    expect(await events('conversation.waiting', v.id)).toHaveLength(1)
    await app.jobs.idle()
    const mails = await app.deps.db
      .selectFrom('mail_outbox')
      .select(['to_email', 'subject'])
      .where('license_id', '=', owner.licenseId)
      .where('template', '=', 'conversation-waiting')
      .execute()
    expect(mails).toEqual([{ to_email: owner.email, subject: 'Intelagent Chatbot: a visitor is waiting for a person' }])

    // Both asks count on one entry, ranked by frequency.
    const other = await visitor()
    await other.send('What is your phone number?')
    const listed = await app.request('/api/products/chatbot/unanswered', { token: owner.token })
    expect(listed.status).toBe(200)
    const { questions } = (await listed.json()) as { questions: { id: string; question: string; count: number; exampleConversationId: string }[] }
    expect(questions.map((q) => [q.question, q.count])).toEqual([
      ['do you ship to NORWAY', 2],
      ['What is your phone number?', 1],
    ])
    expect(questions[0]?.exampleConversationId).toBe(v.id)
  })

  it('an answered question becomes a Q&A pair, leaves the list, and the bot then answers it', async () => {
    const { owner, visitor } = await shop()
    const v = await visitor()
    await v.send('Do you offer same-day delivery in Leeds?')
    const [q] = ((await (await app.request('/api/products/chatbot/unanswered', { token: owner.token })).json()) as { questions: { id: string }[] }).questions
    expect(q).toBeDefined()

    const bad = await app.request(`/api/products/chatbot/unanswered/${q?.id}/answer`, { method: 'POST', token: owner.token, json: { answer: '' } })
    expect(bad.status).toBe(422)
    const answered = await app.request(`/api/products/chatbot/unanswered/${q?.id}/answer`, {
      method: 'POST',
      token: owner.token,
      json: { answer: 'Yes: order before 11am and it arrives the same evening in Leeds.' },
    })
    expect(answered.status).toBe(201)
    expect(await answered.json()).toMatchObject({
      question: { status: 'answered' },
      item: { kind: 'qa', title: 'Do you offer same-day delivery in Leeds?', body: expect.stringContaining('same evening') },
    })
    const again = await app.request(`/api/products/chatbot/unanswered/${q?.id}/answer`, { method: 'POST', token: owner.token, json: { answer: 'x' } })
    expect(again.status).toBe(409)
    expect(((await (await app.request('/api/products/chatbot/unanswered', { token: owner.token })).json()) as { questions: unknown[] }).questions).toEqual([])

    const next = await visitor()
    const { replies } = await next.send('do you offer same-day delivery in Leeds?')
    expect(replies[0]?.text).toContain('same evening')
    expect(replies[0]?.unanswered).toBeUndefined()
    expect(await status(next.id)).toBe('open')
  })

  it('dismisses a question; asked again it comes back as new', async () => {
    const { owner, visitor } = await shop()
    const v = await visitor()
    await v.send('Can I pay with cheques?')
    const list = async () =>
      ((await (await app.request('/api/products/chatbot/unanswered', { token: owner.token })).json()) as { questions: { id: string; count: number }[] })
        .questions
    const [q] = await list()
    const res = await app.request(`/api/products/chatbot/unanswered/${q?.id}/dismiss`, { method: 'POST', token: owner.token })
    expect(res.status).toBe(200)
    expect(await list()).toEqual([])
    await v.send('can I pay with cheques')
    expect((await list()).map((x) => x.count)).toEqual([1])
    const unknown = await app.request(`/api/products/chatbot/unanswered/${crypto.randomUUID()}/dismiss`, { method: 'POST', token: owner.token })
    expect(unknown.status).toBe(404)
  })

  it('takeover pauses the engine until the owner hands the conversation back', async () => {
    const { owner, visitor } = await shop()
    const v = await visitor()
    await v.send('Do you sell lamps?')
    expect(await status(v.id)).toBe('waiting')

    // A reply from the dashboard takes the conversation over and a person is now answering.
    const reply = await app.request(`/api/conversations/${v.id}/messages`, { method: 'POST', token: owner.token, json: { text: 'Hi, I can help.' } })
    expect(reply.status).toBe(201)
    const detail = (await (await app.request(`/api/conversations/${v.id}`, { token: owner.token })).json()) as { conversation: Conv }
    expect(detail.conversation).toMatchObject({ status: 'open', takenOver: { by: owner.email } })

    const paused = await v.send('Which colours?')
    expect(paused.replies).toEqual([])
    const roles = await app.deps.db.selectFrom('messages').select('role').where('conversation_id', '=', v.id).orderBy('seq').execute()
    expect(roles.map((r) => r.role)).toEqual(['assistant', 'visitor', 'assistant', 'agent', 'visitor'])

    expect((await act(owner, v.id, 'handback')).takenOver).toBeNull()
    const back = await v.send('Which colours?')
    expect(back.replies).toHaveLength(1)

    // Takeover by button, and close hands back too.
    expect((await act(owner, v.id, 'takeover')).takenOver).not.toBeNull()
    expect((await v.send('hello?')).replies).toEqual([])
    expect((await act(owner, v.id, 'close')).takenOver).toBeNull()
    expect((await v.send('hello?!')).replies).toHaveLength(1)
  })

  it('the visitor asks for a person: waiting, one event, the owner told once', async () => {
    const { owner, visitor } = await shop()
    const v = await visitor()
    const res = await v.handoff()
    expect(res.status).toBe(200)
    expect(((await res.json()) as { conversation: Conv }).conversation).toMatchObject({ status: 'waiting', waitingReason: 'visitor_request' })
    expect((await v.handoff()).status).toBe(200)
    expect(await events('conversation.waiting', v.id)).toEqual([{ type: 'conversation.waiting', data: expect.objectContaining({ reason: 'visitor_request' }) }])
    await app.jobs.idle()
    const mails = await app.deps.db
      .selectFrom('mail_outbox')
      .select('id')
      .where('license_id', '=', owner.licenseId)
      .where('template', '=', 'conversation-waiting')
      .execute()
    expect(mails).toHaveLength(1)
    // The owner reopens it: a new wait can start (and tell the owner again).
    await act(owner, v.id, 'reopen')
    await v.handoff()
    expect(await events('conversation.waiting', v.id)).toHaveLength(2)
  })

  it('ratings: idempotent, assistant answers of one’s own conversation only, stable errors', async () => {
    const { visitor } = await shop()
    const v = await visitor()
    const { message, replies } = await v.send('Anything?')
    const answer = replies[0] as Msg

    const first = await v.rate(answer.id, 'helpful')
    expect(first.status).toBe(200)
    expect(((await first.json()) as { message: Msg }).message).toMatchObject({ id: answer.id, rating: 'helpful' })
    expect((await v.rate(answer.id, 'helpful')).status).toBe(200)
    expect(await events('message.rated', v.id)).toHaveLength(1)
    // A change of mind replaces the rating and is told.
    expect(((await (await v.rate(answer.id, 'not_helpful')).json()) as { message: Msg }).message.rating).toBe('not_helpful')
    expect((await events('message.rated', v.id)).map((e) => (e.data as { rating: string }).rating)).toEqual(['helpful', 'not_helpful'])

    const visitorMessage = await v.rate(message.id, 'helpful')
    expect(visitorMessage.status).toBe(400)
    expect(((await visitorMessage.json()) as { error: { code: string } }).error.code).toBe('message_not_rateable')
    const greeting = await v.rate(v.greeting.id, 'helpful')
    expect(((await greeting.json()) as { error: { code: string } }).error.code).toBe('message_not_rateable')

    const badValue = await v.rate(answer.id, 'meh')
    expect(badValue.status).toBe(422)
    expect(((await badValue.json()) as { error: { code: string } }).error.code).toBe('validation_failed')
    const badId = await app.request(`/api/widget/conversations/${v.id}/messages/not-a-uuid/rating`, { method: 'POST', json: { rating: 'helpful' } })
    expect(badId.status).toBeGreaterThanOrEqual(400)
    expect((await v.rate(crypto.randomUUID(), 'helpful')).status).toBe(404)

    // Another visitor of the same site cannot rate this conversation's messages.
    const other = await visitor()
    expect((await other.rate(answer.id, 'helpful', other.token, v.id)).status).toBe(404)
    expect((await other.rate(answer.id, 'helpful', other.token, other.id)).status).toBe(404)
  })

  it('closes conversations after the product’s inactivity (Deps clock), as a scheduled durable job', async () => {
    const { visitor } = await shop()
    const never = await shop({ autoCloseHours: 0 })
    const quiet = await visitor()
    const kept = await never.visitor()
    await quiet.send('hello')

    clock.advance(20 * 3600_000)
    // Visitor tokens last an hour: this visitor arrives 20 hours later.
    const recent = await visitor()
    await recent.send('still here')
    await closeInactive(app.deps)
    expect(await status(quiet.id)).not.toBe('closed')

    clock.advance(5 * 3600_000)
    await closeInactive(app.deps)
    expect(await status(quiet.id)).toBe('closed')
    expect(await status(recent.id)).not.toBe('closed')
    expect(await status(kept.id)).not.toBe('closed')
    expect(await events('conversation.closed', quiet.id)).toEqual([{ type: 'conversation.closed', data: expect.objectContaining({ by: 'inactivity' }) }])
    const row = await app.deps.db.selectFrom('conversations').select('closed_by').where('id', '=', quiet.id).executeTakeFirstOrThrow()
    expect(row.closed_by).toBe('inactivity')

    // The worker queues the sweep as a durable job once per 15-minute slot of the Deps clock, and it runs.
    clock.advance(25 * 3600_000)
    await app.jobs.idle()
    expect(await status(recent.id)).toBe('closed')
    expect(await status(kept.id)).toBe('open')
    const runs = await app.deps.db.selectFrom('jobs').select(['status']).where('name', '=', INACTIVITY_JOB).execute()
    expect(runs.length).toBeGreaterThanOrEqual(1)
    expect(runs.every((r) => r.status === 'done')).toBe(true)
  })

  it('normalises questions so repeats group', () => {
    expect(normalizeQuestion('  Do you ship to Norway?!  ')).toBe('do you ship to norway')
    expect(normalizeQuestion('Café — opening HOURS')).toBe('cafe opening hours')
  })
})
