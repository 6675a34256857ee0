// Request and response shapes of the Intelagent API. Those of the products, keys, settings, secrets, knowledge,
// conversations, leads and widget routes are the server's OpenAPI document's, generated into generated/openapi.ts
// (`pnpm gen:types`; CI's `pnpm check:types` fails when they drift); the rest are still written by hand.
import type { components } from './generated/openapi.js'

type Schemas = components['schemas']

export type Product = Schemas['Product']
/** Products with a chat widget (publishable keys, conversations, knowledge). */
export type WidgetProduct = Schemas['WidgetProduct']
export type Tier = 'starter' | 'professional' | 'business' | 'enterprise'
export type Role = 'customer' | 'admin'
export type Engine = Schemas['ProductSettings']['engine']
/** The widget's own language; 'auto' follows the visitor's browser. */
export type WidgetLocale = Schemas['ProductSettings']['locale']
export type MessageRole = Schemas['MessageRole']

// ---------------------------------------------------------------------------------------------------------
// Auth

export interface User {
  id: string
  email: string
  role: Role
  licenseKey: string | null
  products: Product[]
  tier: Tier | null
  createdAt: string
}

export interface RegisterParams {
  email: string
  password: string
  /** `INTL-XXXX-XXXX-XXXX`, from the purchase email. */
  licenseKey: string
}

export interface LoginParams {
  email: string
  password: string
}

export interface AuthResponse {
  /** Session JWT; the client uses it for later calls. */
  token: string
  expiresAt: string
  user: User
}

export interface MeResponse {
  user: Omit<User, 'createdAt'> & { id: string | null; email: string | null }
  /** How the caller authenticated: `session`, `api_key` or `product_key`. */
  via: string
}

// ---------------------------------------------------------------------------------------------------------
// Products, keys, settings

export type ProductKey = Schemas['ProductKey']
export type ProductSettings = Schemas['ProductSettings']
export type SettingsPatch = Schemas['SettingsPatch']
export type ConfigureParams = Schemas['ConfigureInput']
export type ConfigureResponse = Schemas['ConfigureResponse']
export type RotateParams = Schemas['RotateInput']
export type RotateResponse = Schemas['RotateResponse']
export type SettingsResponse = Schemas['SettingsResponse']
export type SecretName = Schemas['SecretName']
/** Products with integration secrets: the widget products' reply engines, data enrichment's firmographics webhook. */
export type SecretProduct = Schemas['SecretProduct']
export type SecretResponse = Schemas['SecretResponse']
export type StoredSecret = Schemas['StoredSecret']
export type GeneratedSecret = Schemas['GeneratedSecret']

// ---------------------------------------------------------------------------------------------------------
// API keys (intl_sk_…)

/** What a secret API key may do: one scope per capability and direction (the server's SCOPES). */
export type ApiKeyScope =
  | 'keys:read'
  | 'keys:write'
  | 'keys:revoke'
  | 'settings:read'
  | 'settings:write'
  | 'conversations:read'
  | 'conversations:write'
  | 'leads:read'
  | 'audit:read'
  | 'enrichment:write'

export interface ApiKey {
  id: string
  name: string
  /** The first and last characters (`intl_sk_a…wxyz`), for display: the key itself is shown only at creation. */
  start: string
  scopes: ApiKeyScope[]
  status: 'active' | 'revoked' | 'expired'
  expiresAt: string
  lastUsedAt: string | null
  useCount: number
  createdAt: string
}

export interface CreateApiKeyParams {
  /** 1–100 characters, to tell keys apart ("CI deploy", "CRM sync"). */
  name: string
  /** At least one. */
  scopes: ApiKeyScope[]
  /** 1–3650; default 365. */
  expiresInDays?: number
}

export interface CreatedApiKey extends ApiKey {
  /** The full `intl_sk_…` key: returned only in this response, store it now. */
  key: string
}

// ---------------------------------------------------------------------------------------------------------
// Knowledge

export type KnowledgeInput = Schemas['KnowledgeInput']
export type KnowledgeItem = Schemas['KnowledgeItem']

// ---------------------------------------------------------------------------------------------------------
// Conversations and leads

