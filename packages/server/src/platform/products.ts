// The four products, their key prefixes and whether their keys may appear in web pages.
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
