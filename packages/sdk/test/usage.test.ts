// usage.get and conversations.flag through the SDK, against the real server app in process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configure, newCustomer } from '../../server/test/fixtures.js'
import { createTestApp, type TestApp } from '../../server/test/harness.js'
import { Intelagent, PermissionError, RateLimitError } from '../src/index.js'

let app: TestApp
const inProcess = (url: string, init: RequestInit) => Promise.resolve(app.app.request(url, init))
const client = (options: { apiKey?: string; token?: string }) =>
  new Intelagent({ baseUrl: 'http://intelagent.test', fetch: inProcess, maxRetries: 2, ...options })
const ORIGIN = 'https://shop.example.com'

beforeAll(async () => {
  app = await createTestApp({ env: { PLANS: JSON.stringify({ starter: { quotas: { apiCalls: 3 } } }) } })
})
afterAll(async () => {
  await app?.shutdown()
})

describe('SDK usage', () => {
  it('reads every quota; an API key needs usage:read; at the quota a RateLimitError that is not retried', async () => {
    const owner = await newCustomer(app, { tier: 'starter' })
    const usage = await client({ token: owner.token }).usage.get()
    expect(usage.plan).toBe('starter')
    expect(usage.quotas.map((q) => q.quota)).toContain('apiCalls')
    expect(usage.daily.length).toBeGreaterThan(0)

    const created = await client({ token: owner.token }).apiKeys.create({ name: 'usage', scopes: ['usage:read'] })
    const noScope = await client({ token: owner.token }).apiKeys.create({ name: 'none', scopes: ['keys:read'] })
    await expect(client({ apiKey: noScope.key }).usage.get()).rejects.toBeInstanceOf(PermissionError)
    const sdk = client({ apiKey: created.key })
    // The call refused for its scope spent nothing: all three remain.
    for (let i = 0; i < 3; i++) expect((await sdk.usage.get()).quotas.find((q) => q.quota === 'apiCalls')?.limit).toBe(3)
    const err = await sdk.usage.get().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RateLimitError)
    expect(err).toMatchObject({ status: 429, code: 'quota_exceeded' })
  })

  it('flags a conversation and says what was given back', async () => {
    const owner = await newCustomer(app, { tier: 'professional' })
    const { key } = await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })
    const started = await app.request('/api/widget/conversations', { method: 'POST', headers: { 'x-product-key': key, origin: ORIGIN } })
    const { conversation } = (await started.json()) as { conversation: { id: string } }
    const sdk = client({ token: owner.token })
    const flagged = await sdk.conversations.flag(conversation.id)
    expect(flagged).toMatchObject({ conversation: { id: conversation.id }, returned: { conversations: 1, messages: 0, aiReplies: 0 } })
    expect((await sdk.conversations.flag(conversation.id)).returned).toEqual({ conversations: 0, messages: 0, aiReplies: 0 })
  })
})
