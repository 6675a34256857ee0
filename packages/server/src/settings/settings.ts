// Per-product settings (widget look, reply engine, sales questions), stored as JSON per license and product.

import { z } from '@hono/zod-openapi'
import type { Deps } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { type Feature, hasFeature, requireFeature } from '../platform/features.js'
import { boundedSet } from '../platform/memo.js'
import { OutboundError } from '../platform/outbound.js'
import type { Plans } from '../platform/plans.js'
import type { Product } from '../platform/products.js'

export const ENGINES = ['knowledge', 'webhook', 'openai'] as const
/** Languages the widget has its own strings in ('auto' = the visitor's browser language). */
export const WIDGET_LOCALES = ['auto', 'en', 'de', 'fr', 'es', 'nl', 'pt', 'it', 'ar', 'he'] as const

/**
 * An outbound URL a customer configures (n8n, OpenAI-compatible). The schema only bounds its size: whether it is a
 * public http(s) URL is decided by the outbound client when it is saved (`saveSettings`) and again at every call,
 * so a bad one answers 400 `url_not_allowed` rather than a schema error.
 */
const outboundUrl = z.string().trim().min(1).max(2048).describe('A public http(s) URL; private, loopback and metadata addresses are refused')

export const MAX_SUGGESTIONS = 5
export const MAX_SUGGESTION_LENGTH = 120

/** Suggested questions, as the owner (dashboard, API) or the setup agent's apply step saves them. */
export const suggestionsSchema = z
  .array(
    z
      .string()
      .trim()
      .min(1, 'a suggested question cannot be empty')
      .max(MAX_SUGGESTION_LENGTH, `a suggested question has at most ${MAX_SUGGESTION_LENGTH} characters`),
  )
  .max(MAX_SUGGESTIONS, `at most ${MAX_SUGGESTIONS} suggested questions`)
  .refine((qs) => new Set(qs.map((q) => q.toLowerCase())).size === qs.length, 'the same suggested question is there twice')
  .openapi({
    description: `Shown by the widget as buttons under the greeting until the visitor’s first message: at most ${MAX_SUGGESTIONS}, each 1–${MAX_SUGGESTION_LENGTH} characters, no repeats`,
    example: ['What are your opening hours?', 'Do you ship abroad?'],
  })

export const settingsSchema = z.strictObject({
  botName: z.string().min(1).max(60).default('Assistant'),
  greeting: z.string().max(500).default('Hi! How can I help you today?'),
  color: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be a #rrggbb colour')
    .default('#4f46e5'),
  position: z.enum(['bottom-right', 'bottom-left']).default('bottom-right'),
  /** Questions the widget offers as buttons until the visitor's first message (the setup agent proposes them). */
  suggestions: suggestionsSchema.default([]),
  /** The widget's own strings (buttons, labels, errors); the page's Intelagent('setLocale') wins over it. */
  locale: z.enum(WIDGET_LOCALES).default('auto'),
  /** knowledge answers on every plan; webhook and openai need a plan with the aiEngines feature. */
  engine: z.enum(ENGINES).default('knowledge'),
  /** The widget's "Powered by Intelagent" line; turning it off needs a plan with the removeBranding feature. */
  branding: z.boolean().default(true),
  /** Minimum retrieval confidence (0–1) before the knowledge engine answers instead of falling back. */
  threshold: z.number().min(0).max(1).default(0.35),
  fallback: z.string().max(500).default("I'm not sure about that one. Leave your email and a person from our team will get back to you."),
  /** Hours without a message after which a conversation closes itself (0 = never); docs/conversation-lifecycle.md. */
  autoCloseHours: z.number().int().min(0).max(720).default(24),
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
  /** Data enrichment: the customer's own firmographics endpoint (optional), signed with the product's webhook_signing_secret. */
  enrichment: z
    .strictObject({ webhookUrl: outboundUrl, timeoutMs: z.number().int().min(200).max(10_000).default(3_000) })
    .nullable()
    .default(null),
})

export type ProductSettings = z.infer<typeof settingsSchema>

/** What a settings change asks of the plan: an AI engine, or the widget without its branding line. */
export function settingsFeatures(patch: Partial<ProductSettings>): Feature[] {
  const needs: Feature[] = []
  if (patch.engine === 'webhook' || patch.engine === 'openai') needs.push('aiEngines')
  if (patch.branding === false) needs.push('removeBranding')
  return needs
}

/** Refuses (403 plan_feature_required) a change the license's plan does not include; other fields save as ever. */
export function requireSettingsFeatures(plans: Plans, tier: string, patch: Partial<ProductSettings>): void {
  for (const f of settingsFeatures(patch)) requireFeature(plans, tier, f)
}

/**
 * The settings as the widget and the reply engines apply them on this plan: after a downgrade a saved AI engine
 * answers from knowledge and a hidden branding line shows again, until an upgrade brings them back at once.
 */
