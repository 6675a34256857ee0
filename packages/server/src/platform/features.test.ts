// Plan features, enforced where they apply: each refusal is 403 plan_feature_required naming the feature and the
// plan that has it, and a tier change (the operator's, as Stripe's) applies to the very next request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, configure, newCustomer, uniqueEmail, uniqueIp } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { hashPassword } from '../account/password.js'
import { userHash } from '../widget/identity.js'
import { FEATURES, featureRefusal, firstTierWith, hasFeature } from './features.js'
import { DEFAULT_PLANS } from './plans.js'

const ORIGIN = 'https://shop.example.com'
type Envelope = { error: { code: string; message: string; details?: { feature: string; tier: string; requiredTier: string | null } } }

describe('plan features', () => {
  let app: TestApp
  let ops: string

  beforeAll(async () => {
    app = await createTestApp()
    const email = uniqueEmail('ops')
    await app.deps.db
      .insertInto('users')
      .values({ license_id: null, email, password_hash: await hashPassword('operator password', app.config.scryptLogN), role: 'admin' })
      .execute()
    const login = await app.request('/api/auth/login', {
      method: 'POST',
      headers: { 'x-forwarded-for': uniqueIp() },
      json: { email, password: 'operator password' },
    })
    ops = ((await login.json()) as { token: string }).token
  })
  afterAll(async () => app.shutdown())

  const setTier = async (customer: Customer, tier: string) => {
    const res = await app.request(`/api/admin/licenses/${customer.licenseId}`, { method: 'PATCH', token: ops, json: { tier } })
    expect(res.status).toBe(200)
  }
  const patchSettings = (customer: Customer, settings: Record<string, unknown>) =>
    app.request('/api/products/chatbot/settings', { method: 'PATCH', token: customer.token, json: settings })
  const widget = (key: string, path: string, init: RequestInit & { json?: unknown; token?: string } = {}) => {
    const headers = new Headers(init.headers)
    headers.set('x-product-key', key)
    headers.set('origin', ORIGIN)
    return app.request(path, { ...init, headers })
  }
  const widgetConfig = async (key: string) =>
    (await (await widget(key, '/api/widget/config')).json()) as { engine: string; streaming: boolean; branding: boolean }
  const refusal = async (res: Response) => {
    expect(res.status).toBe(403)
    return ((await res.json()) as Envelope).error
  }

  it('every feature has a first tier in the default plans, and the refusal names the feature and that plan', () => {
    for (const f of FEATURES) expect(firstTierWith(DEFAULT_PLANS, f)).not.toBeNull()
    expect(firstTierWith(DEFAULT_PLANS, 'aiEngines')).toBe('professional')
    expect(firstTierWith(DEFAULT_PLANS, 'removeBranding')).toBe('business')
    expect(firstTierWith(DEFAULT_PLANS, 'prioritySupport')).toBe('enterprise')
    expect(hasFeature(DEFAULT_PLANS, 'no-such-tier', 'identity')).toBe(false)
    const e = featureRefusal(DEFAULT_PLANS, 'starter', 'identity')
    expect(e.status).toBe(403)
    expect(e.code).toBe('plan_feature_required')
    expect(e.message).toBe('Identity verification needs the professional plan or higher; this license is on starter. Upgrade to use it.')
  })

  it('GET /api/plans tells anyone each tier’s features and the first tier with each', async () => {
    const res = await app.request('/api/plans')
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      plans: { tier: string; features: Record<string, boolean>; quotas: Record<string, number> }[]
      features: { id: string; name: string; firstTier: string | null }[]
    }
    expect(body.plans.map((p) => p.tier)).toEqual(['starter', 'professional', 'business', 'enterprise'])
    expect(body.plans[0]?.features).toEqual(DEFAULT_PLANS.starter.features)
    expect(body.plans[1]?.quotas.conversations).toBe(DEFAULT_PLANS.professional.quotas.conversations)
    expect(body.features).toContainEqual({ id: 'removeBranding', name: 'Removing the “Powered by Intelagent” line', firstTier: 'business' })
  })

  it('AI engines: starter cannot switch to the OpenAI-compatible or webhook engine; an upgrade lifts it at once', async () => {
    const owner = await newCustomer(app, { tier: 'starter' })
    const openai = await refusal(await patchSettings(owner, { engine: 'openai', openai: { model: 'gpt-4o-mini' } }))
    expect(openai).toMatchObject({ code: 'plan_feature_required', details: { feature: 'aiEngines', tier: 'starter', requiredTier: 'professional' } })
    expect(openai.message).toMatch(/AI reply engines.*professional plan/)
    const hook = await app.request('/api/products/chatbot/configure', {
      method: 'POST',
      token: owner.token,
      json: { settings: { engine: 'webhook', webhook: { url: 'https://hooks.example.com/reply' } } },
    })
    expect((await refusal(hook)).details?.feature).toBe('aiEngines')
    // Nothing was saved, and what the plan allows still saves.
    const saved = (await (await app.request('/api/products/chatbot/settings', { token: owner.token })).json()) as { settings: { engine: string } }
    expect(saved.settings.engine).toBe('knowledge')
    expect((await patchSettings(owner, { botName: 'Ada' })).status).toBe(200)

    await setTier(owner, 'professional')
    const after = await patchSettings(owner, { engine: 'openai', openai: { model: 'gpt-4o-mini' } })
    expect(after.status).toBe(200)
  })

  it('AI engines: after a downgrade the saved engine answers from knowledge; an upgrade brings it back', async () => {
    const owner = await newCustomer(app, { tier: 'professional' })
    const key = (await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
    expect((await patchSettings(owner, { engine: 'openai', openai: { model: 'gpt-4o-mini' } })).status).toBe(200)
    expect(await widgetConfig(key)).toMatchObject({ engine: 'openai', streaming: true })
    await setTier(owner, 'starter')
    expect(await widgetConfig(key)).toMatchObject({ engine: 'knowledge', streaming: false })
    // A visitor's message is answered inline by the knowledge engine, never by the OpenAI one the plan lost.
    const start = (await (await widget(key, '/api/widget/conversations', { method: 'POST', json: {} })).json()) as {
      conversation: { id: string }
      visitorToken: string
    }
    const sent = await widget(key, `/api/widget/conversations/${start.conversation.id}/messages`, {
      method: 'POST',
      token: start.visitorToken,
      json: { clientMessageId: 'm1', text: 'Do you ship abroad?' },
    })
    expect(sent.status).toBe(201)
    const body = (await sent.json()) as { replies: { role: string; meta?: { engine?: string } }[] }
    expect(body.replies.length).toBeGreaterThan(0)
    const reply = await app.deps.db
      .selectFrom('messages')
      .select('meta')
      .where('conversation_id', '=', start.conversation.id)
      .where('role', '=', 'assistant')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow()
    expect((reply.meta as { engine: string }).engine).toBe('knowledge')
    await setTier(owner, 'business')
    expect(await widgetConfig(key)).toMatchObject({ engine: 'openai', streaming: true })
  })

  it('remove branding: only from business up; the widget shows the line again after a downgrade', async () => {
    const owner = await newCustomer(app, { tier: 'professional' })
    const key = (await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
    const e = await refusal(await patchSettings(owner, { branding: false }))
    expect(e.details).toEqual({ feature: 'removeBranding', tier: 'professional', requiredTier: 'business' })
    expect(e.message).toContain('business plan')
    expect((await widgetConfig(key)).branding).toBe(true)
    await setTier(owner, 'business')
    expect((await patchSettings(owner, { branding: false })).status).toBe(200)
    expect((await widgetConfig(key)).branding).toBe(false)
    await setTier(owner, 'professional')
    expect((await widgetConfig(key)).branding).toBe(true)
    // Showing the line needs no plan.
    expect((await patchSettings(owner, { branding: true })).status).toBe(200)
  })

  it('identity verification: no identity secret and no identify() on starter; an upgrade lifts it at once', async () => {
    const owner = await newCustomer(app, { tier: 'starter' })
    const key = (await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
    const rotate = () => app.request('/api/products/chatbot/secrets/identity_secret/rotate', { method: 'POST', token: owner.token })
    expect((await refusal(await rotate())).details?.feature).toBe('identity')
    const put = await app.request('/api/products/chatbot/secrets/identity_secret', { method: 'PUT', token: owner.token, json: { value: 'x'.repeat(40) } })
    expect((await refusal(put)).details?.feature).toBe('identity')
    // Other secrets need no feature.
    const signing = await app.request('/api/products/chatbot/secrets/webhook_signing_secret', {
      method: 'PUT',
      token: owner.token,
      json: { value: 'y'.repeat(40) },
    })
    expect(signing.status).toBe(200)

    await setTier(owner, 'professional')
    const made = await rotate()
    expect(made.status).toBe(201)
    const { secret } = (await made.json()) as { secret: string }
    const identify = () => widget(key, '/api/widget/identify', { method: 'POST', json: { userId: 'u-1', userHash: userHash(secret, 'u-1') } })
    expect((await identify()).status).toBe(200)
    await setTier(owner, 'starter')
    expect((await refusal(await identify())).details).toEqual({ feature: 'identity', tier: 'starter', requiredTier: 'professional' })
    await setTier(owner, 'enterprise')
    expect((await identify()).status).toBe(200)
  })

  it('lead enrichment: a starter license’s leads stay as left; after an upgrade new leads are enriched', async () => {
    const owner = await newCustomer(app, { tier: 'starter' })
    const key = (await configure(app, owner, 'chatbot', { allowedOrigins: [ORIGIN] })).key
    const leave = async (email: string) => {
      const res = await widget(key, '/api/widget/leads', { method: 'POST', json: { name: 'Ann', email, company: 'Acme', consent: true } })
      expect(res.status).toBe(201)
      await app.deps.tasks.idle()
      return app.deps.db
        .selectFrom('leads')
        .select(['enrichment', 'enriched_at'])
        .where('license_id', '=', owner.licenseId)
        .where('email', '=', email)
        .executeTakeFirstOrThrow()
    }
    const before = await leave('ann@stripe.com')
    expect(before.enriched_at).toBeNull()
    expect(before.enrichment).toBeNull()
    await setTier(owner, 'professional')
    const after = await leave('bob@stripe.com')
    expect(after.enriched_at).not.toBeNull()
    expect(after.enrichment).not.toBeNull()
  })
})
