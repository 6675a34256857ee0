// The OpenAPI document is the contract: the SDK runs against the real server over HTTP, and every answer it gets
// (successes and errors) must be one the document describes for that path, method and status, with a body that
// validates against the document's schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it). Covers the products,
// keys, settings, secrets, knowledge, conversations, leads, events and widget operations.
import { createHmac } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Intelagent, NotFoundError, PermissionError, ValidationError } from '../../sdk/src/index.js'
import { type Customer, newCustomer } from './fixtures.js'
import { createTestApp, type TestApp } from './harness.js'

const ORIGIN = 'https://shop.example.com'
/** The tags of the operations this test must reach, each with at least one success. */
const TAGS = ['products', 'secrets', 'knowledge', 'conversations', 'leads', 'widget']

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
let base: string
let doc: Doc
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
  const media = response.content?.[x.mediaType]
  if (!media?.schema) return void problems.push(`${where}: ${x.mediaType || 'no body'} not described (${Object.keys(response.content ?? {}).join(', ')})`)
  if (x.mediaType !== 'application/json') return
  const validate = validatorFor(template, x.method.toLowerCase(), String(x.status), x.mediaType)
  if (!validate(x.body)) problems.push(`${where}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(x.body).slice(0, 400)}`)
}

/** fetch that records and checks every answer (JSON bodies are read from a clone; streams are left unread). */
const recordingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const res = await fetch(input, init)
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

function client(options: { token?: string; productKey?: string } = {}) {
  return new Intelagent({
    baseUrl: base,
    fetch: recordingFetch,
    maxRetries: 0,
    ...options,
    ...(options.productKey ? { headers: { origin: ORIGIN } } : {}),
  })
}

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
  app = await createTestApp({ env: { RATE_LIMIT_SCALE: '1000' } })
  server = serve({ fetch: app.app.fetch, port: 0, hostname: '127.0.0.1' })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as Doc
  ajv.addSchema(doc as object, 'openapi.json')
  // Migrating a fresh PGlite database takes a while on a busy machine.
}, 180_000)

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()))
  await app?.shutdown()
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
    expect(problems.splice(before)).toEqual([
      expect.stringContaining('status not described'),
      expect.stringContaining('must match format "uuid"'),
      expect.stringContaining('no such operation'),
      expect.stringContaining('application/json not described'),
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

    const source = await sdk.knowledge.sources.create({
      product: 'chatbot',
      kind: 'file',
      file: { name: 'care.md', content: '# Care\n\nWipe oak with a damp cloth.' },
    })
    expect(source).toMatchObject({ kind: 'file', fileName: 'care.md', status: 'queued' })
    expect((await sdk.knowledge.sources.list({ product: 'chatbot' })).data.map((s) => s.id)).toContain(source.id)
    expect((await sdk.knowledge.sources.get(source.id)).source.id).toBe(source.id)
    expect((await sdk.knowledge.sources.sync(source.id)).id).toBe(source.id)
    expect(await sdk.knowledge.sources.delete(source.id)).toEqual({ deleted: true })
    await expect(sdk.knowledge.sources.get(source.id)).rejects.toBeInstanceOf(NotFoundError)
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
  })

  it('reached every operation of its tags with a success, and every answer matched the document', () => {
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        // Static files (public) answer 404 until the widget is built: they are checked, but need not succeed.
        .filter(([, op]) => op.tags?.some((t) => TAGS.includes(t)) && op['x-access']?.kind !== 'public')
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    )
    const succeeded = new Set(exchanges.filter((x) => x.status < 300).map((x) => `${x.method} ${templateOf(x.path)}`))
    expect(ops.filter((op) => !succeeded.has(op))).toEqual([])
    expect(exchanges.length).toBeGreaterThan(40)
    expect(problems).toEqual([])
  })
})