export function effectiveSettings(plans: Plans, tier: string, s: ProductSettings): ProductSettings {
  const engine = s.engine !== 'knowledge' && !hasFeature(plans, tier, 'aiEngines') ? 'knowledge' : s.engine
  const branding = s.branding || !hasFeature(plans, tier, 'removeBranding')
  return engine === s.engine && branding === s.branding ? s : { ...s, engine, branding }
}
/**
 * A change to some settings: every field optional and none defaulted. (Zod 4 applies a default inside an optional
 * field, so `settingsSchema.partial()` would turn `{botName}` into every other field reset to its default.)
 */
const patchShape = Object.fromEntries(
  Object.entries(settingsSchema.shape).map(([k, field]) => [k, (field instanceof z.ZodDefault ? field.unwrap() : field).optional()]),
) as unknown as { [K in keyof typeof settingsSchema.shape]: z.ZodOptional<z.ZodType<ProductSettings[K]>> }
export const settingsPatchSchema = z.strictObject(patchShape)

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
const SETTINGS_MAX = 10_000
type SettingsDeps = Pick<Deps, 'db' | 'clock' | 'memo'>
const memoFor = (deps: Pick<Deps, 'memo'>) => deps.memo.slot('settings', () => new Map<string, { value: ProductSettings; until: number }>())

export async function getSettings(deps: SettingsDeps, licenseId: string, product: string): Promise<ProductSettings> {
  const { db } = deps
  const m = memoFor(deps)
  const hit = m.get(`${licenseId}:${product}`)
  if (hit && hit.until > deps.clock.now()) return hit.value
  const row = await db.selectFrom('product_settings').select('settings').where('license_id', '=', licenseId).where('product', '=', product).executeTakeFirst()
  const value = { ...defaultSettings(product), ...(row?.settings ?? {}) } as ProductSettings
  boundedSet(m, `${licenseId}:${product}`, { value, until: deps.clock.now() + SETTINGS_TTL_MS }, SETTINGS_MAX)
  return value
}

/** Refuses a URL the server must not call; a name that does not resolve yet is accepted (every call checks again). */
async function assertOutboundUrl(deps: Pick<Deps, 'outbound'>, field: string, url: string): Promise<void> {
  try {
    await deps.outbound.checkUrl(url)
  } catch (err) {
    if (err instanceof OutboundError && err.code === 'network') return
    if (err instanceof OutboundError && err.code === 'url_not_allowed') {
      const why = err.resolvedAddress === undefined ? err.message : 'its host resolves to a loopback, private, link-local or otherwise non-public address'
      throw new AppError('url_not_allowed', `${field}: must be a public http(s) URL (${why})`)
    }
    throw err
  }
}

/**
 * The saved settings with the patch applied. A saved field that a later release validates more strictly (a rule
 * tightened) and that the patch does not touch goes back to its default instead of failing the whole save; a bad
 * value in the patch itself is the caller's 422.
 */
export function mergeSettings(product: string, saved: ProductSettings, patch: Partial<ProductSettings>): ProductSettings {
  const merged: Record<string, unknown> = { ...saved, ...patch }
  const first = settingsSchema.safeParse(merged)
  if (first.success) return first.data
  const defaults = defaultSettings(product) as Record<string, unknown>
  for (const issue of first.error.issues) {
    // A field an older release saved and this one no longer knows is dropped.
    if (issue.code === 'unrecognized_keys' && issue.path.length === 0) {
      for (const k of issue.keys) if (!Object.hasOwn(patch, k)) delete merged[k]
      continue
    }
    const field = String(issue.path[0] ?? '')
    if (Object.hasOwn(patch, field) || !Object.hasOwn(defaults, field)) {
      throw new AppError('validation_failed', `${issue.path.join('.') || 'settings'}: ${issue.message}`)
    }
    merged[field] = defaults[field]
  }
  return settingsSchema.parse(merged)
}

export async function saveSettings(
  deps: Pick<Deps, 'db' | 'outbound' | 'clock' | 'memo'>,
  licenseId: string,
  product: string,
  patch: Partial<ProductSettings>,
): Promise<ProductSettings> {
  const { db } = deps
  memoFor(deps).delete(`${licenseId}:${product}`)
  const next = mergeSettings(product, await getSettings(deps, licenseId, product), patch)
  if (patch.webhook && next.webhook) await assertOutboundUrl(deps, 'webhook.url', next.webhook.url)
  if (patch.openai && next.openai) await assertOutboundUrl(deps, 'openai.baseUrl', next.openai.baseUrl)
  if (patch.enrichment && next.enrichment) await assertOutboundUrl(deps, 'enrichment.webhookUrl', next.enrichment.webhookUrl)
  await db
    .insertInto('product_settings')
    .values({ license_id: licenseId, product, settings: JSON.stringify(next) })
    .onConflict((oc) => oc.columns(['license_id', 'product']).doUpdateSet({ settings: JSON.stringify(next), updated_at: new Date() }))
    .execute()
  memoFor(deps).delete(`${licenseId}:${product}`)
  return next
}
