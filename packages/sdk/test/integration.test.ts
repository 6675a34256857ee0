// The SDK against the real server app, in process: every request goes through app.request (no sockets).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, N8N_SECRET, type TestApp } from '../../server/test/harness.js'
import { AuthenticationError, ConflictError, Intelagent, NotFoundError, PermissionError, webhooks } from '../src/index.js'

let app: TestApp
const inProcess = (url: string, init: RequestInit) => Promise.resolve(app.app.request(url, init))

beforeAll(async () => {
  app = await createTestApp()
})
afterAll(async () => {
  await app?.shutdown()
})

describe('SDK against the real server', () => {
  it('issues a license (signed n8n call), registers, logs in, configures the chatbot and lists keys', async () => {
    const email = `sdk-${Date.now()}@example.com`
    // The license arrives the way an n8n flow sends it, signed with the SDK's webhooks.sign.
    const raw = JSON.stringify({ orderId: `sdk-order-${Date.now()}`, email, products: ['chatbot', 'sales-agent'], tier: 'professional' })
    const issued = await inProcess('http://intelagent.test/api/webhooks/n8n/licenses', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Intelagent-Signature': await webhooks.sign(N8N_SECRET, raw) },
      body: raw,
    })
    expect(issued.status).toBe(201)
    const { license } = (await issued.json()) as { license: { key: string } }

    const headers = { 'x-forwarded-for': '198.51.100.77' }
    const sdk = new Intelagent({ baseUrl: 'http://intelagent.test', fetch: inProcess, headers })
    const reg = await sdk.auth.register({ email, password: 'correct horse battery', licenseKey: license.key })
    expect(reg.user).toMatchObject({ email, role: 'customer', licenseKey: license.key, products: ['chatbot', 'sales-agent'] })
    await expect(sdk.auth.register({ email, password: 'correct horse battery', licenseKey: license.key })).rejects.toBeInstanceOf(ConflictError)

    const fresh = new Intelagent({ baseUrl: 'http://intelagent.test', fetch: inProcess, headers })
    await expect(fresh.auth.me()).rejects.toBeInstanceOf(AuthenticationError)
    const login = await fresh.auth.login({ email, password: 'correct horse battery' })
    expect(fresh.token).toBe(login.token)
    expect((await fresh.auth.me()).user.email).toBe(email)

    const configured = await fresh.products.configure('chatbot', {
      allowedOrigins: ['https://shop.example.com'],
      settings: { greeting: 'Hello from the SDK test' },
    })
    expect(configured.key).toMatch(/^chat_/)
    expect(configured.embedCode).toContain(`data-product-key="${configured.key}"`)
    expect(configured.settings.greeting).toBe('Hello from the SDK test')
    await expect(fresh.products.configure('data-enrichment')).rejects.toBeInstanceOf(PermissionError)

    const keys = await fresh.keys.list()
    expect(keys.data.map((k) => k.id)).toContain(configured.id)
    expect(keys.data.find((k) => k.id === configured.id)).toMatchObject({ product: 'chatbot', allowedOrigins: ['https://shop.example.com'], status: 'active' })

    // A visitor chats through the widget API; the owner sees the conversation, reads it and replies.
    const visitor = new Intelagent({
      baseUrl: 'http://intelagent.test',
      fetch: inProcess,
      productKey: configured.key,
      headers: { origin: 'https://shop.example.com' },
    })
    expect((await visitor.widget.config()).greeting).toBe('Hello from the SDK test')
    const started = await visitor.widget.startConversation({ pageUrl: 'https://shop.example.com/pricing' })
    const sent = await visitor.widget.sendMessage(started.conversation.id, 'Do you ship abroad?', { visitorToken: started.visitorToken })
    expect(sent.message).toMatchObject({ role: 'visitor', text: 'Do you ship abroad?' })

    const convs: string[] = []
    for await (const c of fresh.conversations.list('chatbot', { limit: 1 })) convs.push(c.id)
    expect(convs).toEqual([started.conversation.id])
    const reply = await fresh.conversations.reply(started.conversation.id, 'Yes, worldwide.')
    expect(reply.role).toBe('agent')
    const detail = await fresh.conversations.get(started.conversation.id)
    expect(detail.messages.map((m) => m.text)).toContain('Yes, worldwide.')
    const seen = await visitor.widget.messages(started.conversation.id, { visitorToken: started.visitorToken, after: sent.message.seq })
    expect(seen.map((m) => m.text)).toContain('Yes, worldwide.')
    await expect(fresh.conversations.get('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundError)

    // A scoped API key, made with the session and used by a second client: allowed, refused, then revoked.
    const created = await fresh.apiKeys.create({ name: 'SDK test key', scopes: ['keys:read'], expiresInDays: 7 })
    expect(created.key).toMatch(/^intl_sk_/)
    expect(created).toMatchObject({ name: 'SDK test key', scopes: ['keys:read'], status: 'active', useCount: 0, lastUsedAt: null })
    expect(Date.parse(created.expiresAt) - Date.parse(created.createdAt)).toBeCloseTo(7 * 86_400_000, -4)
    const listed = await fresh.apiKeys.list()
    expect(listed.data.find((k) => k.id === created.id)).toMatchObject({ start: created.start, scopes: ['keys:read'] })
    expect(JSON.stringify(listed.data)).not.toContain(created.key)

    const machine = new Intelagent({ baseUrl: 'http://intelagent.test', fetch: inProcess, apiKey: created.key, headers })
    expect((await machine.keys.list()).data.map((k) => k.id)).toContain(configured.id)
    const refused = await machine.settings.update('chatbot', { botName: 'Not allowed' }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(PermissionError)
    expect(refused).toMatchObject({ status: 403, code: 'insufficient_scope' })
    // Managing API keys needs a person's session, whatever the key's scopes.
    await expect(machine.apiKeys.list()).rejects.toMatchObject({ name: 'PermissionError', code: 'forbidden' })
    expect((await fresh.settings.get('chatbot')).botName).not.toBe('Not allowed')

    const revoked = await fresh.apiKeys.revoke(created.id)
    expect(revoked).toMatchObject({ id: created.id, status: 'revoked' })
    expect(revoked).not.toHaveProperty('key')
    const after = await machine.keys.list().catch((e: unknown) => e)
    expect(after).toBeInstanceOf(AuthenticationError)
    // A use is a call the key was allowed to make: keys.list above; the refused and revoked calls do not count.
    const used = (await fresh.apiKeys.list()).data.find((k) => k.id === created.id)
    expect(used).toMatchObject({ status: 'revoked', useCount: 1, lastUsedAt: expect.any(String) })

    const audit = await fresh.audit.list({ limit: 20 })
    expect(audit.data.map((e) => e.action)).toEqual(expect.arrayContaining(['account.registered', 'auth.login', 'key.created', 'key.revoked']))

    await fresh.auth.logout()
    expect(fresh.token).toBeUndefined()
    await expect(new Intelagent({ baseUrl: 'http://intelagent.test', fetch: inProcess, token: login.token }).auth.me()).rejects.toMatchObject({
      name: 'AuthenticationError',
      code: 'session_revoked',
    })
  })

  it('does not repeat a registration the server refused for good, and recovers one whose answer was lost', async () => {
    const issue = async () => {
      const raw = JSON.stringify({ orderId: `sdk-order-${Math.random()}`, email: `sdk-${Math.random()}@example.com`, products: ['chatbot'] })
      const res = await inProcess('http://intelagent.test/api/webhooks/n8n/licenses', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-Intelagent-Signature': await webhooks.sign(N8N_SECRET, raw) },
        body: raw,
      })
      return ((await res.json()) as { license: { key: string; email: string } }).license
    }
    const headers = { 'x-forwarded-for': '198.51.100.78' }
    const params = (license: { key: string; email: string }) => ({ email: license.email, password: 'correct horse battery', licenseKey: license.key })

    // license_already_claimed carries x-should-retry: false, so the SDK asks once instead of three times.
    const claimed = await issue()
    let calls = 0
    const counting = (url: string, init: RequestInit) => {
      calls++
      return inProcess(url, init)
    }
    await new Intelagent({ baseUrl: 'http://intelagent.test', fetch: inProcess, headers }).auth.register(params(claimed))
    const refused = await new Intelagent({ baseUrl: 'http://intelagent.test', fetch: counting, headers }).auth.register(params(claimed)).catch((e) => e)
    expect(refused).toMatchObject({ name: 'ConflictError', code: 'license_already_claimed' })
    expect(calls).toBe(1)

    // The server registers the account but the answer never arrives; the retry carries the same Idempotency-Key.
    const license = await issue()
    const keys: (string | null)[] = []
    let dropped = false
    const lossy = async (url: string, init: RequestInit) => {
      keys.push(new Headers(init.headers).get('idempotency-key'))
      const res = await inProcess(url, init)
      if (dropped) return res
      dropped = true
      throw new TypeError('socket hang up')
    }
    const sdk = new Intelagent({ baseUrl: 'http://intelagent.test', fetch: lossy, headers })
    const reg = await sdk.auth.register(params(license))
    expect(reg.user).toMatchObject({ email: license.email, licenseKey: license.key })
    expect(keys).toHaveLength(2)
    expect(keys[0]).toBeTruthy()
    expect(keys[1]).toBe(keys[0])
    expect((await sdk.auth.me()).user.email).toBe(license.email)
  })
})
