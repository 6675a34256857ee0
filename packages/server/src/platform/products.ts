// The four products, their key prefixes and whether their keys may appear in web pages; the product enums and
// path parameters every capability's wire shapes share.
import { z } from '@hono/zod-openapi'

export const PRODUCTS = ['chatbot', 'sales-agent', 'data-enrichment', 'setup-agent'] as const
export type Product = (typeof PRODUCTS)[number]

export const KEY_PREFIX = { chatbot: 'chat', 'sales-agent': 'sale', 'data-enrichment': 'data', 'setup-agent': 'agnt' } as const satisfies Record<
  Product,
  string
>
export type KeyPrefix = (typeof KEY_PREFIX)[Product]

export const PRODUCT_BY_PREFIX: Record<KeyPrefix, Product> = { chat: 'chatbot', sale: 'sales-agent', data: 'data-enrichment', agnt: 'setup-agent' }

export const isPublishable = (p: Product): boolean => p === 'chatbot' || p === 'sales-agent'
export const isProduct = (v: string): v is Product => (PRODUCTS as readonly string[]).includes(v)

export const ProductSchema = z.enum(PRODUCTS).openapi('Product')
export const WidgetProductSchema = z.enum(['chatbot', 'sales-agent']).openapi('WidgetProduct')
/** Products with integration secrets: the widget products' reply engines, data enrichment's firmographics webhook. */
export const SecretProductSchema = z.enum(['chatbot', 'sales-agent', 'data-enrichment']).openapi('SecretProduct')
export const SECRET_NAMES = ['webhook_signing_secret', 'openai_api_key', 'identity_secret'] as const
export const SecretNameSchema = z.enum(SECRET_NAMES).openapi('SecretName')

export const productParam = z.object({ product: ProductSchema })
export const widgetProductParam = z.object({ product: WidgetProductSchema })
export const secretProductParam = z.object({ product: SecretProductSchema })

/** The secret that signs user ids for the widget's identify (widget/identity.ts checks it). */
export const IDENTITY_SECRET = 'identity_secret' satisfies (typeof SECRET_NAMES)[number]
