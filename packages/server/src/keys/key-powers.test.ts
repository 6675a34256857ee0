// What each kind of secret key may do, that no key issues a key stronger than itself, and that the audit trail
// names the key behind every act.
import { sql } from 'kysely'
import { Migrator } from 'kysely/migration'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer } from '../../test/fixtures.js'
import { createStore, createTestApp, type TestApp } from '../../test/harness.js'
import { createDb } from '../platform/db.js'
import { migrateToLatest } from '../platform/migrate.js'
import * as foundation from '../platform/migrations/2026-11-24T00-00_foundation.js'
import * as conversations from '../platform/migrations/2026-11-24T01-00_conversations.js'
import * as apiKeys from '../platform/migrations/2026-11-24T02-00_api_keys.js'

interface ErrorBody {
  error: { code: string; message: string }
}
interface AuditEntry {
  actor: string | null
  actorKind: string | null
  actorKeyId: string | null
  action: string
  target: string | null
}

const ORIGIN = 'https://shop.example.com'

describe('key powers', () => {
  let app: TestApp
  let owner: Customer

  const call = (token: string, method: string, path: string, json?: unknown) => app.request(path, { method, token, ...(json === undefined ? {} : { json }) })
  const refused = async (res: Response, code = 'insufficient_scope') => {
    const text = await res.text()
    expect(res.status, text).toBe(403)
    expect((JSON.parse(text) as ErrorBody).error.code).toBe(code)
    return (JSON.parse(text) as ErrorBody).error.message
  }
  const apiKey = async (scopes: string[]) => {
    const res = await call(owner.token, 'POST', '/api/api-keys', { name: scopes.join(' '), scopes })
    expect(res.status).toBe(201)
    return (await res.json()) as { id: string; key: string }
  }
  const keyCount = async (product: string) =>
    (await app.deps.db.selectFrom('product_keys').select('id').where('license_id', '=', owner.licenseId).where('product', '=', product).execute()).length

  beforeAll(async () => {
    app = await createTestApp()
    owner = await newCustomer(app)
  })
  afterAll(async () => app.shutdown())

  it('lets a data_ key do nothing but enrichment: every customer route answers 403 insufficient_scope', async () => {
    const data = await configure(app, owner, 'data-enrichment')
    const chat = await configure(app, owner, 'chatbot')
    const routes: [string, string, unknown?][] = [
      ['GET', '/api/products/keys'],
      ['POST', '/api/products/chatbot/configure', {}],
      ['POST', '/api/products/data-enrichment/configure', {}],
      ['POST', `/api/products/keys/${chat.id}/rotate`, {}],
      ['POST', `/api/products/keys/${chat.id}/revoke`],
      ['PUT', `/api/products/keys/${chat.id}/origins`, { allowedOrigins: [ORIGIN] }],
      ['GET', '/api/products/chatbot/settings'],
      ['PATCH', '/api/products/chatbot/settings', { botName: 'Data' }],
      ['GET', '/api/products/chatbot/knowledge'],
      ['PUT', '/api/products/chatbot/secrets/openai_api_key', { value: 'sk-data-was-here' }],
      ['GET', '/api/products/chatbot/conversations'],
      ['GET', '/api/products/sales-agent/leads'],
      ['GET', '/api/audit'],
      ['GET', '/api/events'],
    ]
    for (const [method, path, body] of routes) await refused(await call(data.key, method, path, body))
    // Routes for people stay closed to every key.
    await refused(await call(data.key, 'GET', '/api/api-keys'), 'forbidden')
    await refused(await call(data.key, 'POST', '/api/api-keys', { name: 'x', scopes: ['keys:read'] }), 'forbidden')
    expect((await call(data.key, 'GET', '/api/auth/me')).status).toBe(200)
  })

  it('lets an agnt_ key set products up: configure, embed code, origins, settings, knowledge, integration secrets', async () => {
    const agnt = await configure(app, owner, 'setup-agent')
    const configured = await call(agnt.key, 'POST', '/api/products/sales-agent/configure', {
      allowedOrigins: [ORIGIN],
      settings: { botName: 'Set up by agent' },
    })
    expect([200, 201]).toContain(configured.status)
    const sales = (await configured.json()) as { id: string; key: string; embedCode: string; settings: { botName: string } }
    expect(sales.embedCode).toContain(sales.key)
    expect(sales.settings.botName).toBe('Set up by agent')
    const listed = (await (await call(agnt.key, 'GET', '/api/products/keys')).json()) as { keys: { id: string; key: string | null }[] }
    expect(listed.keys.find((k) => k.id === sales.id)?.key).toBe(sales.key)
    expect((await call(agnt.key, 'PUT', `/api/products/keys/${sales.id}/origins`, { allowedOrigins: [ORIGIN, 'https://*.example.org'] })).status).toBe(200)
    expect((await call(agnt.key, 'GET', '/api/products/sales-agent/settings')).status).toBe(200)
    expect((await call(agnt.key, 'PATCH', '/api/products/sales-agent/settings', { greeting: 'Hi from setup' })).status).toBe(200)
    const added = await call(agnt.key, 'POST', '/api/products/sales-agent/knowledge', { kind: 'qa', title: 'Hours', body: '9 to 5' })
    expect(added.status).toBe(201)
    const { item } = (await added.json()) as { item: { id: string } }
    expect((await call(agnt.key, 'GET', '/api/products/sales-agent/knowledge')).status).toBe(200)
    expect((await call(agnt.key, 'DELETE', `/api/products/sales-agent/knowledge/${item.id}`)).status).toBe(200)
    expect((await call(agnt.key, 'PUT', '/api/products/sales-agent/secrets/openai_api_key', { value: 'sk-setup-agent-key' })).status).toBe(200)
    expect((await call(agnt.key, 'GET', '/api/products/sales-agent/secrets')).status).toBe(200)
  })

  it('refuses an agnt_ key everything else: rotate, revoke, conversations, leads, audit, API keys, issuing secret keys', async () => {
    const agnt = await configure(app, owner, 'setup-agent')
    const chat = await configure(app, owner, 'chatbot')
    await refused(await call(agnt.key, 'POST', `/api/products/keys/${chat.id}/rotate`, { gracePeriodSeconds: 0 }))
    await refused(await call(agnt.key, 'POST', `/api/products/keys/${chat.id}/revoke`))
    await refused(await call(agnt.key, 'POST', `/api/products/keys/${agnt.id}/revoke`))
    for (const path of ['/api/products/chatbot/conversations', '/api/products/sales-agent/leads', '/api/audit', '/api/events'])
      await refused(await call(agnt.key, 'GET', path))
    await refused(await call(agnt.key, 'POST', '/api/api-keys', { name: 'x', scopes: ['keys:read'] }), 'forbidden')
    const [agents, data] = [await keyCount('setup-agent'), await keyCount('data-enrichment')]
    expect(await refused(await call(agnt.key, 'POST', '/api/products/setup-agent/configure', {}))).toMatch(/agnt_ key cannot issue secret keys/)
    await refused(await call(agnt.key, 'POST', '/api/products/data-enrichment/configure', {}))
    expect([await keyCount('setup-agent'), await keyCount('data-enrichment')]).toEqual([agents, data])
    expect((await app.keys.resolve(chat.key)).status).toBe('active')
  })

  it('lets an API key issue only keys within its own powers', async () => {
    const keysOnly = await apiKey(['keys:read', 'keys:write'])
    const [agents, data] = [await keyCount('setup-agent'), await keyCount('data-enrichment')]
    const agentMessage = await refused(await call(keysOnly.key, 'POST', '/api/products/setup-agent/configure', {}))
    expect(agentMessage).toContain('settings:read, settings:write')
    expect(await refused(await call(keysOnly.key, 'POST', '/api/products/data-enrichment/configure', {}))).toContain('enrichment:write')
    expect([await keyCount('setup-agent'), await keyCount('data-enrichment')]).toEqual([agents, data])
    // A publishable key has no secret powers: issuing one is within anyone's keys:write.
    expect([200, 201]).toContain((await call(keysOnly.key, 'POST', '/api/products/chatbot/configure', {})).status)
    // Settings changed through configure need the settings scope as well.
    await refused(await call(keysOnly.key, 'POST', '/api/products/chatbot/configure', { settings: { botName: 'Escalated' } }))
    const settings = (await (await call(owner.token, 'GET', '/api/products/chatbot/settings')).json()) as { settings: { botName: string } }
    expect(settings.settings.botName).not.toBe('Escalated')

    const setupPowers = await apiKey(['keys:read', 'keys:write', 'settings:read', 'settings:write'])
    const issued = await call(setupPowers.key, 'POST', '/api/products/setup-agent/configure', {})
    expect(issued.status).toBe(201)
    expect(((await issued.json()) as { key: string }).key).toMatch(/^agnt_/)
    const enrich = await apiKey(['keys:write', 'enrichment:write'])
    expect((await call(enrich.key, 'POST', '/api/products/data-enrichment/configure', {})).status).toBe(201)

    // Rotation issues a new key with the old one's powers: the same rule.
    const rotator = await apiKey(['keys:revoke'])
    const dataKey = await configure(app, owner, 'data-enrichment')
    await refused(await call(rotator.key, 'POST', `/api/products/keys/${dataKey.id}/rotate`, { gracePeriodSeconds: 0 }))
    expect((await app.keys.resolve(dataKey.key)).status).toBe('active')
    const chat = await configure(app, owner, 'chatbot', { newKey: true })
    expect((await call(rotator.key, 'POST', `/api/products/keys/${chat.id}/rotate`, { gracePeriodSeconds: 0 })).status).toBe(201)
    // And an API key never creates another API key, whatever its scopes.
    const everything = await apiKey(['keys:read', 'keys:write', 'keys:revoke', 'settings:read', 'settings:write', 'enrichment:write'])
    await refused(await call(everything.key, 'POST', '/api/api-keys', { name: 'child', scopes: ['keys:read'] }), 'forbidden')
  })

  it('records the acting key (kind and id) for every action taken with a key', async () => {
    const agnt = await configure(app, owner, 'setup-agent')
    const configured = await call(agnt.key, 'POST', '/api/products/chatbot/configure', { allowedOrigins: [ORIGIN], settings: { botName: 'Audited' } })
    const chat = (await configured.json()) as { id: string; key: string }
    expect((await call(agnt.key, 'PUT', `/api/products/keys/${chat.id}/origins`, { allowedOrigins: [ORIGIN] })).status).toBe(200)
    expect((await call(agnt.key, 'PATCH', '/api/products/chatbot/settings', { greeting: 'Audited hello' })).status).toBe(200)
    const added = (await (await call(agnt.key, 'POST', '/api/products/chatbot/knowledge', { kind: 'qa', title: 'Q', body: 'A' })).json()) as {
      item: { id: string }
    }
    expect((await call(agnt.key, 'DELETE', `/api/products/chatbot/knowledge/${added.item.id}`)).status).toBe(200)
    expect((await call(agnt.key, 'PUT', '/api/products/chatbot/secrets/webhook_signing_secret', { value: 'audited-signing-secret' })).status).toBe(200)
    const newChat = (await (await call(agnt.key, 'POST', '/api/products/chatbot/configure', { newKey: true })).json()) as { id: string }

    const api = await apiKey(['keys:revoke', 'conversations:write'])
    expect((await call(api.key, 'POST', `/api/products/keys/${newChat.id}/revoke`)).status).toBe(200)
    const started = await app.request('/api/widget/conversations', { method: 'POST', headers: { 'x-product-key': chat.key, origin: ORIGIN }, json: {} })
    expect(started.status).toBe(201)
    const conversationId = ((await started.json()) as { conversation: { id: string } }).conversation.id
    expect((await call(api.key, 'POST', `/api/conversations/${conversationId}/messages`, { text: 'A human (script) reply' })).status).toBe(201)

    const res = await call(owner.token, 'GET', '/api/audit?limit=500')
    const entries = ((await res.json()) as { entries: AuditEntry[] }).entries
    const by = (keyId: string) => entries.filter((e) => e.actorKeyId === keyId)
    expect(by(agnt.id).map((e) => e.action)).toEqual(
      expect.arrayContaining(['settings.updated', 'key.origins_updated', 'knowledge.added', 'knowledge.deleted', 'key.created']),
    )
    expect(
      by(agnt.id)
        .filter((e) => e.action === 'settings.updated')
        .map((e) => e.target),
    ).toEqual(expect.arrayContaining(['chatbot', 'chatbot:webhook_signing_secret']))
    for (const e of by(agnt.id)) expect(e).toMatchObject({ actorKind: 'agnt', actor: null })
    expect(by(api.id).map((e) => [e.action, e.target])).toEqual(
      expect.arrayContaining([
        ['key.revoked', newChat.id],
        ['conversation.replied', conversationId],
      ]),
    )
    for (const e of by(api.id)) expect(e.actorKind).toBe('intl_sk')
    // What a person did with the dashboard says so, with no key.
    const bySession = entries.find((e) => e.action === 'key.created' && e.target === agnt.id)
    expect(bySession).toMatchObject({ actor: owner.email, actorKind: 'session', actorKeyId: null })
  })
})

