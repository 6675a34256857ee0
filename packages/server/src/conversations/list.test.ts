// Every entry of the conversation list (one statement, queries.ts listConversations) must be exactly
// what the conversation's own route answers (publicConversation), plus its message count and last message, for every
// state a conversation can be in, and the pages must walk the whole list once.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'

const ORIGIN = 'https://shop.example.com'

interface Listed {
  id: string
  messageCount: number
  lastMessage: { text: string; role: string; createdAt: string } | null
  [field: string]: unknown
}

describe('conversation list', () => {
  let app: TestApp
  let owner: Customer
  let key: string
  const ids: string[] = []

  const start = async () => {
    const res = await app.request('/api/widget/conversations', { method: 'POST', headers: { 'x-product-key': key, origin: ORIGIN }, json: {} })
    expect(res.status).toBe(201)
    return ((await res.json()) as { conversation: { id: string }; visitorToken: string }).conversation.id
  }

  beforeAll(async () => {
    app = await createTestApp()
    owner = await newCustomer(app)
    key = (await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
    for (let i = 0; i < 5; i++) ids.push(await start())
    const [plain, identified, closed, taken, empty] = ids as [string, string, string, string, string]
    const db = app.deps.db
    await app.request(`/api/conversations/${plain}/messages`, {
      method: 'POST',
      token: owner.token,
      json: { text: 'A "quoted" reply \\ with ünïcode ✓\nand a line break' },
    })
    await db
      .updateTable('conversations')
      .set({
        user_id: 'u-42',
        user_email: 'ada@example.com',
        user_name: null,
        attributes: JSON.stringify({ plan: 'pro', seats: 3, trial: false }),
        page_url: 'https://shop.example.com/a?b=c',
      })
      .where('id', '=', identified)
      .execute()
    await db
      .updateTable('conversations')
      .set({ status: 'closed', closed_at: new Date('2026-11-30T12:00:00.999Z'), closed_by: 'owner' })
      .where('id', '=', closed)
      .execute()
    // A timestamp Postgres holds to the microsecond (…999 600): both answers must cut it to …999 as toISOString() does.
    await sql`update conversations set taken_over_at = '2026-11-30 12:00:00.9996+00', taken_over_by = ${owner.email}, status = 'waiting', waiting_reason = 'visitor_request' where id = ${taken}`.execute(
      db,
    )
    await db.updateTable('conversations').set({ last_seq: 0 }).where('id', '=', empty).execute()
    await db.deleteFrom('messages').where('conversation_id', '=', empty).execute()
  })
  afterAll(async () => app.shutdown())

  it('lists each conversation exactly as its own route shows it, with its count and last message', async () => {
    const res = await app.request('/api/products/chatbot/conversations?limit=50', { token: owner.token })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const list = (await res.json()) as { conversations: Listed[]; nextCursor: string | null }
    expect(list.nextCursor).toBeNull()
    expect(list.conversations.map((c) => c.id).sort()).toEqual([...ids].sort())
    for (const entry of list.conversations) {
      const one = (await (await app.request(`/api/conversations/${entry.id}`, { token: owner.token })).json()) as {
        conversation: Record<string, unknown>
        messages: { text: string; role: string; createdAt: string }[]
      }
      const { messageCount, lastMessage, ...conversation } = entry
      expect(conversation).toStrictEqual(one.conversation)
      expect(messageCount).toBe(one.messages.length)
      const last = one.messages.at(-1)
      expect(lastMessage).toStrictEqual(last ? { text: last.text, role: last.role, createdAt: last.createdAt } : null)
    }
    const byId = new Map(list.conversations.map((c) => [c.id, c]))
    expect(byId.get(ids[1] as string)).toMatchObject({
      user: { id: 'u-42', email: 'ada@example.com', name: null },
      attributes: { plan: 'pro', seats: 3, trial: false },
    })
    expect(byId.get(ids[3] as string)).toMatchObject({ takenOver: { at: '2026-11-30T12:00:00.999Z', by: owner.email }, waitingReason: 'visitor_request' })
    expect(byId.get(ids[4] as string)).toMatchObject({ messageCount: 0, lastMessage: null })
  })

  it('walks every conversation once, most recently active first, two at a time', async () => {
    const seen: Listed[] = []
    let cursor: string | null = null
    do {
      const path: string = `/api/products/chatbot/conversations?limit=2${cursor ? `&cursor=${cursor}` : ''}`
      const page = (await (await app.request(path, { token: owner.token })).json()) as { conversations: Listed[]; nextCursor: string | null }
      expect(page.conversations.length).toBeLessThanOrEqual(2)
      seen.push(...page.conversations)
      cursor = page.nextCursor
    } while (cursor)
    expect(seen.map((c) => c.id).sort()).toEqual([...ids].sort())
    const times = seen.map((c) => Date.parse(c.updatedAt as string))
    expect(times).toEqual([...times].sort((a, b) => b - a))
    // A filter by status goes through the same statement.
    const closed = (await (await app.request('/api/products/chatbot/conversations?status=closed', { token: owner.token })).json()) as {
      conversations: Listed[]
    }
    expect(closed.conversations.map((c) => c.id)).toEqual([ids[2]])
  })
})
