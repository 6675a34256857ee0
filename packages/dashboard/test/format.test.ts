import type { ConversationSummary, Message } from '@intelagent/sdk'
import { describe, expect, it } from 'vitest'
import { analyticsExportUrl, applyLiveMessage, embedCode, formatDuration, formatWhen, mergeMessages, parseOrigins, truncate } from '../src/format.js'

const msg = (id: string, seq: number, text = id): Message => ({
  id,
  conversationId: 'c1',
  seq,
  role: 'visitor',
  text,
  clientMessageId: null,
  sources: [],
  createdAt: '2026-05-01T10:00:00.000Z',
})
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
  messageCount: 1,
  createdAt: '2026-05-01T09:00:00.000Z',
  updatedAt: '2026-05-01T09:00:00.000Z',
})

describe('formatWhen', () => {
  const now = Date.parse('2026-05-01T12:00:00.000Z')
  it('says how long ago within a day', () => {
    expect(formatWhen('2026-05-01T11:59:50.000Z', now)).toBe('just now')
    expect(formatWhen('2026-05-01T11:55:00.000Z', now)).toBe('5 min ago')
    expect(formatWhen('2026-05-01T09:00:00.000Z', now)).toBe('3 h ago')
  })
  it('gives the local date and time for older moments, and nothing for garbage', () => {
    const d = new Date('2026-04-02T08:05:00.000Z')
    const p = (n: number) => String(n).padStart(2, '0')
    expect(formatWhen(d.toISOString(), now)).toBe(`${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`)
    expect(formatWhen('not a date', now)).toBe('')
  })
})

describe('parseOrigins', () => {
  it('accepts one per line or comma separated, drops paths and duplicates, reports the rest', () => {
    expect(
      parseOrigins('https://shop.example.com/\nhttps://*.example.com, http://localhost:5173/pricing\nhttps://shop.example.com\nftp://nope\nexample.com'),
    ).toEqual({
      origins: ['https://shop.example.com', 'https://*.example.com', 'http://localhost:5173'],
      invalid: ['ftp://nope', 'example.com'],
    })
    expect(parseOrigins('  \n ')).toEqual({ origins: [], invalid: [] })
  })
})

describe('live merging', () => {
  it('adds only unseen messages and keeps seq order', () => {
    const shown = [msg('a', 1), msg('b', 2)]
    expect(mergeMessages(shown, [msg('b', 2)])).toBe(shown)
    expect(mergeMessages(shown, [msg('d', 4), msg('c', 3)]).map((m) => m.id)).toEqual(['a', 'b', 'c', 'd'])
  })
  it('moves the conversation with a new message to the top and counts it', () => {
    const list = [conv('x'), conv('y'), conv('z')]
    const next = applyLiveMessage(list, 'y', msg('m', 2, 'Hello there'))
    expect(next.map((c) => c.id)).toEqual(['y', 'x', 'z'])
    expect(next[0]).toMatchObject({ messageCount: 2, lastMessage: { text: 'Hello there', role: 'visitor' } })
    expect(applyLiveMessage(list, 'unknown', msg('m', 2))).toBe(list)
  })
  it('does not count a message a reload already counted (the reload raced the live event)', () => {
    const list = [conv('x'), conv('y')]
    const once = applyLiveMessage(list, 'y', msg('m', 2, 'Hello there'))
    const twice = applyLiveMessage(once, 'y', msg('m', 2, 'Hello there'))
    expect(twice.find((c) => c.id === 'y')?.messageCount).toBe(2)
    expect(applyLiveMessage(once, 'y', msg('old', 1, 'older')).find((c) => c.id === 'y')?.lastMessage?.text).toBe('Hello there')
  })
})

describe('small formatters', () => {
  it('truncates with an ellipsis and builds the embed code', () => {
    expect(truncate('short', 10)).toBe('short')
    expect(truncate('a rather long sentence', 10)).toBe('a rather…')
    expect(embedCode('https://h.test', 'chat_1')).toBe('<script src="https://h.test/widget.js" data-product-key="chat_1" async></script>')
  })
})

describe('analytics helpers', () => {
  it('says a first-response time the way a person would', () => {
    expect([null, 850, 12_400, 180_000, 185_000, 3_600_000, 3_720_000].map(formatDuration)).toEqual([
      'none',
      '850 ms',
      '12 s',
      '3 min',
      '3 min 5 s',
      '1 h',
      '1 h 2 min',
    ])
  })

  it('links the CSV export with the same product and range, leaving out what is not chosen', () => {
    expect(analyticsExportUrl({ product: 'chatbot', from: '2026-11-01', to: '2026-11-30' })).toBe(
      '/api/analytics/export?product=chatbot&from=2026-11-01&to=2026-11-30',
    )
    expect(analyticsExportUrl({ from: '2026-11-01', to: '2026-11-30' })).toBe('/api/analytics/export?from=2026-11-01&to=2026-11-30')
  })
})