describe('API keys made before keys:revoke existed', () => {
  it('keep rotate and revoke: the migration adds keys:revoke wherever keys:write was', async () => {
    const store = await createStore()
    const db = await createDb({ databaseUrl: process.env.DATABASE_URL, dataDir: '.', schema: store.schema, memory: true })
    try {
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db)
      const earlier = { '2026-11-24T00-00_foundation': foundation, '2026-11-24T01-00_conversations': conversations, '2026-11-24T02-00_api_keys': apiKeys }
      const migrator = new Migrator({ db, provider: { getMigrations: async () => earlier }, migrationTableSchema: rows[0]?.schema })
      expect((await migrator.migrateToLatest()).error).toBeUndefined()
      const license = await db
        .insertInto('licenses')
        .values({
          key: 'INTL-OLD0-KEYS-0000',
          email: 'old@example.com',
          products: ['chatbot'],
          tier: 'starter',
          status: 'active',
          source: 'cli',
          external_order_id: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      const insert = (lookup: string, scopes: string[]) =>
        db
          .insertInto('api_keys')
          .values({ license_id: license.id, name: lookup, lookup, start: 'intl_sk_…', scopes, expires_at: new Date(Date.now() + 86_400_000), created_by: null })
          .execute()
      await insert('writer', ['keys:read', 'keys:write'])
      await insert('reader', ['keys:read', 'audit:read'])
      await migrateToLatest(db)
      const after = await db.selectFrom('api_keys').select(['lookup', 'scopes']).orderBy('lookup').execute()
      expect(after).toEqual([
        { lookup: 'reader', scopes: ['keys:read', 'audit:read'] },
        { lookup: 'writer', scopes: ['keys:read', 'keys:write', 'keys:revoke'] },
      ])
    } finally {
      await db.destroy()
      await store.drop()
    }
  })
})