export type Message = Schemas['Message']
export type Conversation = Schemas['Conversation']
export type ConversationSummary = Schemas['ConversationSummary']
export type ConversationDetail = Schemas['ConversationDetail']
export type Lead = Schemas['Lead']

export interface PageParams {
  /** Items per page, 1–100 (server default 25). */
  limit?: number
  cursor?: string
}

/** What `GET /api/events` streams to the dashboard. */
export type LiveEvent =
  | { type: 'ready' }
  | { type: 'conversation.created'; conversationId: string; product: WidgetProduct }
  | { type: 'message.created'; conversationId: string; product: WidgetProduct; message: Message }
  | { type: 'lead.created'; leadId: string; product: WidgetProduct; conversationId: string | null }

// ---------------------------------------------------------------------------------------------------------
// Audit and operators

export interface AuditEntry {
  id: string
  actor: string | null
  /** 'session' for a logged-in person, the key's prefix (`intl_sk`, `agnt`, `data`) when a key acted, null otherwise. */
  actorKind: string | null
  /** The id of the key that acted (an API key or a product key). */
  actorKeyId: string | null
  action: string
  target: string | null
  ip: string | null
  meta: Record<string, unknown>
  createdAt: string
}

export type LicenseStatus = 'active' | 'suspended' | 'revoked'

export interface License {
  id: string
  key: string
  email: string
  products: Product[]
  tier: Tier
  status: LicenseStatus
  source: string
  orderId: string | null
  claimed: boolean
  createdAt: string
}

export type JobStatus = 'queued' | 'running' | 'done' | 'dead'

/** A durable job as operators see it (never its payload). */
export interface Job {
  /** `job_` + 24 base62 characters. */
  id: string
  /** What it does, e.g. `squarespace.order`, `conversation.reply`, `event.<consumer>`. */
  name: string
  status: JobStatus
  attempts: number
  maxAttempts: number
  runAt: string
  /** The worker holding it while it runs (`host:pid:random`). */
  lockedBy: string | null
  lockedUntil: string | null
  lastError: string | null
  createdAt: string
  updatedAt: string
}

// ---------------------------------------------------------------------------------------------------------
// Widget (public, product key)

export type WidgetConfig = Schemas['WidgetConfig']
export type StartConversationParams = Schemas['StartConversationInput']
export type StartConversationResponse = Schemas['StartConversationResponse']
export type SendMessageResponse = Schemas['SendMessageResponse']
export type LeadParams = Schemas['LeadInput']

// Data enrichment

/** At least one field. The email's domain wins over `domain`. */
export interface EnrichInput {
  email?: string
  domain?: string
  ip?: string
  userAgent?: string
  referrer?: string
  pageUrl?: string
}

export type TrafficChannel = 'paid' | 'email' | 'social' | 'search' | 'referral' | 'direct' | 'other' | 'unknown'

export interface EnrichCompany {
  name: string
  domain: string
  /** `known`: the built-in list; `guessed`: title-cased from the domain (a guess); `webhook`: your firmographics webhook. */
  basis: 'known' | 'guessed' | 'webhook'
  industry?: string
  size?: string
  employees?: number
  revenue?: string
  country?: string
  website?: string
  linkedin?: string
  description?: string
}

export interface EnrichResult {
  /** The registrable domain of the email (or of `domain`). */
  domain: string | null
  company: EnrichCompany | null
  freeMail: boolean
  disposable: boolean
  roleAddress: boolean
  /** ISO 3166-1 alpha-2, from a public IP address. */
  country: string | null
  device: 'desktop' | 'mobile' | 'tablet' | 'tv' | 'bot' | null
  /** e.g. `Chrome 126` */
  browser: string | null
  os: string | null
  source: {
    channel: TrafficChannel
    /** Host of a referrer from another site. */
    referrer: string | null
    utm: { source?: string; medium?: string; campaign?: string; term?: string; content?: string }
    /** The ad click id parameter on the page URL (gclid, msclkid, fbclid…), by name only. */
    clickId: string | null
  }
  /** Lead quality 0–100; `reasons` explain it. */
  score: number
  reasons: string[]
}

/** An item of a batch that could not be enriched (its input was invalid); the other items are unaffected. */
export interface EnrichItemError {
  error: { code: string; message: string; details?: unknown }
}

export type EnrichBatchItem = EnrichResult | EnrichItemError
