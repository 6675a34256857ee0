// Request and response shapes of the Intelagent API, written to match packages/server's routes.

export type Product = 'chatbot' | 'sales-agent' | 'data-enrichment' | 'setup-agent'
/** Products with a chat widget (publishable keys, conversations, knowledge). */
export type WidgetProduct = 'chatbot' | 'sales-agent'
export type Tier = 'starter' | 'professional' | 'business' | 'enterprise'
export type Role = 'customer' | 'admin'
export type Engine = 'knowledge' | 'webhook' | 'openai'
/** The widget's own language; 'auto' follows the visitor's browser. */
export type WidgetLocale = 'auto' | 'en' | 'de' | 'fr' | 'es' | 'nl' | 'pt' | 'it' | 'ar' | 'he'
export type MessageRole = 'visitor' | 'assistant' | 'agent' | 'system'

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

export interface EmailChangeResponse {
  pending: true
  /** The address the confirmation link went to; the account keeps its email until it is confirmed. */
  newEmail: string
}

export interface MeResponse {
  user: Omit<User, 'createdAt'> & { id: string | null; email: string | null }
  /** How the caller authenticated: `session`, `api_key` or `product_key`. */
  via: string
}

// ---------------------------------------------------------------------------------------------------------
// Products, keys, settings

export interface ProductKey {
  id: string
  product: Product
  kind: 'publishable' | 'secret'
  /** The key itself for publishable keys; null for secret keys (shown once, at creation). */
  key: string | null
  /** The first characters, for display. */
  start: string
  allowedOrigins: string[]
  status: 'active' | 'revoked' | 'expired'
  expiresAt: string | null
  replacedBy: string | null
  createdAt: string
  lastUsedAt: string | null
}

export interface ProductSettings {
  botName: string
  greeting: string
  /** `#rrggbb` */
  color: string
  position: 'bottom-right' | 'bottom-left'
  /** The widget's own strings (buttons, labels, errors); the page's `Intelagent('setLocale')` wins over it. */
  locale: WidgetLocale
  engine: Engine
  /** Minimum retrieval confidence (0–1) before the knowledge engine answers instead of falling back. */
  threshold: number
  fallback: string
  webhook: { url: string; timeoutMs: number } | null
  openai: { baseUrl: string; model: string; systemPrompt: string } | null
  sales: { questions: string[]; consentText: string }
  /** Data enrichment: your firmographics endpoint, called signed with the product's `webhook_signing_secret`. */
  enrichment: { webhookUrl: string; timeoutMs: number } | null
}

export type SettingsPatch = Partial<Omit<ProductSettings, 'webhook' | 'openai' | 'sales' | 'enrichment'>> & {
  webhook?: { url: string; timeoutMs?: number } | null
  openai?: { baseUrl?: string; model?: string; systemPrompt?: string } | null
  sales?: { questions?: string[]; consentText?: string }
  enrichment?: { webhookUrl: string; timeoutMs?: number } | null
}

export interface ConfigureParams {
  /** Origins allowed to use a publishable key, e.g. `https://example.com` or `https://*.example.com`; empty = any. */
  allowedOrigins?: string[]
  settings?: SettingsPatch
  /** Issue a fresh key even when an active publishable key exists. */
  newKey?: boolean
}

export interface ConfigureResponse extends ProductKey {
  /** The full key (secret keys: shown only in this response). */
  key: string
  settings: ProductSettings
  /** The script tag to paste, for widget products. */
  embedCode?: string
}

export interface RotateParams {
  /** How long the old key keeps working (0 revokes it at once). Default 86400. */
  gracePeriodSeconds?: number
}

export interface RotateResponse extends ProductKey {
  key: string
  previous: { id: string; expiresAt: string }
  embedCode?: string
}

export interface SettingsResponse {
  product: Product
  settings: ProductSettings
}

export type SecretName = 'webhook_signing_secret' | 'openai_api_key' | 'identity_secret'
/** Products with integration secrets: the widget products' reply engines, data enrichment's firmographics webhook. */
export type SecretProduct = WidgetProduct | 'data-enrichment'

