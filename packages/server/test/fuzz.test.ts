// Fuzz: every operation listed in /api/openapi.json, fed generated bad input (wrong types, NUL characters, huge
// numbers and strings, deep nesting, unknown fields, bad headers, bad keys and path parameters) with valid
// credentials, answers a 4xx with the JSON error envelope or a success, never a 5xx. Deterministic: a seeded
// PRNG samples the cases per operation (FUZZ_SEED / FUZZ_CASES explore further; a failure prints its input).
import { createHmac, randomBytes } from 'node:crypto'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../src/account/password.js'
import { crcTail } from '../src/platform/crypto.js'
import { signIntelagent } from '../src/platform/signature.js'
import { type Customer, configure, newCustomer, newLicense, uniqueEmail } from './fixtures.js'
import { createTestApp, N8N_SECRET, SQUARESPACE_SECRET_HEX, type TestApp } from './harness.js'
import { createStripeFake, stripeEnv } from './stripe-fake.js'

const SEED = Number(process.env.FUZZ_SEED ?? 20261124)
const CASES_PER_OPERATION = Number(process.env.FUZZ_CASES ?? 24)
const ORIGIN = 'https://shop.example.com'

// ---------------------------------------------------------------------------------------------------------
// Deterministic randomness

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

class Rng {
  private next: () => number
  constructor(seed: number) {
    this.next = mulberry32(seed)
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      ;[out[i], out[j]] = [out[j] as T, out[i] as T]
    }
    return out
  }
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => '0123456789abcdef'[this.int(16)]).join('')
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`
  }
}

/** A stable seed per operation, so adding an operation does not reshuffle the cases of the others. */
const seedFor = (label: string): number => [...label].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0, SEED ^ 2166136261)

// ---------------------------------------------------------------------------------------------------------
// The OpenAPI document, as far as the fuzzer reads it

interface Schema {
  type?: string | string[]
  enum?: unknown[]
  const?: unknown
  format?: string
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  minItems?: number
  default?: unknown
  properties?: Record<string, Schema>
  required?: string[]
  additionalProperties?: boolean | Schema
  items?: Schema
  anyOf?: Schema[]
  oneOf?: Schema[]
  $ref?: string
}
interface Parameter {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
  schema?: Schema
}
interface Operation {
  parameters?: Parameter[]
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> }
  security?: Record<string, string[]>[]
}
interface Doc {
  paths: Record<string, Record<string, Operation>>
  components?: { schemas?: Record<string, Schema> }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
type Auth = 'session' | 'logout' | 'admin' | 'widget' | 'webhook-n8n' | 'webhook-squarespace' | 'none'

interface Op {
  method: string
  path: string
  op: Operation
  auth: Auth
  bodySchema: Schema | undefined
  /** The request takes a JSON body (declared, or read raw by a signed webhook). */
  takesBody: boolean
  sse: boolean
}

interface Fixtures {
  customer: Customer
  logoutToken: string
  adminToken: string
  chatKey: string
  keyId: string
  apiKeyId: string
  otherLicenseId: string
  conversationId: string
  visitorToken: string
  knowledgeId: string
}

interface Attempt {
  label: string
  method: string
  path: string
  headers: Record<string, string>
  body?: string | Uint8Array
}

// ---------------------------------------------------------------------------------------------------------
// Valid-looking input built from the schemas, so that one mutation at a time reaches past the validator

const PATTERN_SAMPLES = ['#4f46e5', ORIGIN, 'abc123', 'x']
const WEBHOOK_BODIES: Record<string, (f: Fixtures, rng: Rng) => Json> = {
  '/api/webhooks/n8n/licenses': (_f, rng) => ({ orderId: `fuzz-${rng.int(1e9)}`, email: uniqueEmail('fuzz'), products: ['chatbot'] }),
  '/api/webhooks/n8n/replies': (f) => ({ conversationId: f.conversationId, text: 'A deferred answer' }),
  '/api/webhooks/squarespace': (_f, rng) => ({ id: `n-${rng.int(1e9)}`, topic: 'order.create', data: { orderId: `o-${rng.int(1e9)}` } }),
}

function resolve(doc: Doc, s: Schema): Schema {
  if (s.$ref) return resolve(doc, doc.components?.schemas?.[s.$ref.split('/').pop() ?? ''] ?? {})
  const alt = s.anyOf ?? s.oneOf
  if (alt) return resolve(doc, alt.find((a) => a.type !== 'null') ?? alt[0] ?? {})
  return s
}

function typeOf(s: Schema): string | undefined {
  return Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type
}

function sample(doc: Doc, raw: Schema, f: Fixtures, rng: Rng, name = ''): Json {
  const s = resolve(doc, raw)
  if (s.const !== undefined) return s.const as Json
  if (s.enum?.length) return s.enum[0] as Json
  switch (typeOf(s)) {
    case 'object': {
      const out: Record<string, Json> = {}
      for (const [k, v] of Object.entries(s.properties ?? {})) {
        if (s.required?.includes(k) || rng.chance(0.5)) out[k] = sample(doc, v, f, rng, k)
      }
      if (typeof s.additionalProperties === 'object') out.question = sample(doc, s.additionalProperties, f, rng)
      return out
    }
    case 'array':
      return Array.from({ length: Math.max(1, s.minItems ?? 1) }, () => sample(doc, s.items ?? {}, f, rng))
    case 'integer':
    case 'number':
      return typeof s.default === 'number' ? s.default : (s.minimum ?? 1)
    case 'boolean':
      return true
    case 'string': {
      if (s.format === 'email') return uniqueEmail('fuzz')
      if (s.format === 'uuid') return /conversation/i.test(name) ? f.conversationId : rng.uuid()
      if (s.format === 'uri') return 'https://example.com/hook'
      if (s.pattern) {
        const re = new RegExp(s.pattern)
        const fit = PATTERN_SAMPLES.find((p) => re.test(p))
        if (fit) return fit
      }
      if (typeof s.default === 'string') return s.default
      if (name === 'password') return 'correct horse battery'
      return 'fuzz value'.padEnd(s.minLength ?? 0, 'x').slice(0, s.maxLength ?? 1000)
    }
    default:
      return 'fuzz'
  }
}

// ---------------------------------------------------------------------------------------------------------
// Mutations

const HUGE_NUMBERS: Json[] = [2 ** 31, 2 ** 53, 2 ** 53 + 2, 1e308, -1, -(2 ** 31) - 1, 0.5, -0, Number.MAX_SAFE_INTEGER]
const NUMBER_STRINGS = ['NaN', 'Infinity', '-Infinity', '2147483648', '9007199254740993', '1e308', '-1', '0x10', '1.5', '', ' 1', '1e-400']
const WRONG_TYPES: Json[] = [true, false, null, [], {}, 42, 'a string', [1, [2, [3]]], { nested: { deeper: true } }, [{}]]
const NUL_STRINGS = ['\u0000', 'a\u0000b', 'fuzz\u0000@example.com', '\u0000'.repeat(64)]
const ODD_STRINGS = [
  '\ud800',
  'a\udfffb',
  '\u202e\u0301',
  '💥'.repeat(200),
  '\\u0000',
  '%00',
  "'; drop table users; --",
  '\u0024{jndi:x}',
  '\r\n\r\nX-Injected: 1',
]

/** Every path to a leaf (or an object / array) of a JSON value. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix]
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...paths(v, [...prefix, i]))
  } else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]))
  return out
}

function setAt(root: Json, path: (string | number)[], value: Json): Json {
  if (path.length === 0) return value
  const copy = structuredClone(root) as Record<string | number, Json>
  let node = copy as Record<string | number, Json>
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>
  node[path[path.length - 1] as string | number] = value
  return copy as Json
}

function stringPaths(value: Json): (string | number)[][] {
  return paths(value).filter((p) => {
    let node: Json = value
    for (const k of p) node = (node as Record<string | number, Json>)[k] as Json
    return typeof node === 'string'
  })
}

function deep(levels: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(levels)}${']'.repeat(levels)}` : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`
}

type BodyMutation = (base: Json, rng: Rng) => { label: string; raw: string | Uint8Array }

const json = (v: Json): string => JSON.stringify(v)

const BODY_MUTATIONS: Record<string, BodyMutation> = {
  'NUL in a string': (base, rng) => {
    const targets = stringPaths(base)
    const at = targets.length ? rng.pick(targets) : ['extra']
    const value = rng.pick(NUL_STRINGS)
    return { label: `${at.join('.') || '(body)'} = ${JSON.stringify(value)}`, raw: json(setAt(base, at, value)) }
  },
  'NUL in a key': (base, rng) => {
    const key = rng.pick(['\u0000', 'a\u0000', 'question\u0000'])
    const objects = paths(base).filter((p) => {
      let node: Json = base
      for (const k of p) node = (node as Record<string | number, Json>)[k] as Json
      return node !== null && typeof node === 'object' && !Array.isArray(node)
    })
    const at = objects.length ? rng.pick(objects) : []
    let node: Json = structuredClone(base)
    const root = node
    for (const k of at) node = (node as Record<string | number, Json>)[k] as Json
    if (node && typeof node === 'object' && !Array.isArray(node)) node[key] = 'v'
    return { label: `key ${JSON.stringify(key)} at ${at.join('.') || '(body)'}`, raw: json(root === null || typeof root !== 'object' ? { [key]: 'v' } : root) }
  },
  'a huge or negative number': (base, rng) => {
    const at = rng.pick(paths(base))
    const n = rng.pick(HUGE_NUMBERS)
    return { label: `${at.join('.') || '(body)'} = ${n}`, raw: json(setAt(base, at, n)) }
  },
  'a number-like string': (base, rng) => {
    const at = rng.pick(paths(base))
    const v = rng.pick(NUMBER_STRINGS)
    return { label: `${at.join('.') || '(body)'} = ${JSON.stringify(v)}`, raw: json(setAt(base, at, v)) }
  },
  'a literal out-of-range number': (base, rng) => {
    // Beyond what JSON.stringify can write: 1e400 parses to Infinity, -0 and long exponents stay numbers.
    const at = rng.pick(paths(base).filter((p) => p.length > 0)) ?? ['extra']
    const literal = rng.pick(['1e400', '-1e400', '123456789012345678901234567890', '-0', '1E+2'])
    const marker = '"__fuzz_number__"'
    return { label: `${at.join('.')} = ${literal}`, raw: json(setAt(base, at, '__fuzz_number__')).replace(marker, literal) }
  },
  'a wrong type': (base, rng) => {
    const at = rng.pick(paths(base))
    const v = rng.pick(WRONG_TYPES)
    return { label: `${at.join('.') || '(body)'} = ${JSON.stringify(v)}`, raw: json(setAt(base, at, v)) }
  },
  'a huge string': (base, rng) => {
    const targets = stringPaths(base)
    const at = targets.length ? rng.pick(targets) : ['extra']
    const v = rng.pick(['x'.repeat(60_000), 'é'.repeat(20_000), `${'a'.repeat(30_000)}\u0000`])
    return { label: `${at.join('.') || '(body)'} = <${v.length} chars>`, raw: json(setAt(base, at, v)) }
  },
  'an odd string': (base, rng) => {
    const targets = stringPaths(base)
    const at = targets.length ? rng.pick(targets) : ['extra']
    const v = rng.pick(ODD_STRINGS)
    return { label: `${at.join('.') || '(body)'} = ${JSON.stringify(v)}`, raw: json(setAt(base, at, v)) }
  },
  'deep nesting': (base, rng) => {
    const levels = rng.pick([1000, 5000])
    const kind = rng.pick(['array', 'object'] as const)
    const marker = '"__fuzz_deep__"'
    const at = rng.pick(paths(base))
    const raw = at.length === 0 ? deep(levels, kind) : json(setAt(base, at, '__fuzz_deep__')).replace(marker, deep(levels, kind))
    return { label: `${at.join('.') || '(body)'} = ${levels} nested ${kind}s`, raw }
  },
  'unknown fields': (base, rng) => {
    const extra = rng.pick<Record<string, Json>>([
      { isAdmin: true },
      { role: 'admin', license_id: rng.uuid() },
      { constructor: { prototype: { polluted: true } } },
      { ['x'.repeat(5000)]: 1 },
    ])
    const raw = base !== null && typeof base === 'object' && !Array.isArray(base) ? json({ ...base, ...extra }) : json(extra)
    // "__proto__" only survives as an own key when written literally.
    const proto = rng.chance(0.5) ? raw.replace(/^\{/, '{"__proto__":{"isAdmin":true},') : raw
    return { label: `extra ${Object.keys(extra).join(',').slice(0, 40)}`, raw: proto }
  },
  'an array for an object': (base, rng) => {
    const objects = paths(base).filter((p) => {
      let node: Json = base
      for (const k of p) node = (node as Record<string | number, Json>)[k] as Json
      return node !== null && typeof node === 'object' && !Array.isArray(node)
    })
    const at = objects.length ? rng.pick(objects) : []
    let node: Json = base
    for (const k of at) node = (node as Record<string | number, Json>)[k] as Json
    return { label: `${at.join('.') || '(body)'} wrapped in an array`, raw: json(setAt(base, at, [node, node])) }
  },
  'a scalar or garbage body': (_base, rng) => {
    const raw = rng.pick<string | Uint8Array>([
      'null',
      '42',
      '"text"',
      'true',
      '',
      '{',
      '{"a":1,}',
      'NaN',
      '\ufeff{}',
      new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      new Uint8Array([0xef, 0xbb, 0xbf, 0x00, 0x00]),
      '{"a":"\\ud800"}',
      '{"a":"\\u0000"}',
    ])
    return { label: `body ${JSON.stringify(typeof raw === 'string' ? raw : `<bytes ${[...raw].join(',')}>`)}`, raw }
  },
  'an oversize body': () => ({ label: '1 MiB body', raw: json({ padding: 'x'.repeat(1024 * 1024) }) }),
}

// ---------------------------------------------------------------------------------------------------------
// Keys and tokens a clumsy or hostile client might send

function wellFormedKey(prefix: string, rng: Rng): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
  const body = Array.from({ length: 22 }, () => alphabet[rng.int(62)]).join('')
  return `${prefix}_${body}${crcTail(`${prefix}_${body}`)}`
}

async function badBearers(f: Fixtures, rng: Rng): Promise<string[]> {
  const forged = await new SignJWT({ sid: rng.uuid(), licenseKey: f.customer.licenseKey, role: 'admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(rng.uuid())
    .setExpirationTime('1h')
    .sign(randomBytes(32))
  const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: rng.uuid(), role: 'admin' })).toString('base64url')}.`
  return [
    'Bearer',
    'Bearer ',
    'Bearer x.y.z',
    `Bearer ${forged}`,
    `Bearer ${none}`,
    'Basic Og==',
    `Bearer intl_sk_${'x'.repeat(28)}`,
    `Bearer ${wellFormedKey('intl_sk', rng)}`,
    `Bearer ${wellFormedKey('data', rng)}`,
    `Bearer ${wellFormedKey('agnt', rng)}`,
    `Bearer ${f.chatKey}`,
    `Bearer ${f.visitorToken}`,
    `Bearer ${'a'.repeat(8000)}`,
    `Bearer ${f.customer.token}, Bearer ${f.adminToken}`,
    `bearer ${f.customer.token}x`,
  ]
}

