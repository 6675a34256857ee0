// The OpenAPI document is the contract: the SDK runs against the real server over HTTP, and every answer it gets
// (successes and errors) must be one the document describes for that path, method and status, with a body that
// validates against the document's schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it). Every method of every
// SDK resource is called (a guard walks the client and fails on a method no test called), and every operation a
// client can call (all but the public static files and the signed inbound webhooks) must succeed at least once.
// Billing runs against the Stripe fake; outbound webhooks are delivered to a receiver on loopback that checks each
// POST with the SDK's `webhooks` functions and validates its data against the document's DomainEvent schemas.
import { createHmac } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AuthenticationError,
  ConflictError,
  Intelagent,
  isEnrichError,
  NotFoundError,
  PermissionError,
  ValidationError,
  type WebhookEvent,
} from '../../sdk/src/index.js'
import { hashPassword } from '../src/account/password.js'
import { enqueue } from '../src/platform/jobs.js'
import { type FakeHost, fakeHost } from './fake-host.js'
import { type Customer, newCustomer, newLicense, uniqueEmail } from './fixtures.js'
import { createTestApp, type TestApp } from './harness.js'
import { createStripeFake, eventObject, invoiceObject, PRICES, stripeEnv } from './stripe-fake.js'

const ORIGIN = 'https://shop.example.com'
const PASSWORD = 'correct horse battery'
/** Access kinds whose operations no SDK client calls: static files (public) and inbound webhooks (signature). */
const NOT_CALLED_BY_CLIENTS = ['public', 'signature']

interface Operation {
  tags?: string[]
  'x-access'?: { kind: string }
  operationId?: string
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>
}
interface Doc {
  paths: Record<string, Record<string, Operation>>
  components: Record<string, unknown>
}
interface Exchange {
  method: string
  path: string
  status: number
  mediaType: string
  body: unknown
}

// A CommonJS module: its function is `default` of the module object.
const addFormats = addFormatsModule.default

let app: TestApp
let server: ServerType
let host: FakeHost
let base: string
let doc: Doc
const stripe = createStripeFake()
/** The fetch before the Stripe fake patches the global one: this test's own HTTP never goes through the fake. */
const realFetch = globalThis.fetch
const ajv = new Ajv2020({ strict: false, allErrors: true })
addFormats(ajv)
const exchanges: Exchange[] = []
const problems: string[] = []
const validators = new Map<string, ValidateFunction>()

/** The document's path template for a concrete path: the literal-richest template that matches it. */
function templateOf(path: string): string | undefined {
  const matches = Object.keys(doc.paths).filter((t) => new RegExp(`^${t.replace(/\{[^/]+\}/g, '[^/]+')}$`).test(path))
  return matches.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))[0]
}

const pointer = (...parts: string[]) => `#/${parts.map((p) => encodeURIComponent(p.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/')}`

function validatorFor(template: string, method: string, status: string, mediaType: string): ValidateFunction {
  const ref = `openapi.json${pointer('paths', template, method, 'responses', status, 'content', mediaType, 'schema')}`
  let v = validators.get(ref)
  if (!v) {
    v = ajv.compile({ $ref: ref })
    validators.set(ref, v)
  }
  return v
}

/** Checks one answer against the document; a status or media type the document does not describe is a problem. */
function check(x: Exchange): void {
  const where = `${x.method} ${x.path} → ${x.status}`
  const template = templateOf(x.path)
  const op = template ? doc.paths[template]?.[x.method.toLowerCase()] : undefined
  if (!template || !op) return void problems.push(`${where}: no such operation in the document`)
  const response = op.responses[String(x.status)]
  if (!response) return void problems.push(`${where}: status not described (${Object.keys(op.responses).join(', ')})`)
  // A bodiless answer (204) is described by a response without content.
  if (!response.content && !x.mediaType) return
  const media = response.content?.[x.mediaType]
  if (!media?.schema) return void problems.push(`${where}: ${x.mediaType || 'no body'} not described (${Object.keys(response.content ?? {}).join(', ')})`)
  if (x.mediaType !== 'application/json') return
  const validate = validatorFor(template, x.method.toLowerCase(), String(x.status), x.mediaType)
  if (!validate(x.body)) problems.push(`${where}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(x.body).slice(0, 400)}`)
}

/** fetch that records and checks every answer (JSON bodies are read from a clone; streams are left unread). */
const recordingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const res = await realFetch(input, init)
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url)
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? ''
  const x: Exchange = {
    method: init?.method ?? (input instanceof Request ? input.method : 'GET'),
    path: url.pathname,
    status: res.status,
    mediaType,
    body: mediaType === 'application/json' ? await res.clone().json() : undefined,
  }
  exchanges.push(x)
  check(x)
  return res
}

/** `resource.method` (`admin.licenses.search`) of every SDK method a test called and that resolved (not only rejected). */
const called = new Set<string>()

/**
 * Wraps a resource so each method call that succeeds is recorded: a promise (or a lazy PagePromise, whose first page
 * this loads as awaiting it would) when it resolves, anything else (the event stream's iterator) when returned.
 * Methods run on the real object (they use private fields).
 */
