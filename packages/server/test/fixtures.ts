// Shared test steps: a license, a registered customer, a configured product.
import { randomBytes } from 'node:crypto'
import { issueLicense } from '../src/licenses/queries.js'
import type { Cache } from '../src/platform/cache.js'
import type { Tier } from '../src/platform/config.js'
import type { Product } from '../src/platform/products.js'
import { signIntelagent } from '../src/platform/signature.js'
import type { ReplyContext, ReplySink } from '../src/replies/types.js'
import { defaultSettings, type ProductSettings } from '../src/settings/settings.js'
import { N8N_SECRET, type TestApp } from './harness.js'

export const uniqueEmail = (tag = 'user'): string => `${tag}-${randomBytes(5).toString('hex')}@example.com`

export async function newLicense(app: TestApp, options: { email?: string; products?: Product[]; tier?: Tier } = {}) {
  const { license } = await issueLicense(app.deps.db, {
    source: 'cli',
    orderId: `order-${randomBytes(6).toString('hex')}`,
    email: options.email ?? uniqueEmail(),
    products: options.products ?? ['chatbot', 'sales-agent', 'data-enrichment', 'setup-agent'],
    tier: options.tier ?? 'professional',
  })
  return license
}

export interface Customer {
  token: string
  email: string
  licenseKey: string
  licenseId: string
}

/** A documentation-range address per call, so fixtures never trip the per-IP registration limit. */
let ipCounter = 0
export const uniqueIp = (): string => {
  ipCounter++
  return `198.51.${100 + (ipCounter >> 8)}.${ipCounter & 255}`
}

export async function newCustomer(app: TestApp, options: Parameters<typeof newLicense>[1] = {}): Promise<Customer> {
  const license = await newLicense(app, options)
  const res = await app.request('/api/auth/register', {
    method: 'POST',
    headers: { 'x-forwarded-for': uniqueIp() },
    json: { email: license.email, password: 'correct horse battery', license_key: license.key },
  })
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`)
  const body = (await res.json()) as { token: string }
  return { token: body.token, email: license.email, licenseKey: license.key, licenseId: license.id }
}

export async function configure(app: TestApp, customer: Customer, product: Product, body: Record<string, unknown> = {}) {
  const res = await app.request(`/api/products/${product}/configure`, { method: 'POST', token: customer.token, json: body })
  if (res.status !== 201 && res.status !== 200) throw new Error(`configure failed: ${res.status} ${await res.text()}`)
  return (await res.json()) as { id: string; key: string; embedCode?: string; allowedOrigins: string[] }
}

export function n8nSigned(body: unknown, nowMs = Date.now(), secret = N8N_SECRET): { raw: string; signature: string } {
  const raw = JSON.stringify(body)
  return { raw, signature: signIntelagent(secret, raw, Math.floor(nowMs / 1000)) }
}

/** Wraps a cache so that writes to keys with this prefix wait until released. */
export function heldWrites(cache: Cache, prefix: string) {
  let release = () => {}
  let reach = () => {}
  const gate = new Promise<void>((r) => {
    release = r
  })
  const reached = new Promise<void>((r) => {
    reach = r
  })
  const held = new Proxy(cache, {
    get(t, prop) {
      if (prop === 'set')
        return async (key: string, value: string, ttl: number) => {
          if (key.includes(prefix)) {
            reach()
            await gate
          }
          return t.set(key, value, ttl)
        }
      const v = Reflect.get(t, prop, t)
      return typeof v === 'function' ? v.bind(t) : v
    },
  })
  return { cache: held, reached, release }
}

/** Retries an assertion for up to a second (pub/sub delivery is asynchronous). */
export async function eventually(check: () => Promise<unknown>): Promise<void> {
  const deadline = performance.now() + 1000
  for (;;) {
    try {
      await check()
      return
    } catch (err) {
      if (performance.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 20))
    }
  }
}

/** Wraps a cache so that every value written through it is kept: what Redis (or the in-process map) holds at rest. */
export function recordedWrites(cache: Cache) {
  const writes: { key: string; value: string }[] = []
  const recording = new Proxy(cache, {
    get(t, prop) {
      if (prop === 'set' || prop === 'setIfAbsent')
        return (key: string, value: string, ttl: number) => {
          writes.push({ key, value })
          return prop === 'set' ? t.set(key, value, ttl) : t.setIfAbsent(key, value, ttl)
        }
      const v = Reflect.get(t, prop, t)
      return typeof v === 'function' ? v.bind(t) : v
    },
  })
  return { cache: recording, writes }
}

/** A reply engine's sink that drops typing and streamed tokens. */
export const silentSink: ReplySink = { typing: () => {}, token: () => {} }

/** What a reply engine gets for a visitor's `text` (second message of a made-up conversation). */
export function replyContext(licenseId: string, text: string, settings: Partial<ProductSettings> = {}, product = 'chatbot'): ReplyContext {
  return {
    licenseId,
    product,
    conversationId: '00000000-0000-4000-8000-000000000000',
    settings: { ...defaultSettings(product), ...settings },
    history: [{ role: 'visitor', text }],
    message: { id: '00000000-0000-4000-8000-000000000001', seq: 2, text },
    signal: new AbortController().signal,
  }
}

/** With Redis, the number of keys of each call of one of the limiter connection's scripts (nothing counted in process). */
export function countScriptCalls(cache: Cache, script: 'intlRateLimit' | 'intlMeter') {
  const keys: number[] = []
  const limiter = cache.kind === 'redis' ? (cache as unknown as { limiter: Record<string, (...a: unknown[]) => Promise<unknown>> }).limiter : undefined
  const original = limiter?.[script]
  if (limiter && original)
    limiter[script] = (...args: unknown[]) => {
      keys.push(args[0] as number)
      return original.apply(limiter, args)
    }
  return {
    keys,
    counted: original !== undefined,
    restore: () => {
      if (limiter && original) limiter[script] = original
    },
  }
}
