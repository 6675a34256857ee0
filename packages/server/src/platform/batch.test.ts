// Lookups of one event-loop turn share one load; across licenses a shared statement still answers each caller only
// with its own license's rows (the conversation lookup of the message route, on the store under test).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configure, newCustomer } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { findConversation } from '../conversations/service.js'
import { perTurn } from './batch.js'

const nextTurn = () => new Promise((r) => setImmediate(r))

describe('perTurn', () => {
  it('answers the lookups of one turn with one load of their distinct keys, and later turns with their own', async () => {
    const loads: string[][] = []
    const get = perTurn(async (keys: string[]) => {
      loads.push(keys)
      return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, k.toUpperCase()]))
    })
    const first = await Promise.all([get('a'), get('b'), get('a'), get('missing')])
    expect(first).toEqual(['A', 'B', 'A', undefined])
    await nextTurn()
    expect(await get('c')).toBe('C')
    expect(loads).toEqual([['a', 'b', 'missing'], ['c']])
  })

  it('fails every lookup of a turn whose load fails, and the next turn loads again', async () => {
    let fail = true
    const get = perTurn(async (keys: string[]) => {
      if (fail) throw new Error('store away')
      return new Map(keys.map((k) => [k, k.length]))
    })
    const failed = await Promise.allSettled([get('x'), get('yy')])
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    fail = false
    expect(await Promise.all([get('x'), get('yy')])).toEqual([1, 2])
  })
})

describe('conversation lookups sharing a statement', () => {
  let app: TestApp

  beforeAll(async () => {
    app = await createTestApp()
  })
  afterAll(async () => app.shutdown())

  const start = async (key: string) => {
    const res = await app.request('/api/widget/conversations', {
      method: 'POST',
      headers: { 'x-product-key': key, origin: 'https://shop.example.com' },
      json: {},
    })
    expect(res.status).toBe(201)
    return ((await res.json()) as { conversation: { id: string } }).conversation.id
  }

  it('answers each license only with its own conversation, even in the same turn as the owner’s lookup', async () => {
    const [a, b] = [await newCustomer(app, { products: ['chatbot'] }), await newCustomer(app, { products: ['chatbot'] })]
    const keyA = (await configure(app, a, 'chatbot', { allowedOrigins: ['https://shop.example.com'] })).key
    const keyB = (await configure(app, b, 'chatbot', { allowedOrigins: ['https://shop.example.com'] })).key
    const [convA, convB] = [await start(keyA), await start(keyB)]
    // One turn: A's own, B's own, A asking for B's, B asking for A's, and an id that is no uuid at all.
    const [ownA, ownB, crossA, crossB, junk] = await Promise.all([
      findConversation(app.deps, a.licenseId, convA),
      findConversation(app.deps, b.licenseId, convB),
      findConversation(app.deps, a.licenseId, convB),
      findConversation(app.deps, b.licenseId, convA),
      findConversation(app.deps, a.licenseId, 'not-a-uuid'),
    ])
    expect(ownA?.id).toBe(convA)
    expect(ownB?.id).toBe(convB)
    expect(crossA).toBeUndefined()
    expect(crossB).toBeUndefined()
    expect(junk).toBeUndefined()
    // The same id in capitals is the same conversation (ids compare as uuids).
    expect((await findConversation(app.deps, a.licenseId, convA.toUpperCase()))?.id).toBe(convA)
  })
})