// ---------------------------------------------------------------------------------------------------------
// The fuzzer

// Billing is on, against the local Stripe fake (msw), so its routes are fuzzed past the not_configured answer.
const stripe = createStripeFake()
stripe.server.listen({ onUnhandledRequest: 'bypass' })
const app: TestApp = await createTestApp({
  env: { RATE_LIMIT_SCALE: '1000', ...stripeEnv() },
  // Nothing a fuzzed request triggers (a reply engine, a Squarespace order lookup) may leave the machine.
  fetch: async (input) => {
    throw new Error(`fuzz: no outbound request expected (${String(input)})`)
  },
})
const doc = (await (await app.request('/api/openapi.json')).json()) as Doc

function operations(): Op[] {
  const out: Op[] = []
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const security = JSON.stringify(op.security ?? [])
      const auth: Auth = path.startsWith('/api/webhooks/squarespace')
        ? 'webhook-squarespace'
        : path.startsWith('/api/webhooks/')
          ? 'webhook-n8n'
          : path.startsWith('/api/widget/') || security.includes('productKey')
            ? 'widget'
            : path.startsWith('/api/admin/')
              ? 'admin'
              : path === '/api/auth/logout'
                ? 'logout'
                : security.includes('bearerAuth') || security.includes('secretKey') || path === '/api/events'
                  ? 'session'
                  : 'none'
      const bodySchema = op.requestBody?.content?.['application/json']?.schema
      out.push({
        method: method.toUpperCase(),
        path,
        op,
        auth,
        bodySchema,
        takesBody: bodySchema !== undefined || path in WEBHOOK_BODIES,
        sse: path.endsWith('/events'),
      })
    }
  }
  return out
}