function recording<T extends object>(target: T, path: string): T {
  return new Proxy(target, {
    get(t, name, receiver) {
      const value = Reflect.get(t, name, receiver)
      if (typeof name !== 'string') return value
      if (typeof value === 'function')
        return (...args: unknown[]) => {
          const result: unknown = value.apply(t, args)
          const key = `${path}.${name}`
          if (result && typeof (result as PromiseLike<unknown>).then === 'function')
            (result as PromiseLike<unknown>).then(
              () => called.add(key),
              () => {},
            )
          else called.add(key)
          return result
        }
      if (value && typeof value === 'object' && !Array.isArray(value)) return recording(value, `${path}.${name}`)
      return value
    },
  })
}

function client(options: { token?: string; productKey?: string; apiKey?: string } = {}): Intelagent {
  const sdk = new Intelagent({
    baseUrl: base,
    fetch: recordingFetch,
    maxRetries: 0,
    ...options,
    ...(options.productKey ? { headers: { origin: ORIGIN } } : {}),
  })
  return new Proxy(sdk, {
    get(t, name) {
      const value = Reflect.get(t, name, t)
      return typeof name === 'string' && value && typeof value === 'object' ? recording(value, name) : value
    },
    set(t, name, value) {
      return Reflect.set(t, name, value, t)
    },
  })
}

/** Every method of every resource of a client, as `resource.method`: own and inherited, nested resources too. */
function sdkMethods(target: object, path: string, out: string[] = []): string[] {
  const names = new Set<string>()
  for (let o: object | null = target; o && o !== Object.prototype; o = Object.getPrototypeOf(o))
    for (const name of Object.getOwnPropertyNames(o)) if (name !== 'constructor') names.add(name)
  for (const name of names) {
    const value = (target as Record<string, unknown>)[name]
    if (typeof value === 'function') out.push(`${path}.${name}`)
    else if (value && typeof value === 'object' && !Array.isArray(value)) sdkMethods(value, `${path}.${name}`, out)
  }
  return out
}

function allSdkMethods(): string[] {
  const sdk = new Intelagent({ baseUrl: 'http://unused.test' })
  return Object.entries(sdk)
    .filter(([, v]) => v && typeof v === 'object')
    .flatMap(([name, resource]) => sdkMethods(resource as object, name))
    .sort()
}

/** An operator (admin role) logged in on a client. */
async function operator(): Promise<Intelagent> {
  const email = uniqueEmail('ops')
  await app.deps.db
    .insertInto('users')
    .values({ license_id: null, email, password_hash: await hashPassword('operator password', app.config.scryptLogN), role: 'admin' })
    .execute()
  const ops = client()
  await ops.auth.login({ email, password: 'operator password' })
  return ops
}

/**
 * Runs the jobs that are due. The nightly Stripe reconciliation, always queued for the next 03:00 UTC, would keep
 * `jobs.idle()` waiting: it is set aside (`figures.reconcile` runs one now).
 */
async function settle(): Promise<void> {
  await app.deps.db
    .deleteFrom('jobs')
    .where('name', '=', 'billing.reconcile')
    .where('status', '=', 'queued')
    .where('run_at', '>', new Date(Date.now() + 60_000))
    .execute()
  await app.jobs.idle()
}

/** The one-time token of a link in a kept (unsent) email. */
const tokenIn = (text: string | null | undefined, page: string) => new RegExp(`/dashboard/${page}\\?token=([A-Za-z0-9_-]+)`).exec(text ?? '')?.[1] ?? ''

/** Reads Server-Sent Events from a response until `until` says stop (or 5 s pass). */
async function readEvents(res: Response, until: (events: { event: string; data: string }[]) => boolean) {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  const events: { event: string; data: string }[] = []
  let buffer = ''
  const deadline = Date.now() + 5_000
  try {
    while (!until(events) && Date.now() < deadline) {
      const { value, done } = await Promise.race([
        reader.read(),
        new Promise<{ value: undefined; done: true }>((r) => setTimeout(() => r({ value: undefined, done: true }), Math.max(1, deadline - Date.now()))),
      ])
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message'
        const data = [...block.matchAll(/^data: ?(.*)$/gm)].map((m) => m[1]).join('\n')
        if (data) events.push({ event, data })
      }
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
  return events
}

function validateComponent(name: string, value: unknown): void {
  const validate = ajv.getSchema(`openapi.json${pointer('components', 'schemas', name)}`)
  if (!validate) return void problems.push(`component ${name} is not in the document`)
  if (!validate(value)) problems.push(`${name}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(value).slice(0, 400)}`)
}

beforeAll(async () => {
  // The Stripe fake answers the server's Stripe calls; everything else (this test's HTTP, the receiver) goes through.
  stripe.server.listen({ onUnhandledRequest: 'bypass' })
  host = await fakeHost()
  app = await createTestApp({ env: { RATE_LIMIT_SCALE: '1000', OUTBOUND_ALLOW_HOSTS: host.hostPort, ...stripeEnv() } })
  app.webhooks.retryScheduleMs = [20]
  server = serve({ fetch: app.app.fetch, port: 0, hostname: '127.0.0.1' })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  doc = (await (await realFetch(`${base}/api/openapi.json`)).json()) as Doc
  ajv.addSchema(doc as object, 'openapi.json')
  // Migrating a fresh PGlite database takes a while on a busy machine.
}, 180_000)

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()))
  await app?.shutdown()
  await host?.close()
  stripe.server.close()
})

