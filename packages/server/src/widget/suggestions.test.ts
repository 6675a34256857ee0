// Suggested questions end to end on the server: the owner saves them (validated: at most 5, each 1–120 characters,
// no repeats), the widget's config serves them to the right product only, and only callers allowed to change
// settings can change them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'

const ORIGIN = 'https://shop.example.com'

interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: { path: string; message: string }[] }
}

describe('suggested questions', () => {
  let app: TestApp
  let owner: Customer
  let other: Customer
  let chatKey: string
  let salesKey: string
  let otherKey: string

  const config = async (productKey: string) => {
    const res = await app.request('/api/widget/config', { headers: { 'x-product-key': productKey, origin: ORIGIN } })
    expect(res.status).toBe(200)
    return (await res.json()) as { product: string; suggestions: string[] }
  }
  const patch = (who: { token: string }, suggestions: unknown, product = 'chatbot') =>
    app.request(`/api/products/${product}/settings`, { method: 'PATCH', token: who.token, json: { suggestions } })
  const refused = async (res: Response) => {
    expect(res.status).toBe(422)
    const body = (await res.json()) as ErrorBody
    expect(body.error.code).toBe('validation_failed')
    expect(body.error.requestId).toBeTruthy()
    return body.error
  }

  beforeAll(async () => {
    app = await createTestApp()
    owner = await newCustomer(app)
    chatKey = (await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
    salesKey = (await configure(app, owner, 'sales-agent', { allowedOrigins: [ORIGIN] })).key
    other = await newCustomer(app)
    otherKey = (await configure(app, other, 'chatbot', { allowedOrigins: [ORIGIN] })).key
  })
  afterAll(async () => app.shutdown())

  it('are empty until the owner sets them, then reach the widget config of that product, trimmed and in order', async () => {
    expect((await config(chatKey)).suggestions).toEqual([])
    const res = await patch(owner, ['  What are your opening hours? ', 'Do you ship abroad?', 'x'.repeat(120)])
    expect(res.status).toBe(200)
    const saved = (await res.json()) as { settings: { suggestions: string[] } }
    expect(saved.settings.suggestions).toEqual(['What are your opening hours?', 'Do you ship abroad?', 'x'.repeat(120)])
    const read = (await (await app.request('/api/products/chatbot/settings', { token: owner.token })).json()) as { settings: { suggestions: string[] } }
    expect(read.settings.suggestions).toEqual(saved.settings.suggestions)
    expect((await config(chatKey)).suggestions).toEqual(saved.settings.suggestions)

    // Per product: the sales agent has its own (none yet), and can have some too.
    expect(await config(salesKey)).toMatchObject({ product: 'sales-agent', suggestions: [] })
    expect((await patch(owner, ['Which plan fits a team of 30?'], 'sales-agent')).status).toBe(200)
    expect((await config(salesKey)).suggestions).toEqual(['Which plan fits a team of 30?'])

    // An empty list removes them.
    expect((await patch(owner, [], 'sales-agent')).status).toBe(200)
    expect((await config(salesKey)).suggestions).toEqual([])
  })

  it('refuses more than five, an over-long, empty or repeated question, or a non-list, with a clear 422 and no change', async () => {
    const before = ['What are your opening hours?']
    expect((await patch(owner, before)).status).toBe(200)

    const six = await refused(await patch(owner, ['a?', 'b?', 'c?', 'd?', 'e?', 'f?']))
    expect(six.message).toBe('suggestions: at most 5 suggested questions')

    const long = await refused(await patch(owner, ['Fine?', 'y'.repeat(121)]))
    expect(long.message).toBe('suggestions.1: a suggested question has at most 120 characters')
    expect(long.details).toEqual([{ path: 'suggestions.1', message: 'a suggested question has at most 120 characters' }])

    const blank = await refused(await patch(owner, ['   ']))
    expect(blank.message).toBe('suggestions.0: a suggested question cannot be empty')

    const twice = await refused(await patch(owner, ['Do you ship abroad?', 'do you ship abroad? ']))
    expect(twice.message).toBe('suggestions: the same suggested question is there twice')

    expect((await refused(await patch(owner, 'What are your opening hours?'))).message).toMatch(/^suggestions: /)
    expect((await refused(await patch(owner, [42]))).message).toMatch(/^suggestions\.0: /)

    expect((await config(chatKey)).suggestions).toEqual(before)
  })

  it('a saved value a stricter rule no longer accepts, or a field no longer known, never fails an unrelated save', async () => {
    const owner2 = await newCustomer(app)
    await configure(app, owner2, 'chatbot', { allowedOrigins: [ORIGIN] })
    // As an earlier release could have saved them: a 150-character question and a field since removed.
    const old = JSON.stringify({ greeting: 'Hello', suggestions: ['z'.repeat(150)], retiredOption: true })
    await app.deps.db
      .insertInto('product_settings')
      .values({ license_id: owner2.licenseId, product: 'chatbot', settings: old })
      .onConflict((oc) => oc.columns(['license_id', 'product']).doUpdateSet({ settings: old }))
      .execute()
    const res = await app.request('/api/products/chatbot/settings', { method: 'PATCH', token: owner2.token, json: { botName: 'Pine' } })
    expect(res.status).toBe(200)
    const { settings } = (await res.json()) as { settings: Record<string, unknown> }
    expect(settings).toMatchObject({ botName: 'Pine', greeting: 'Hello', suggestions: [] })
    expect(settings).not.toHaveProperty('retiredOption')
    // The patch's own bad value is still the caller's 422.
    expect((await refused(await patch(owner2, ['q'.repeat(121)]))).message).toBe('suggestions.0: a suggested question has at most 120 characters')
  })

  it('applies the same limits to the setup agent’s apply step', async () => {
    const res = await app.request('/api/setup/ks_000000000000000000000000/apply', {
      method: 'POST',
      token: owner.token,
      json: { suggestedQuestions: ['z'.repeat(121)] },
    })
    expect((await refused(res)).message).toBe('suggestedQuestions.0: a suggested question has at most 120 characters')
  })

  it('are another license’s business: its widget never sees them, and it cannot change them', async () => {
    expect((await patch(owner, ['Only for the owner’s visitors?'])).status).toBe(200)
    expect((await config(otherKey)).suggestions).toEqual([])
    // The other license's token changes its own settings, never the owner's.
    expect((await patch(other, ['Mine?'])).status).toBe(200)
    expect((await config(chatKey)).suggestions).toEqual(['Only for the owner’s visitors?'])
    expect((await config(otherKey)).suggestions).toEqual(['Mine?'])
  })

  it('need a caller allowed to write settings: no credentials is 401, a read-only key is 403', async () => {
    const anonymous = await app.request('/api/products/chatbot/settings', { method: 'PATCH', json: { suggestions: ['Sneaky?'] } })
    expect(anonymous.status).toBe(401)
    const created = await app.request('/api/api-keys', { method: 'POST', token: owner.token, json: { name: 'read only', scopes: ['settings:read'] } })
    expect(created.status).toBe(201)
    const readOnly = { token: ((await created.json()) as { key: string }).key }
    const res = await patch(readOnly, ['Sneaky?'])
    expect(res.status).toBe(403)
    expect(((await res.json()) as ErrorBody).error.code).toBe('insufficient_scope')
    // A product key (the widget's) is no credential for settings at all.
    const withWidgetKey = await app.request('/api/products/chatbot/settings', {
      method: 'PATCH',
      headers: { 'x-product-key': chatKey, origin: ORIGIN },
      json: { suggestions: ['Sneaky?'] },
    })
    expect(withWidgetKey.status).toBe(401)
    expect((await config(chatKey)).suggestions).toEqual(['Only for the owner’s visitors?'])
  })
})
