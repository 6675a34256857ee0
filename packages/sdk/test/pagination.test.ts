import { describe, expect, it } from 'vitest'
import { type ConversationSummary, Intelagent } from '../src/index.js'
import { json, scriptedFetch } from './helpers.js'

const conv = (id: string): ConversationSummary => ({
  id,
  product: 'chatbot',
  status: 'open',
  visitorId: 'v',
  pageUrl: null,
  attributes: {},
  user: null,
  waitingReason: null,
  closedAt: null,
  closedBy: null,
  takenOver: null,
  lastMessage: null,
  messageCount: 0,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
})

function threePages() {
  return scriptedFetch([
    json(200, { conversations: [conv('a'), conv('b')], nextCursor: 'c1' }),
    json(200, { conversations: [conv('c'), conv('d')], nextCursor: 'c2' }),
    json(200, { conversations: [conv('e')], nextCursor: null }),
  ])
}

describe('pagination', () => {
  it('iterates every item across pages with for await, following nextCursor', async () => {
    const { fetch, calls } = threePages()
    const sdk = new Intelagent({ baseUrl: 'https://api.test', token: 't', fetch })
    const ids: string[] = []
    for await (const c of sdk.conversations.list('chatbot', { limit: 2 })) ids.push(c.id)
    expect(ids).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(calls.map((c) => new URL(c.url).search)).toEqual(['?limit=2', '?limit=2&cursor=c1', '?limit=2&cursor=c2'])
    expect(new URL(calls[0]?.url ?? '').pathname).toBe('/api/products/chatbot/conversations')
  })

  it('awaits to the first page only, and walks on with getNextPage', async () => {
    const { fetch, calls } = threePages()
    const sdk = new Intelagent({ baseUrl: 'https://api.test', token: 't', fetch })
    const first = await sdk.conversations.list('chatbot', { limit: 2 })
    expect(first.data.map((c) => c.id)).toEqual(['a', 'b'])
    expect(calls).toHaveLength(1)
    expect(first.hasNextPage()).toBe(true)
    const second = await first.getNextPage()
    expect(second.data.map((c) => c.id)).toEqual(['c', 'd'])
    const third = await second.getNextPage()
    expect(third.hasNextPage()).toBe(false)
    await expect(third.getNextPage()).rejects.toThrow(/No next page/)
  })

  it('sends nothing until awaited or iterated, and only once for both', async () => {
    const { fetch, calls } = scriptedFetch([json(200, { leads: [], nextCursor: null })])
    const sdk = new Intelagent({ baseUrl: 'https://api.test', token: 't', fetch })
    const pending = sdk.leads.list({ limit: 5 })
    expect(calls).toHaveLength(0)
    const page = await pending
    for await (const _ of pending) throw new Error('no items expected')
    expect(page.data).toEqual([])
    expect(calls).toHaveLength(1)
    expect(calls[0]?.url).toBe('https://api.test/api/products/sales-agent/leads?limit=5')
  })

  it('rejects the awaited page with the API error', async () => {
    const { fetch } = scriptedFetch([json(404, { error: { code: 'not_found', message: 'nope', requestId: 'r' } })])
    const sdk = new Intelagent({ baseUrl: 'https://api.test', token: 't', fetch })
    await expect(sdk.audit.list()).rejects.toMatchObject({ name: 'NotFoundError' })
  })
})