describe('the SDK against the real server, every answer checked against /api/openapi.json', () => {
  let owner: Customer
  let sdk: Intelagent
  let chatKey: string
  let conversationId: string
  let visitorToken: string

  beforeAll(async () => {
    owner = await newCustomer(app)
    sdk = client({ token: owner.token })
  })

  it('notices an answer the document does not describe', () => {
    const before = problems.length
    check({ method: 'GET', path: '/api/products/keys', status: 418, mediaType: 'application/json', body: {} })
    check({ method: 'GET', path: '/api/products/keys', status: 200, mediaType: 'application/json', body: { keys: [{ id: 'not-a-uuid' }] } })
    check({ method: 'GET', path: '/api/nowhere', status: 200, mediaType: 'application/json', body: {} })
    check({ method: 'GET', path: '/api/events', status: 200, mediaType: 'application/json', body: {} })
    check({ method: 'DELETE', path: '/api/team/members/0', status: 204, mediaType: 'application/json', body: {} })
    check({ method: 'GET', path: '/api/products/keys', status: 200, mediaType: '', body: undefined })
    check({ method: 'DELETE', path: '/api/team/members/0', status: 204, mediaType: '', body: undefined })
    expect(problems.splice(before)).toEqual([
      expect.stringContaining('status not described'),
      expect.stringContaining('must match format "uuid"'),
      expect.stringContaining('no such operation'),
      expect.stringContaining('application/json not described'),
      expect.stringContaining('application/json not described'),
      expect.stringContaining('no body not described'),
    ])
  })

  it('products, keys and settings', async () => {
    const chat = await sdk.products.configure('chatbot', { allowedOrigins: [ORIGIN], settings: { greeting: 'Hello from the contract test' } })
    chatKey = chat.key
    expect((await sdk.products.configure('chatbot')).id).toBe(chat.id) // 200: the active publishable key
    const sales = await sdk.products.configure('sales-agent', { allowedOrigins: [ORIGIN], settings: { sales: { questions: ['How large is your team?'] } } })
    await sdk.products.configure('data-enrichment') // a secret key
    const keys = await sdk.keys.list()
    expect(keys.data.map((k) => k.id)).toEqual(expect.arrayContaining([chat.id, sales.id]))
    expect((await sdk.keys.setOrigins(sales.id, [ORIGIN, 'https://*.example.com'])).allowedOrigins).toHaveLength(2)
    const rotated = await sdk.keys.rotate(sales.id, { gracePeriodSeconds: 60 })
    expect(rotated.previous.id).toBe(sales.id)
    expect((await sdk.keys.revoke(sales.id)).status).toBe('revoked')
    await expect(sdk.keys.revoke('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundError)

    expect((await sdk.settings.get('chatbot')).greeting).toBe('Hello from the contract test')
    expect((await sdk.settings.update('chatbot', { botName: 'Contract bot' })).botName).toBe('Contract bot')
    await expect(sdk.settings.update('chatbot', { color: 'red' })).rejects.toBeInstanceOf(ValidationError)

    const chatOnly = await newCustomer(app, { products: ['chatbot'] })
    await expect(client({ token: chatOnly.token }).settings.get('sales-agent')).rejects.toBeInstanceOf(PermissionError)
  })

  it('secrets and knowledge', async () => {
    expect(await sdk.secrets.set('chatbot', 'webhook_signing_secret', 'a-signing-secret-of-some-length')).toMatchObject({ name: 'webhook_signing_secret' })
    const generated = await sdk.secrets.rotateIdentitySecret('chatbot')
    expect(generated.secret).toMatch(/^[0-9a-f]{64}$/)
    expect((await sdk.secrets.list('chatbot')).map((s) => s.name).sort()).toEqual(['identity_secret', 'webhook_signing_secret'])

    const item = await sdk.knowledge.add('chatbot', { kind: 'qa', title: 'Do you ship abroad?', body: 'Yes, we ship worldwide within five days.' })
    expect((await sdk.knowledge.list('chatbot')).data.map((i) => i.id)).toContain(item.id)
    expect(await sdk.knowledge.delete('chatbot', item.id)).toEqual({ deleted: true })
    await expect(sdk.knowledge.delete('chatbot', item.id)).rejects.toBeInstanceOf(NotFoundError)
    await sdk.knowledge.add('chatbot', { kind: 'qa', title: 'Do you ship abroad?', body: 'Yes, we ship worldwide within five days.' })
    expect(await sdk.settings.testEngine('chatbot')).toMatchObject({
      ok: true,
      engine: 'knowledge',
      tested: 'saved',
      reply: { kind: 'answer', text: 'Yes, we ship worldwide within five days.' },
    })
    host.on('POST', '/engine', () => Response.json({ reply: 'Hello from the flow' }))
    const draft = await sdk.settings.testEngine('chatbot', { engine: 'webhook', webhook: { url: `${host.origin}/engine`, timeoutMs: 2000 }, question: 'Hi?' })
    expect(draft).toMatchObject({ ok: true, tested: 'draft', question: 'Hi?', statusCode: 200, reply: { kind: 'answer', text: 'Hello from the flow' } })

    // Its crawl on the live stream, each event's data as the document describes it.
    const watching = new AbortController()
    const progress: { type: string; sourceId?: string; status?: string }[] = []
    let subscribed = () => {}
    const reading = (async () => {
      for await (const e of sdk.events.stream({ signal: watching.signal })) {
        if (e.type === 'ready') subscribed()
        if (e.type === 'knowledge.source.progress') progress.push(e)
        if (e.type === 'knowledge.source.progress' && e.status === 'ready') watching.abort()
      }
    })()
    const timer = setTimeout(() => watching.abort(), 10_000)
    await Promise.race([new Promise<void>((resolve) => (subscribed = resolve)), reading])
    const source = await sdk.knowledge.sources.create({
      product: 'chatbot',
      kind: 'file',
      file: { name: 'care.md', content: '# Care\n\nWipe oak with a damp cloth.' },
    })
    expect(source).toMatchObject({ kind: 'file', fileName: 'care.md', status: 'queued' })
    await reading
    clearTimeout(timer)
    expect(progress.map((e) => [e.sourceId, e.status])).toEqual(['queued', 'crawling', 'ready'].map((status) => [source.id, status]))
    // Against its own member of LiveEventData (the union's `ready` member, {}, would take anything).
    const members = (doc.components.schemas as { LiveEventData: { anyOf: { title?: string }[] } }).LiveEventData.anyOf
    const member = `LiveEventData/anyOf/${members.findIndex((m) => m.title === 'knowledge.source.progress')}`
    const validate = ajv.getSchema(`openapi.json${pointer('components', 'schemas', ...member.split('/'))}`)
    for (const { type: _type, ...data } of progress) expect(validate?.(data), ajv.errorsText(validate?.errors)).toBe(true)
    expect((await sdk.knowledge.sources.list({ product: 'chatbot' })).data.map((s) => s.id)).toContain(source.id)
    expect((await sdk.knowledge.sources.get(source.id)).source.id).toBe(source.id)
    expect((await sdk.knowledge.sources.sync(source.id)).id).toBe(source.id)
    expect(await sdk.knowledge.sources.delete(source.id)).toEqual({ deleted: true })
    await expect(sdk.knowledge.sources.get(source.id)).rejects.toBeInstanceOf(NotFoundError)

    // The setup agent: started on a site (this host answers nothing, so no proposal), applied, then removed.
    const setup = await sdk.setup.create({ product: 'chatbot', url: `${host.origin}/` })
    expect(setup).toMatchObject({ source: { kind: 'site' }, proposal: null })
    expect((await sdk.setup.get(setup.id)).id).toBe(setup.id)
    const applied = await sdk.setup.apply(setup.id, { suggestedQuestions: ['Do you ship abroad?'] })
    expect(applied.settings.suggestions).toEqual(['Do you ship abroad?'])
    expect(applied.embedCode).toContain('data-product-key="chat_')
    await expect(sdk.setup.apply(setup.id, { brandColor: 'red' })).rejects.toBeInstanceOf(ValidationError)
    await sdk.knowledge.sources.delete(setup.id)
    await expect(sdk.setup.get(setup.id)).rejects.toBeInstanceOf(NotFoundError)
  })

  it('the widget: config, conversations, messages, leads, identify, attributes and its event stream', async () => {
    const visitor = client({ productKey: chatKey })
    expect((await visitor.widget.config()).botName).toBe('Contract bot')
    const started = await visitor.widget.startConversation({ pageUrl: `${ORIGIN}/pricing` })
    conversationId = started.conversation.id
    visitorToken = started.visitorToken
    const resumed = await visitor.widget.startConversation({
      visitorId: started.visitorId,
      visitorSecret: started.visitorSecret as string,
      conversationId,
    })
    expect(resumed.conversation.id).toBe(conversationId)

    const sent = await visitor.widget.sendMessage(conversationId, 'Do you ship abroad?', { visitorToken, clientMessageId: 'contract-1' })
    expect(sent.replies[0]?.text).toContain('worldwide')
    const again = await visitor.widget.sendMessage(conversationId, 'Do you ship abroad?', { visitorToken, clientMessageId: 'contract-1' })
    expect(again.message.id).toBe(sent.message.id)
    expect((await visitor.widget.messages(conversationId, { visitorToken, after: 1 })).length).toBeGreaterThan(0)
    await expect(visitor.widget.messages(conversationId, { visitorToken: 'not-a-token' })).rejects.toMatchObject({ status: 401 })
    const lead = await visitor.widget.createLead({ name: 'Jo Doe', email: 'jo@acme-widgets.com', consent: true, conversationId }, { visitorToken })
    expect(lead.id).toBeTruthy()
    await expect(visitor.widget.createLead({ name: 'Jo', email: 'not an email', consent: true })).rejects.toBeInstanceOf(ValidationError)

    // Not in the SDK: the page API (identify, update) and the visitor's event stream, as the widget calls them.
    const widgetHeaders = { 'x-product-key': chatKey, origin: ORIGIN, 'content-type': 'application/json' }
    const secret = (await sdk.secrets.rotateIdentitySecret('chatbot')).secret
    const identify = await recordingFetch(`${base}/api/widget/identify`, {
      method: 'POST',
      headers: widgetHeaders,
      body: JSON.stringify({ userId: '42', userHash: createHmac('sha256', secret).update('42').digest('hex'), email: 'jo@acme-widgets.com', start: true }),
    })
    expect(identify.status).toBe(201)
    const unstarted = await recordingFetch(`${base}/api/widget/identify`, {
      method: 'POST',
      headers: widgetHeaders,
      body: JSON.stringify({ userId: '43', userHash: createHmac('sha256', secret).update('43').digest('hex') }),
    })
    expect(((await unstarted.json()) as { conversation: unknown }).conversation).toBeNull()
    const wrong = await recordingFetch(`${base}/api/widget/identify`, {
      method: 'POST',
      headers: widgetHeaders,
      body: JSON.stringify({ userId: '42', userHash: '0'.repeat(64) }),
    })
    expect(wrong.status).toBe(401)
    const attrs = await recordingFetch(`${base}/api/widget/conversations/${conversationId}/attributes`, {
      method: 'POST',
      headers: { ...widgetHeaders, authorization: `Bearer ${visitorToken}` },
      body: JSON.stringify({ attributes: { plan: 'pro', seats: 5 } }),
    })
    expect(await attrs.json()).toEqual({ attributes: { plan: 'pro', seats: 5 } })

    const stream = await recordingFetch(
      `${base}/api/widget/conversations/${conversationId}/events?key=${encodeURIComponent(chatKey)}&token=${encodeURIComponent(visitorToken)}`,
      { headers: { origin: ORIGIN } },
    )
    expect(stream.status).toBe(200)
    const events = await readEvents(stream, (e) => e.length >= 3)
    expect(events.map((e) => e.event)).toEqual(['message', 'message', 'message'])
    for (const e of events) validateComponent('WidgetEventData', JSON.parse(e.data))

    // The loader and its chunks: served when the widget is built (pnpm build), a described 404 otherwise.
    const loader = await recordingFetch(`${base}/widget.js`)
    const chunk = loader.ok ? /widget\/([\w-]+\.js)/.exec(await loader.text())?.[1] : 'chat-0000.js'
    await recordingFetch(`${base}/widget/${chunk}`)
  })

  it('conversations, leads and the live event stream', async () => {
    const visitor = client({ productKey: chatKey })
    const second = await visitor.widget.startConversation()
    const page = await sdk.conversations.list('chatbot', { limit: 1 })
    expect(page.data).toHaveLength(1)
    const all: string[] = []
    for await (const c of sdk.conversations.list('chatbot', { limit: 1 })) all.push(c.id)
    expect(all).toEqual(expect.arrayContaining([conversationId, second.conversation.id]))

    const detail = await sdk.conversations.get(conversationId)
    expect(detail.conversation.attributes).toEqual({ plan: 'pro', seats: 5 })
    const reply = await sdk.conversations.reply(conversationId, 'A person here: yes, worldwide.', { clientMessageId: 'agent-1' })
    expect((await sdk.conversations.reply(conversationId, 'A person here: yes, worldwide.', { clientMessageId: 'agent-1' })).id).toBe(reply.id)
    await expect(sdk.conversations.get('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundError)

    const leads = await sdk.leads.list({ product: 'chatbot' })
    expect(leads.data.map((l) => l.email)).toContain('jo@acme-widgets.com')

    const controller = new AbortController()
    const live: { type: string }[] = []
    const reading = (async () => {
      for await (const e of sdk.events.stream({ signal: controller.signal })) {
        live.push(e)
        if (e.type === 'ready') await visitor.widget.sendMessage(second.conversation.id, 'Hello?', { visitorToken: second.visitorToken })
        if (e.type === 'message.created') controller.abort()
      }
    })()
    const timer = setTimeout(() => controller.abort(), 5_000)
    await reading
    clearTimeout(timer)
    expect(live.map((e) => e.type)).toEqual(expect.arrayContaining(['ready', 'message.created']))
    for (const { type: _type, ...data } of live.filter((e) => e.type !== 'ready')) validateComponent('LiveEventData', data)

    // The owner flags a conversation as abuse: its usage goes back to the quotas, once.
    const flagged = await sdk.conversations.flag(second.conversation.id)
    expect(flagged.conversation.id).toBe(second.conversation.id)

    // The lifecycle: close, reopen, take over (the reply above did too), hand back; the list filters by status.
    expect((await sdk.conversations.close(conversationId)).status).toBe('closed')
    expect((await sdk.conversations.list('chatbot', { status: 'closed' })).data.map((c) => c.id)).toContain(conversationId)
    expect((await sdk.conversations.reopen(conversationId)).status).toBe('open')
    expect((await sdk.conversations.takeOver(conversationId)).takenOver).not.toBeNull()
    expect((await sdk.conversations.handBack(conversationId)).takenOver).toBeNull()

    // What the bot does not know: an honest answer, a rating, a person asked for, the question collected and answered.
    const opts = { visitorToken }
    const unknown = await visitor.widget.sendMessage(conversationId, 'Is there parking near the zoo?', opts)
    const honest = unknown.replies[0]
    expect(honest?.unanswered).toBe(true)
    expect((await visitor.widget.rate(conversationId, honest?.id ?? '', 'not_helpful', opts)).rating).toBe('not_helpful')
    expect((await visitor.widget.requestHuman(conversationId, opts)).status).toBe('waiting')
    await visitor.widget.sendMessage(conversationId, 'Do you repair antique clocks?', opts)
    const questions = await sdk.unanswered.list('chatbot')
    const parking = questions.find((q) => q.question === 'Is there parking near the zoo?')
    const clocks = questions.find((q) => q.question === 'Do you repair antique clocks?')
    const answered = await sdk.unanswered.answer('chatbot', parking?.id ?? '', 'Yes, the zoo car park is two minutes away.')
    expect(answered.item.title).toBe('Is there parking near the zoo?')
    expect((await sdk.unanswered.dismiss('chatbot', clocks?.id ?? '')).status).toBe('dismissed')
  })

  it('auth: register, log in, me, log out, password reset and email change', async () => {
    const license = await newLicense(app)
    const anon = client()
    const registered = await anon.auth.register({ email: license.email, password: PASSWORD, licenseKey: license.key })
    expect(registered.user).toMatchObject({ email: license.email, teamRole: 'owner', licenseKey: license.key })
    await expect(client().auth.register({ email: license.email, password: PASSWORD, licenseKey: license.key })).rejects.toBeInstanceOf(ConflictError)
    expect((await anon.auth.me()).via).toBe('session')
    expect(await anon.auth.logout()).toEqual({ loggedOut: true })
    await expect(client({ token: registered.token }).auth.me()).rejects.toBeInstanceOf(AuthenticationError)
    await expect(anon.auth.login({ email: license.email, password: 'not the password' })).rejects.toBeInstanceOf(AuthenticationError)
    const session = await anon.auth.login({ email: license.email, password: PASSWORD })
    expect(session.user.products).toEqual(license.products)

    const ops = await operator()
    expect(await client().auth.requestPasswordReset({ email: license.email })).toEqual({ accepted: true })
    await settle()
    const [reset] = (await ops.mail.list({ email: license.email, status: 'kept' })).data.filter((m) => m.template === 'password-reset')
    const resetToken = tokenIn(reset?.text, 'reset-password')
    expect(await client().auth.resetPassword({ token: resetToken, password: 'a brand new passphrase' })).toEqual({ reset: true })
    await expect(client().auth.resetPassword({ token: resetToken, password: 'a brand new passphrase' })).rejects.toBeInstanceOf(ValidationError)

    const me = client()
    await me.auth.login({ email: license.email, password: 'a brand new passphrase' })
    const newEmail = uniqueEmail('moved')
    expect(await me.auth.changeEmail({ newEmail, password: 'a brand new passphrase' })).toEqual({ pending: true, newEmail })
    await settle()
    const [change] = (await ops.mail.list({ email: newEmail })).data
    expect(await client().auth.confirmEmail({ token: tokenIn(change?.text, 'confirm-email') })).toEqual({ email: newEmail })
    expect((await me.auth.me()).user.email).toBe(newEmail)
  })

  it('API keys, the audit trail and usage', async () => {
    const created = await sdk.apiKeys.create({ name: 'Contract', scopes: ['usage:read', 'audit:read'], expiresInDays: 30 })
    expect(created.key).toMatch(/^intl_sk_/)
    expect((await sdk.apiKeys.list()).data.map((k) => k.id)).toContain(created.id)
    const viaKey = client({ apiKey: created.key })
    expect((await viaKey.usage.get()).quotas.length).toBeGreaterThan(0)
    expect((await viaKey.audit.list({ limit: 5 })).data.length).toBeGreaterThan(0)
    await expect(viaKey.apiKeys.list()).rejects.toBeInstanceOf(PermissionError)
    await expect(viaKey.billing.get()).rejects.toBeInstanceOf(PermissionError)
    expect((await sdk.apiKeys.revoke(created.id)).status).toBe('revoked')
    await expect(viaKey.usage.get()).rejects.toBeInstanceOf(AuthenticationError)
    expect((await sdk.audit.list()).data.map((e) => e.action)).toContain('key.revoked')
    expect((await sdk.usage.get()).plan).toBe('professional')
  })

  it('analytics: the daily figures and their CSV, and the public plan catalogue', async () => {
    const today = new Date().toISOString().slice(0, 10)
    const report = await sdk.analytics.get({ product: 'chatbot', from: today, to: today })
    expect(report.days.map((d) => d.day)).toEqual([today])
    const csv = await sdk.analytics.exportCsv({ product: 'chatbot', from: today, to: today })
    expect(csv.split('\r\n')[0]).toMatch(/^day,/)
    expect(csv).toContain(today)
    const catalog = await client().billing.catalog()
    expect(catalog.plans.map((p) => p.tier)).toEqual(['starter', 'professional', 'business', 'enterprise'])
  })

  it('enrichment, one item and a batch', async () => {
    const one = await sdk.enrich.one({ email: 'lee@stripe.com', pageUrl: 'https://shop.example.com/?utm_source=google&utm_medium=cpc' })
    expect(one.company?.name).toBe('Stripe')
    const batch = await sdk.enrich.batch([
      { email: 'jo@gmail.com', ip: '81.2.69.142', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)' },
      {},
    ])
    expect(batch.map(isEnrichError)).toEqual([false, true])
    await expect(sdk.enrich.one({})).rejects.toBeInstanceOf(ValidationError)
  })

  it('team and account: invite, accept, roles, removal, sessions and password', async () => {
    const email = uniqueEmail('mate')
    const invitation = await sdk.team.invite({ email })
    expect(invitation.acceptUrl).toContain('token=')
    const spare = await sdk.team.invite({ email: uniqueEmail('spare'), role: 'admin' })
    await sdk.team.revokeInvitation(spare.id)
    await expect(sdk.team.revokeInvitation(spare.id)).rejects.toBeInstanceOf(NotFoundError)

    const mate = client()
    const token = new URL(invitation.acceptUrl).searchParams.get('token') ?? ''
    const joined = await mate.team.accept({ token, password: PASSWORD, name: 'Mate' })
    expect(joined.user).toMatchObject({ email, teamRole: 'member' })
    await expect(client().team.accept({ token, password: PASSWORD })).rejects.toMatchObject({ status: expect.any(Number) })
    const member = (await sdk.team.get()).members.find((m) => m.email === email)
    expect(await sdk.team.updateMember(member?.id ?? '', { role: 'admin' })).toMatchObject({ role: 'admin' })
    await expect(mate.team.updateMember(member?.id ?? '', { role: 'member' })).rejects.toBeInstanceOf(PermissionError)

    // The member's own account: a second session, sign it out, sign out the others, change the password.
    const elsewhere = client()
    await elsewhere.auth.login({ email, password: PASSWORD })
    const sessions = await mate.account.sessions()
    expect(sessions.filter((x) => x.current)).toHaveLength(1)
    const other = sessions.find((x) => !x.current)
    await mate.account.revokeSession(other?.id ?? '')
    await expect(elsewhere.auth.me()).rejects.toBeInstanceOf(AuthenticationError)
    await client().auth.login({ email, password: PASSWORD })
    expect((await mate.account.revokeOtherSessions()).sessionsEnded).toBe(1)
    expect(await mate.account.changePassword({ currentPassword: PASSWORD, newPassword: 'another long passphrase' })).toEqual({
      changed: true,
      sessionsEnded: 0,
    })
    await expect(mate.account.changePassword({ currentPassword: PASSWORD, newPassword: 'yet another passphrase' })).rejects.toMatchObject({ status: 403 })

    await sdk.team.removeMember(member?.id ?? '')
    await expect(mate.auth.me()).rejects.toBeInstanceOf(AuthenticationError)
  })

  it('billing against the Stripe fake, and the operators’ figures and reconciliations', async () => {
    const starter = await newCustomer(app, { tier: 'starter' })
    const buyer = client({ token: starter.token })
    expect(await client().billing.plans()).toEqual({ enabled: true, purchasable: ['professional', 'business', 'enterprise'] })
    expect((await buyer.billing.get()).plan).toBe('starter')
    expect((await buyer.billing.checkout({ tier: 'business' })).url).toMatch(/^https:\/\/checkout\.stripe\.test\//)
    await expect(buyer.billing.checkout({ tier: 'starter' as 'business' })).rejects.toBeInstanceOf(ValidationError)
    expect((await buyer.billing.portal()).url).toMatch(/^https:\/\/billing\.stripe\.test\//)

    // Stripe says it is paid (its webhook, signed like Stripe signs): the plan, subscription and invoice show.
    const customer = [...stripe.customers.values()].find((c) => c.metadata.license_id === starter.licenseId)
    if (!customer) throw new Error('no Stripe customer was created')
    const sub = stripe.subscribe({ customer: customer.id, priceId: PRICES.business, licenseId: starter.licenseId })
    stripe.invoices.push(invoiceObject(sub, 'paid', { licenseId: starter.licenseId }))
    const raw = JSON.stringify(eventObject('customer.subscription.created', sub))
    const hook = await recordingFetch(`${base}/api/webhooks/stripe`, { method: 'POST', headers: { 'stripe-signature': stripe.sign(raw) }, body: raw })
    expect(hook.status).toBe(200)
    const paid = await buyer.billing.get()
    expect(paid).toMatchObject({ plan: 'business', status: 'active', subscriptionId: sub.id })
    expect(paid.invoices).toHaveLength(1)

    const ops = await operator()
    expect((await ops.figures.get()).payingSubscriptions).toBeGreaterThan(0)
    expect((await ops.figures.reconcile()).jobId).toMatch(/^job_/)
    await settle()
    const [run] = await ops.figures.reconciliations({ limit: 5 })
    expect(run).toMatchObject({ error: null })
    await expect(buyer.figures.get()).rejects.toBeInstanceOf(PermissionError)
  })

  it('operators: licenses, the license console, jobs and the mail outbox', async () => {
    const ops = await operator()
    const customer = await newCustomer(app, { tier: 'starter', products: ['chatbot'] })
    expect((await ops.licenses.list({ limit: 10 })).data.map((l) => l.id)).toContain(customer.licenseId)
    expect((await ops.licenses.setStatus(customer.licenseId, 'suspended')).status).toBe('suspended')
    expect((await ops.licenses.setStatus(customer.licenseId, 'active')).status).toBe('active')

    const found = await ops.admin.licenses.search({ q: customer.email, limit: 1 })
    expect(found.data.map((l) => l.id)).toEqual([customer.licenseId])
    const detail = await ops.admin.licenses.get(customer.licenseId)
    expect(detail.members.map((m) => m.role)).toEqual(['owner'])
    expect(await ops.admin.licenses.update(customer.licenseId, { tier: 'business', products: ['chatbot', 'sales-agent'] })).toMatchObject({ tier: 'business' })
    expect((await ops.admin.licenses.suspend(customer.licenseId)).status).toBe('suspended')
    expect((await ops.admin.licenses.reactivate(customer.licenseId)).status).toBe('active')
    expect((await ops.admin.licenses.list({ limit: 1 })).data).toHaveLength(1)
    expect((await ops.admin.licenses.setStatus(customer.licenseId, 'active')).status).toBe('active')
    await expect(ops.admin.licenses.get('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundError)
    await expect(client({ token: customer.token }).admin.licenses.search()).rejects.toBeInstanceOf(PermissionError)

    let failing = true
    app.jobs.register('contract.flaky', {
      run: async () => {
        if (failing) throw new Error('upstream unavailable')
      },
    })
    const jobId = (await enqueue(app.deps.db, 'contract.flaky', {}, { maxAttempts: 1 })) as string
    await settle()
    expect((await ops.jobs.list({ status: 'dead', limit: 50 })).data.map((j) => j.id)).toContain(jobId)
    failing = false
    expect((await ops.jobs.retry(jobId)).status).toBe('queued')
    await settle()
    await expect(ops.jobs.retry(jobId)).rejects.toBeInstanceOf(ConflictError)

    const resent = await ops.mail.resendLicense(customer.licenseId)
    expect(resent).toMatchObject({ template: 'license-issued', licenseId: customer.licenseId })
    await settle()
    expect((await ops.mail.list({ licenseId: customer.licenseId, limit: 10 })).data.length).toBeGreaterThanOrEqual(2)
  })

  it('outbound webhooks: endpoints, deliveries, and the SDK’s webhooks functions on real deliveries', async () => {
    const received: WebhookEvent[] = []
    let secrets: string[] = []
    let failNext = true
    const domainEvents = (doc.components.schemas as Record<string, { oneOf?: { $ref: string }[] }>).DomainEvent?.oneOf ?? []
    const dataSchemaOf = new Map(
      domainEvents.map(({ $ref }) => {
        const name = $ref.split('/').pop() as string
        const schema = (doc.components.schemas as Record<string, { properties: { type: { enum: string[] } } }>)[name]
        return [schema?.properties.type.enum[0], name] as const
      }),
    )
    host.on('POST', '/contract', async ({ request }) => {
      const raw = await request.text()
      const header = request.headers.get('x-intelagent-signature')
      for (const secret of secrets) {
        const event = await sdk.webhooks.constructEvent(raw, header, secret)
        received.push(event)
        await sdk.webhooks.verifySignature(secret, header, raw)
        await sdk.webhooks.verifySignature(secret, await sdk.webhooks.sign(secret, raw), raw)
        const component = dataSchemaOf.get(event.type)
        if (component) {
          const validate = ajv.getSchema(`openapi.json${pointer('components', 'schemas', component, 'properties', 'data')}`)
          if (!validate?.(event.data)) problems.push(`webhook ${event.type} data: ${ajv.errorsText(validate?.errors)} in ${JSON.stringify(event.data)}`)
        } else if (event.type !== 'ping') problems.push(`webhook ${event.type}: no DomainEvent schema in the document`)
      }
      if (failNext) {
        failNext = false
        return new Response('not yet', { status: 500 })
      }
      return new Response('ok')
    })

    const ep = await sdk.webhookEndpoints.create({ url: `${host.origin}/contract`, events: ['message.created', 'lead.created'], description: 'Contract' })
    secrets = [ep.secret]
    expect((await sdk.webhookEndpoints.list()).data.map((e) => e.id)).toContain(ep.id)
    expect(await sdk.webhookEndpoints.get(ep.id)).not.toHaveProperty('secret')
    await expect(sdk.webhookEndpoints.create({ url: 'not a url', events: ['lead.created'] })).rejects.toBeInstanceOf(ValidationError)

    expect(await sdk.webhookEndpoints.test(ep.id)).toMatchObject({ ok: false, statusCode: 500, responseExcerpt: 'not yet' })
    const visitor = client({ productKey: chatKey })
    await visitor.widget.sendMessage(conversationId, 'Is there a discount for teams?', { visitorToken })
    await visitor.widget.createLead({ name: 'Sam Roe', email: 'sam@acme-widgets.com', consent: true })
    await settle()
    expect(received.map((e) => e.type)).toEqual(expect.arrayContaining(['ping', 'message.created', 'lead.created']))

    const page = await sdk.webhookEndpoints.deliveries(ep.id, { limit: 1, status: 'succeeded' })
    expect(page.data).toHaveLength(1)
    const all = []
    for await (const d of sdk.webhookEndpoints.deliveries(ep.id, { limit: 2 })) all.push(d)
    expect(all.map((d) => d.eventType)).toEqual(expect.arrayContaining(['ping', 'message.created', 'lead.created']))
    const delivery = all.find((d) => d.eventType === 'lead.created')
    expect((await sdk.webhookEndpoints.redeliver(delivery?.id ?? '')).status).toBe('pending')
    await settle()
    expect(await sdk.webhookEndpoints.redeliverFailed(ep.id)).toBe(0)

    const rotated = await sdk.webhookEndpoints.rotateSecret(ep.id)
    secrets = [ep.secret, rotated.secret]
    expect((await sdk.webhookEndpoints.test(ep.id)).ok).toBe(true)
    expect((await sdk.webhookEndpoints.update(ep.id, { enabled: false, description: null })).enabled).toBe(false)
    await sdk.webhookEndpoints.delete(ep.id)
    await expect(sdk.webhookEndpoints.get(ep.id)).rejects.toBeInstanceOf(NotFoundError)
  })

  it('called every method of every SDK resource, each successfully at least once', () => {
    const methods = allSdkMethods()
    // The walk itself: it must see the resources, their inherited methods and nested resources.
    expect(methods).toEqual(expect.arrayContaining(['auth.login', 'admin.licenses.search', 'admin.licenses.setStatus', 'webhooks.constructEvent']))
    expect(methods.filter((m) => !called.has(m))).toEqual([])
  })

  it('reached every operation a client calls with a success, and every answer matched the document', () => {
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        // Static files (public) answer 404 until the widget is built: they are checked, but need not succeed.
        .filter(([, op]) => !NOT_CALLED_BY_CLIENTS.includes(op['x-access']?.kind ?? 'public'))
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    )
    expect(ops.length).toBeGreaterThan(70)
    const succeeded = new Set(exchanges.filter((x) => x.status < 300).map((x) => `${x.method} ${templateOf(x.path)}`))
    expect(ops.filter((op) => !succeeded.has(op))).toEqual([])
    expect(exchanges.length).toBeGreaterThan(120)
    expect(problems).toEqual([])
  })
})