export interface SecretResponse {
  name: SecretName
  /** The last characters only: secrets are never returned. */
  hint: string
}

export interface StoredSecret extends SecretResponse {
  updatedAt: string
}

export interface GeneratedSecret extends SecretResponse {
  /** The new secret, returned this once; keep it on your server (it signs user ids for the widget's identify). */
  secret: string
}

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

export interface KnowledgeInput {
  kind: 'qa' | 'doc'
  /** The question (qa) or the document's title (doc). */
  title: string
  /** The answer (qa) or the document's text (doc). */
  body: string
}

export interface KnowledgeItem extends KnowledgeInput {
  id: string
  createdAt: string
}

// ---------------------------------------------------------------------------------------------------------
// Conversations and leads

export interface Message {
  id: string
  conversationId: string
  seq: number
  role: MessageRole
  text: string
  clientMessageId: string | null
  createdAt: string
}

export interface Conversation {
  id: string
  product: WidgetProduct
  status: 'open' | 'closed'
  visitorId: string
  pageUrl: string | null
  /** Custom attributes the page set with `Intelagent('update', …)`. */
  attributes: Record<string, string | number | boolean>
  /** The verified user (`Intelagent('identify', …)`), null for an anonymous visitor. */
  user: { id: string; email: string | null; name: string | null } | null
  createdAt: string
  updatedAt: string
}

export interface ConversationSummary extends Conversation {
  lastMessage: { text: string; role: MessageRole; createdAt: string } | null
  messageCount: number
}

export interface ConversationDetail {
  conversation: Conversation
  messages: Message[]
}

export interface Lead {
  id: string
  product: WidgetProduct
  name: string
  email: string
  company: string | null
  message: string | null
  consent: boolean
  answers: Record<string, string> | null
  conversationId: string | null
  createdAt: string
  /** The page the lead was left on. */
  pageUrl: string | null
  /** What enrichment found; null until it has run (it runs right after capture). */
  enrichment: EnrichResult | null
  enrichedAt: string | null
}

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

/** queued (being sent, retried on failure), sent, failed (gave up), kept (no SMTP_URL on the server: kept in the outbox). */
export type MailStatus = 'queued' | 'sent' | 'failed' | 'kept'

/** A message in the server's mail outbox, as operators see it. */
export interface MailMessage {
  /** `mail_` + 24 base62 characters. */
  id: string
  licenseId: string | null
  to: string
  template: 'license-issued' | 'license-updated' | 'password-reset' | 'email-change' | 'email-changed'
  subject: string
  status: MailStatus
  attempts: number
  /** The Message-ID the SMTP server accepted. */
  providerMessageId: string | null
  lastError: string | null
  createdAt: string
  sentAt: string | null
  /** The plain-text body, only for messages kept in the outbox (no SMTP_URL). */
  text: string | null
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

export interface WidgetConfig {
  product: WidgetProduct
  botName: string
  greeting: string
  color: string
  position: 'bottom-right' | 'bottom-left'
  engine: Engine
  streaming: boolean
  sales: { questions: string[]; consentText: string } | null
  locale: WidgetLocale
}

export interface StartConversationParams {
  visitorId?: string
  visitorSecret?: string
  /** Resume this conversation when it belongs to the visitor. */
  conversationId?: string
  pageUrl?: string
}

export interface StartConversationResponse {
  conversation: { id: string; status: 'open' | 'closed'; createdAt: string }
  visitorId: string
  /** Only for a new visitor: keep it to resume later. */
  visitorSecret?: string
  /** Short-lived (1 hour) token for this visitor's conversation calls. */
  visitorToken: string
  expiresAt: string
  messages: Message[]
}

export interface SendMessageResponse {
  message: Message
  /** Replies produced before the answer was sent (the knowledge engine answers synchronously). */
  replies: Message[]
}

export interface LeadParams {
  conversationId?: string
  name: string
  email: string
  company?: string
  message?: string
  consent: true
  answers?: Record<string, string>
  /** The page the lead was left on (default: the conversation's page), and its referrer: enrichment reads both. */
  pageUrl?: string
  referrer?: string
}

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