const ops = operations()

describe('fuzz: every operation in /api/openapi.json answers bad input with a 4xx, never a 5xx', () => {
  let f: Fixtures

  beforeAll(async () => {
    const customer = await newCustomer(app)
    const chat = await configure(app, customer, 'chatbot', { allowedOrigins: [ORIGIN] })
    // Operations on a key id act on a key nothing else here uses, so revoking or rotating it spoils no later case.
    const victimKey = await configure(app, customer, 'sales-agent', { allowedOrigins: [ORIGIN] })
    const apiKey = await app.request('/api/api-keys', { method: 'POST', token: customer.token, json: { name: 'fuzz', scopes: ['conversations:read'] } })
    const knowledge = await app.request('/api/products/chatbot/knowledge', {
      method: 'POST',
      token: customer.token,
      json: { kind: 'qa', title: 'Opening hours', body: 'Nine to five' },
    })
    const admin = uniqueEmail('ops')
    await app.deps.db
      .insertInto('users')
      .values({ license_id: null, email: admin, password_hash: await hashPassword('operator password', app.config.scryptLogN), role: 'admin' })
      .execute()
    const login = async (email: string, password: string) =>
      ((await (await app.request('/api/auth/login', { method: 'POST', json: { email, password } })).json()) as { token: string }).token
    const started = await app.request('/api/widget/conversations', { method: 'POST', headers: { 'x-product-key': chat.key, origin: ORIGIN }, json: {} })
    const conv = (await started.json()) as { conversation: { id: string }; visitorToken: string }
    f = {
      customer,
      logoutToken: await login(customer.email, 'correct horse battery'),
      adminToken: await login(admin, 'operator password'),
      chatKey: chat.key,
      keyId: victimKey.id,
      apiKeyId: ((await apiKey.json()) as { id: string }).id,
      otherLicenseId: (await newLicense(app)).id,
      conversationId: conv.conversation.id,
      visitorToken: conv.visitorToken,
      knowledgeId: ((await knowledge.json()) as { item: { id: string } }).item.id,
    }
  })
  afterAll(async () => {
    await app.shutdown()
    stripe.server.close()
  })

  it('walks every operation, the signed webhooks and the SSE streams included', () => {
    const listed = ops.map((o) => `${o.method} ${o.path}`)
    expect(listed.length).toBeGreaterThan(30)
    for (const must of [
      'POST /api/webhooks/squarespace',
      'POST /api/webhooks/n8n/replies',
      'GET /api/events',
      'GET /api/widget/conversations/{id}/events',
      'PATCH /api/products/{product}/settings',
    ])
      expect(listed).toContain(must)
  })

  /** A valid value for a path parameter: the fixture it names, so mutations elsewhere reach the handler. */
  function pathValue(o: Op, name: string, rng: Rng): string {
    const param = o.op.parameters?.find((p) => p.in === 'path' && p.name === name)
    const enumValues = param?.schema ? resolve(doc, param.schema).enum : undefined
    if (enumValues?.length) return String(o.path.includes('/knowledge') || o.path.includes('/secrets') ? enumValues[0] : rng.pick(enumValues))
    if (name !== 'id') return 'fuzz'
    if (o.path.startsWith('/api/products/keys/')) return f.keyId
    if (o.path.startsWith('/api/api-keys/')) return f.apiKeyId
    if (o.path.startsWith('/api/admin/licenses/')) return f.otherLicenseId
    if (o.path.includes('/knowledge/')) return f.knowledgeId
    if (o.path.includes('/conversations/')) return f.conversationId
    return rng.uuid()
  }

  function credentials(o: Op, raw: string | Uint8Array | undefined, rng: Rng): Record<string, string> {
    switch (o.auth) {
      case 'session':
        return { authorization: `Bearer ${f.customer.token}` }
      case 'logout':
        return { authorization: `Bearer ${f.logoutToken}` }
      case 'admin':
        return { authorization: `Bearer ${f.adminToken}` }
      case 'widget':
        return { 'x-product-key': f.chatKey, origin: ORIGIN, authorization: `Bearer ${f.visitorToken}` }
      case 'webhook-n8n': {
        // Mostly a valid signature over the bad body, so the body itself is what is judged; sometimes none or a wrong one.
        const text = typeof raw === 'string' ? raw : Buffer.from(raw ?? new Uint8Array()).toString('latin1')
        const t = Math.floor(Date.now() / 1000)
        return rng.pick<Record<string, string>>([
          { 'x-intelagent-signature': signIntelagent(N8N_SECRET, text, t) },
          { 'x-intelagent-signature': signIntelagent(N8N_SECRET, text, t) },
          { 'x-intelagent-signature': signIntelagent('the wrong secret 0123456789', text, t) },
          { 'x-intelagent-signature': 't=99999999999999999999,v1=zz' },
          {},
        ])
      }
      case 'webhook-squarespace': {
        const bytes = typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw ?? new Uint8Array())
        const good = createHmac('sha256', Buffer.from(SQUARESPACE_SECRET_HEX, 'hex')).update(bytes).digest('hex')
        return rng.pick<Record<string, string>>([
          { 'squarespace-signature': good },
          { 'squarespace-signature': good },
          { 'squarespace-signature': 'ab'.repeat(32) },
          {},
        ])
      }
      case 'none':
        return {}
    }
  }

  async function attemptsFor(o: Op): Promise<Attempt[]> {
    const rng = new Rng(seedFor(`${o.method} ${o.path}`))
    const pathNames = [...o.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string)
    const queryParams = (o.op.parameters ?? []).filter((p) => p.in === 'query')
    const fill = (overrides: Record<string, string> = {}) =>
      o.path.replace(/\{(\w+)\}/g, (_, name: string) => overrides[name] ?? encodeURIComponent(pathValue(o, name, rng)))
    const baseBody = (): Json => (o.bodySchema ? sample(doc, o.bodySchema, f, rng) : (WEBHOOK_BODIES[o.path]?.(f, rng) ?? (o.method === 'GET' ? null : {})))
    const withBody = (label: string, raw: string | Uint8Array | undefined, path = fill()): Attempt => ({
      label,
      method: o.method,
      path,
      headers: { ...credentials(o, raw, rng), ...(raw !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(raw !== undefined ? { body: raw } : {}),
    })
    const validRaw = () => (o.method === 'GET' || o.method === 'DELETE' ? undefined : json(baseBody()))

    const kinds: Record<string, () => Promise<Attempt> | Attempt> = {}
    if (o.takesBody || o.method !== 'GET') {
      for (const [name, mutate] of Object.entries(BODY_MUTATIONS)) {
        kinds[`body: ${name}`] = () => {
          const m = mutate(baseBody(), rng)
          return withBody(`body ${name}: ${m.label}`, m.raw)
        }
      }
    }
    if (pathNames.length) {
      kinds['path: bad parameter'] = () => {
        const name = rng.pick(pathNames)
        const bad = rng.pick([
          '%00',
          'a%00b',
          'x'.repeat(10_000),
          'not-a-uuid',
          '00000000-0000-0000-0000-000000000000',
          'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
          `{${rng.uuid()}}`,
          '%zz',
          '%E9',
          '..%2F..%2Fetc%2Fpasswd',
          encodeURIComponent('💥'),
          '-1',
          '2147483648',
          '%20',
        ])
        return withBody(`path ${name} = ${bad.slice(0, 60)}`, validRaw(), fill({ [name]: bad }))
      }
    }
    const queryTargets = [...queryParams.map((p) => p.name), ...(o.sse && o.auth === 'widget' ? ['after'] : []), 'unknown']
    kinds['query: bad value'] = () => {
      const name = rng.pick(queryTargets)
      const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
      const bad = rng.pick([
        '%00',
        'a%00',
        '2147483648',
        '9007199254740993',
        '1e308',
        '-1',
        'NaN',
        'Infinity',
        '0x10',
        '1.5',
        '',
        'x'.repeat(5000),
        cursor({ t: '-271821-04-20T00:00:00.000Z', id: rng.uuid() }),
        cursor({ t: '+275760-09-13T00:00:00.000Z', id: rng.uuid() }),
        cursor({ t: 5, id: [] }),
        cursor([1, 2]),
      ])
      const sep = o.path.includes('?') ? '&' : '?'
      const dup = rng.chance(0.2) ? `&${name}=1` : ''
      return withBody(`query ${name}=${bad.slice(0, 60)}${dup}`, validRaw(), `${fill()}${sep}${name}=${bad}${dup}`)
    }
    kinds['header: bad credentials'] = async () => {
      const options: [string, Record<string, string>][] = (await badBearers(f, rng)).map((a) => [`authorization: ${a.slice(0, 60)}`, { authorization: a }])
      if (o.auth === 'session' || o.auth === 'logout' || o.auth === 'admin')
        options.push(
          ['no authorization, a garbage cookie', { cookie: 'intl_session=garbage' }],
          ['no authorization, the session as a cookie from another site', { cookie: `intl_session=${f.customer.token}`, 'sec-fetch-site': 'cross-site' }],
        )
      if (o.auth === 'widget')
        options.push(
          ['no product key', { 'x-product-key': '' }],
          ['a malformed product key', { 'x-product-key': 'chat_123' }],
          ['an unknown product key', { 'x-product-key': wellFormedKey('chat', rng) }],
          ['a secret key as product key', { 'x-product-key': wellFormedKey('data', rng) }],
          ['a huge product key', { 'x-product-key': 'k'.repeat(8000) }],
          ['a foreign origin', { origin: 'https://evil.example' }],
          ['origin null', { origin: 'null' }],
          ['origin garbage', { origin: 'not a url at all' }],
        )
      const [label, headers] = rng.pick(options)
      const raw = validRaw()
      const attempt = withBody(`header ${label}`, raw)
      const merged = { ...attempt.headers, ...headers }
      for (const [k, v] of Object.entries(merged)) if (v === '') delete merged[k]
      return { ...attempt, headers: merged }
    }
    kinds['header: other bad headers'] = () => {
      const options: [string, Record<string, string>][] = [
        ['idempotency-key empty', { 'idempotency-key': '' }],
        ['idempotency-key 300 chars', { 'idempotency-key': 'k'.repeat(300) }],
        ['idempotency-key latin1', { 'idempotency-key': 'clé-ÿ' }],
        ['last-event-id 2^31', { 'last-event-id': '2147483648' }],
        ['last-event-id 2^53', { 'last-event-id': '9007199254740993' }],
        ['last-event-id -1', { 'last-event-id': '-1' }],
        ['last-event-id 1e308', { 'last-event-id': '1e308' }],
        ['last-event-id garbage', { 'last-event-id': 'abc' }],
        ['x-forwarded-for garbage', { 'x-forwarded-for': `${'9'.repeat(2000)}, ::ffff:zz` }],
        ['x-request-id garbage', { 'x-request-id': 'r'.repeat(5000) }],
      ]
      if (o.takesBody)
        options.push(
          ['content-type text/plain', { 'content-type': 'text/plain' }],
          ['content-type utf-16', { 'content-type': 'application/json; charset=utf-16' }],
          ['content-type multipart', { 'content-type': 'multipart/form-data; boundary=x' }],
          ['content-type urlencoded', { 'content-type': 'application/x-www-form-urlencoded' }],
          ['content-type jsonx', { 'content-type': 'application/jsonx' }],
          ['content-length lies', { 'content-length': '999999999' }],
        )
      const [label, headers] = rng.pick(options)
      const attempt = withBody(`header ${label}`, validRaw())
      const merged = { ...attempt.headers, ...headers }
      for (const [k, v] of Object.entries(merged)) if (v === '' && k !== 'idempotency-key') delete merged[k]
      return { ...attempt, headers: merged }
    }

    // Every kind once (in a seeded order), then seeded picks for the rest of the budget.
    const names = rng.shuffle(Object.keys(kinds))
    while (names.length < CASES_PER_OPERATION) names.push(rng.pick(Object.keys(kinds)))
    const out: Attempt[] = []
    for (const name of names) out.push(await (kinds[name] as () => Promise<Attempt> | Attempt)())
    return out
  }

  async function send(o: Op, a: Attempt): Promise<{ status: number; text: string; contentType: string }> {
    const headers = new Headers()
    for (const [k, v] of Object.entries(a.headers)) headers.set(k, v)
    const body = typeof a.body === 'string' || a.body === undefined ? a.body : new Blob([new Uint8Array(a.body)])
    const res = await app.app.request(a.path, { method: a.method, headers, ...(body !== undefined ? { body } : {}) })
    const contentType = res.headers.get('content-type') ?? ''
    if (o.sse && contentType.includes('text/event-stream')) {
      // A stream that opened is a success; only its status matters here.
      await res.body?.cancel()
      return { status: res.status, text: '', contentType }
    }
    return { status: res.status, text: await res.text(), contentType }
  }

  for (const o of ops) {
    it(`${o.method} ${o.path}`, { timeout: 60_000 }, async () => {
      const failures: string[] = []
      for (const a of await attemptsFor(o)) {
        const shown = `${a.method} ${a.path.slice(0, 200)} — ${a.label.slice(0, 200)}\n    headers ${JSON.stringify(a.headers).slice(0, 300)}\n    body ${
          a.body === undefined ? '(none)' : typeof a.body === 'string' ? JSON.stringify(a.body.slice(0, 300)) : `<${a.body.length} bytes>`
        }`
        let result: Awaited<ReturnType<typeof send>>
        try {
          result = await send(o, a)
        } catch (err) {
          failures.push(`threw ${String(err)}: ${shown}`)
          continue
        }
        if (result.status >= 500) {
          failures.push(`${result.status} ${result.text.slice(0, 200)}: ${shown}`)
        } else if (result.status >= 400) {
          // Every refusal is the JSON error envelope (SPEC "Errors").
          let code: unknown
          try {
            code = (JSON.parse(result.text) as { error?: { code?: unknown } }).error?.code
          } catch {}
          if (typeof code !== 'string' || !result.contentType.includes('application/json'))
            failures.push(`${result.status} without the error envelope (${result.contentType}) ${result.text.slice(0, 120)}: ${shown}`)
        }
      }
      expect(failures, `seed ${SEED}\n${failures.join('\n')}`).toEqual([])
    })
  }
})
