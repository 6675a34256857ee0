// Wire shapes of /api/products (keys, configure, settings, knowledge, secrets): request bodies and every success
// answer, registered as named components of the OpenAPI document (the SDK's wire types are generated from them).
import { z } from '@hono/zod-openapi'
import {
  IDENTITY_SECRET,
  ProductSchema,
  productParam,
  SECRET_NAMES,
  SecretNameSchema,
  SecretProductSchema,
  secretProductParam,
  WidgetProductSchema,
  widgetProductParam,
} from '../platform/products.js'
import { ENGINES, settingsPatchSchema, WIDGET_LOCALES } from '../settings/settings.js'

const dateTime = z.iso.datetime({ offset: true })
const nullableDateTime = dateTime.nullable()

export const keyIdParam = z.object({ id: z.uuid() })

export const originSchema = z
  .string()
  .max(255)
  .regex(/^https?:\/\/(\*\.)?[a-zA-Z0-9.-]+(:\d{1,5})?$/, 'must be an origin like https://example.com or https://*.example.com')
  .openapi({ example: 'https://*.example.com' })

export const ProductKeySchema = z
  .object({
    id: z.uuid(),
    product: ProductSchema,
    kind: z.enum(['publishable', 'secret']),
    key: z.string().nullable().openapi({ description: 'The key itself for publishable keys; null for secret keys (shown once, at creation)' }),
    start: z.string().openapi({ description: 'The first characters, for display', example: 'chat_3Fq9' }),
    allowedOrigins: z.array(z.string()).openapi({ description: 'Origins a publishable key serves; empty = any' }),
    status: z.enum(['active', 'revoked', 'expired']),
    expiresAt: nullableDateTime,
    replacedBy: z.uuid().nullable(),
    createdAt: dateTime,
    lastUsedAt: nullableDateTime,
  })
  .openapi('ProductKey')

export const ProductKeyListSchema = z.object({ keys: z.array(ProductKeySchema) }).openapi('ProductKeyList')

/** What settings hold after defaults are applied (settingsSchema with every field present). */
export const ProductSettingsSchema = z
  .object({
    botName: z.string(),
    greeting: z.string(),
    color: z.string().openapi({ description: '#rrggbb', example: '#4f46e5' }),
    position: z.enum(['bottom-right', 'bottom-left']),
    suggestions: z.array(z.string()).openapi({ description: 'Suggested questions the widget shows as buttons until the visitor’s first message' }),
    locale: z.enum(WIDGET_LOCALES).openapi({ description: 'The widget’s own strings; auto = the visitor’s browser language' }),
    engine: z.enum(ENGINES).openapi({ description: 'webhook and openai need a plan with AI engines (403 plan_feature_required otherwise)' }),
    branding: z.boolean().openapi({ description: 'The widget’s “Powered by Intelagent” line; false needs a plan that removes branding' }),
    threshold: z.number().min(0).max(1).openapi({ description: 'Minimum retrieval confidence before the knowledge engine answers' }),
    fallback: z.string().openapi({ description: 'What the bot says when it does not know; the conversation then waits for a person' }),
    autoCloseHours: z.number().int().min(0).max(720).openapi({ description: 'Hours without a message before a conversation closes itself; 0 = never' }),
    webhook: z.object({ url: z.string(), timeoutMs: z.number().int() }).nullable(),
    openai: z.object({ baseUrl: z.string(), model: z.string(), systemPrompt: z.string() }).nullable(),
    sales: z.object({ questions: z.array(z.string()), consentText: z.string() }),
    enrichment: z.object({ webhookUrl: z.string(), timeoutMs: z.number().int() }).nullable(),
  })
  .openapi('ProductSettings')

export const SettingsPatchSchema = settingsPatchSchema.openapi('SettingsPatch')

export const SettingsResponseSchema = z.object({ product: ProductSchema, settings: ProductSettingsSchema }).openapi('SettingsResponse')

export const ConfigureInputSchema = z
  .strictObject({
    allowedOrigins: z.array(originSchema).max(50).optional(),
    settings: SettingsPatchSchema.optional(),
    newKey: z.boolean().optional().openapi({ description: 'Issue a fresh key even when an active publishable key exists' }),
  })
  .openapi('ConfigureInput')

const embedCode = z.string().openapi({ description: 'The script tag to paste (widget products)' })

export const ConfigureResponseSchema = ProductKeySchema.extend({
  key: z.string().openapi({ description: 'The full key (secret keys: shown only in this response)' }),
  settings: ProductSettingsSchema,
  embedCode: embedCode.optional(),
}).openapi('ConfigureResponse')

export const RotateInputSchema = z
  .strictObject({
    gracePeriodSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86400)
      .default(86400)
      .openapi({ description: 'How long the old key keeps working (0 revokes it at once)' }),
  })
  .openapi('RotateInput')

export const RotateResponseSchema = ProductKeySchema.extend({
  key: z.string(),
  previous: z.object({ id: z.uuid(), expiresAt: dateTime }),
  embedCode: embedCode.optional(),
}).openapi('RotateResponse')

export const OriginsInputSchema = z.strictObject({ allowedOrigins: z.array(originSchema).max(50) }).openapi('OriginsInput')

// Integration secrets

export const SecretInputSchema = z.strictObject({ value: z.string().min(8).max(500) }).openapi('SecretInput')

export const SecretResponseSchema = z
  .object({ name: SecretNameSchema, hint: z.string().openapi({ description: 'The last characters only: secrets are never returned' }) })
  .openapi('SecretResponse')

export const StoredSecretSchema = SecretResponseSchema.extend({ updatedAt: dateTime }).openapi('StoredSecret')
export const StoredSecretListSchema = z.object({ secrets: z.array(StoredSecretSchema) }).openapi('StoredSecretList')

export const GeneratedSecretSchema = SecretResponseSchema.extend({
  secret: z.string().openapi({ description: 'The new secret, returned this once; it signs user ids for the widget’s identify' }),
}).openapi('GeneratedSecret')

export {
  IDENTITY_SECRET,
  ProductSchema,
  productParam,
  SECRET_NAMES,
  SecretNameSchema,
  SecretProductSchema,
  secretProductParam,
  WidgetProductSchema,
  widgetProductParam,
}
