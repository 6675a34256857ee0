// Per-product settings (widget look, reply engine, sales questions), stored as JSON per license and product.

import type { Kysely } from 'kysely'
import { z } from 'zod'
import type { Database } from '../platform/db.js'
import type { Product } from '../platform/products.js'

export const ENGINES = ['knowledge', 'webhook', 'openai'] as const

/** True for hosts a customer must not point the server at: loopback, private, link-local, metadata. */
export function isPrivateHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '')
  if (h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.local') || h.endsWith('.internal')) return true
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h)
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])]
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127)
    )
  }
  return h === '::1' || h === '::' || h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe80') || h.startsWith('::ffff:')
}

/** An outbound URL a customer configures (n8n, OpenAI-compatible): public hosts only, so the server cannot be aimed inward. */
const outboundUrl = z
  .url({ protocol: /^https?$/ })
  // zod runs refinements even after the url check failed, and new URL() throws on what that check refused.
  .refine((u) => URL.canParse(u) && !isPrivateHost(new URL(u).hostname), 'must be a public http(s) URL (private and loopback hosts are refused)')

export const settingsSchema = z.strictObject({
  botName: z.string().min(1).max(60).default('Assistant'),
  greeting: z.string().max(500).default('Hi! How can I help you today?'),
  color: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be a #rrggbb colour')
    .default('#4f46e5'),
  position: z.enum(['bottom-right', 'bottom-left']).default('bottom-right'),
  engine: z.enum(ENGINES).default('knowledge'),
  /** Minimum retrieval confidence (0–1) before the knowledge engine answers instead of falling back. */
  threshold: z.number().min(0).max(1).default(0.35),
  fallback: z.string().max(500).default("I'm not sure about that one. Leave your email and a person from our team will get back to you."),
  webhook: z
    .strictObject({ url: outboundUrl, timeoutMs: z.number().int().min(500).max(30_000).default(8_000) })
    .nullable()
    .default(null),
  openai: z
    .strictObject({
      baseUrl: outboundUrl.default('https://api.openai.com/v1'),
      model: z.string().min(1).max(100).default('gpt-4o-mini'),
      systemPrompt: z.string().max(4000).default('You are a helpful assistant for this website. Answer briefly.'),
    })
    .nullable()
    .default(null),
  sales: z
    .strictObject({
      questions: z.array(z.string().min(1).max(200)).max(10).default([]),
      consentText: z.string().max(500).default('I agree to be contacted about my enquiry.'),
    })
    .default({ questions: [], consentText: 'I agree to be contacted about my enquiry.' }),
})

export type ProductSettings = z.infer<typeof settingsSchema>
export const settingsPatchSchema = settingsSchema.partial()

const SALES_DEFAULTS: Partial<ProductSettings> = {
  botName: 'Sales assistant',
  greeting: 'Hi! Looking for the right plan? I can help you find it.',
  sales: { questions: ['What are you looking to achieve?', 'How large is your team?'], consentText: 'I agree to be contacted about my enquiry.' },
}

export function defaultSettings(product: Product | string): ProductSettings {
  return settingsSchema.parse(product === 'sales-agent' ? SALES_DEFAULTS : {})
}

// Settings are read on every widget call; a short per-database memo spares a query each time. Saving on this
// instance clears it at once; other instances catch up within SETTINGS_TTL_MS (settings are not security state).
const SETTINGS_TTL_MS = 5_000
const memo = new WeakMap<object, Map<string, { value: ProductSettings; until: number }>>()
const memoFor = (db: object) => {
  let m = memo.get(db)
  if (!m) {
    m = new Map()
    memo.set(db, m)
  }
  return m
}

export async function getSettings(db: Kysely<Database>, licenseId: string, product: string): Promise<ProductSettings> {
  const m = memoFor(db)
  const hit = m.get(`${licenseId}:${product}`)
  if (hit && hit.until > Date.now()) return hit.value
  const row = await db.selectFrom('product_settings').select('settings').where('license_id', '=', licenseId).where('product', '=', product).executeTakeFirst()
  const value = { ...defaultSettings(product), ...(row?.settings ?? {}) } as ProductSettings
  if (m.size > 10_000) m.clear()
  m.set(`${licenseId}:${product}`, { value, until: Date.now() + SETTINGS_TTL_MS })
  return value
}

export async function saveSettings(db: Kysely<Database>, licenseId: string, product: string, patch: Partial<ProductSettings>): Promise<ProductSettings> {
  memoFor(db).delete(`${licenseId}:${product}`)
  const next = settingsSchema.parse({ ...(await getSettings(db, licenseId, product)), ...patch })
  await db
    .insertInto('product_settings')
    .values({ license_id: licenseId, product, settings: JSON.stringify(next) })
    .onConflict((oc) => oc.columns(['license_id', 'product']).doUpdateSet({ settings: JSON.stringify(next), updated_at: new Date() }))
    .execute()
  memoFor(db).delete(`${licenseId}:${product}`)
  return next
}
