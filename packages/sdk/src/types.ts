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
  /** The role in the license's team; null for operators. */
  teamRole: TeamRole | null
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
  | 'billing:read'
  | 'billing:write'
  | 'usage:read'
  | 'webhooks:read'
  | 'webhooks:write'

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
export type KnowledgeSourceKind = Schemas['KnowledgeSourceKind']
export type KnowledgeSourceInput = Schemas['KnowledgeSourceInput']
export type KnowledgeSource = Schemas['KnowledgeSource']
export type KnowledgeSourcePage = Schemas['KnowledgeSourcePage']
export type KnowledgeSourceDetail = Schemas['KnowledgeSourceDetail']
/** A page an answer cites (`message.sources`). */
export type MessageSource = Schemas['MessageSource']

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

/** A license as the operator console finds it (`admin.licenses.search`). */
export type AdminLicense = License

export interface LicenseSearchParams {
  /** A license key or its start, an email (buyer or member) or part of one, or an order id. */
  q?: string
  status?: LicenseStatus
  tier?: Tier
  /** Page size, 1–200 (default 50). */
  limit?: number
  cursor?: string
}

export interface AdminLicenseDetail {
  license: AdminLicense
  keys: { byProduct: Partial<Record<Product, number>>; apiKeys: number }
  seats: { used: number; limit: number }
  members: (Omit<TeamMember, 'role'> & { role: TeamRole })[]
  invitations: { id: string; email: string; role: Exclude<TeamRole, 'owner'>; expiresAt: string }[]
  audit: { id: string; actor: string | null; action: string; target: string | null; meta: Record<string, unknown>; createdAt: string }[]
}

export interface UpdateLicenseParams {
  tier?: Tier
  products?: Product[]
}

/** queued (being sent, retried on failure), sent, failed (gave up), kept (no SMTP_URL on the server: kept in the outbox). */
export type MailStatus = 'queued' | 'sent' | 'failed' | 'kept'

/** A message in the server's mail outbox, as operators see it. */
export interface MailMessage {
  /** `mail_` + 24 base62 characters. */
  id: string
  licenseId: string | null
  to: string
  template: 'license-issued' | 'license-updated' | 'password-reset' | 'email-change' | 'email-changed' | 'team-invitation' | 'usage-warning' | 'payment-failed'
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

/** A plan that is paid for through Stripe. */
export type PaidTier = Exclude<Tier, 'starter'>

export interface BillingInvoice {
  id: string
  number: string | null
  /** In the currency's minor unit (cents). */
  amount: number
  currency: string
  status: string
  /** Stripe's page for the invoice (pay, download). */
  hostedUrl: string | null
  createdAt: string
}

export interface Billing {
  /** The tier the license is on now. */
  plan: Tier
  /** Stripe's subscription status (active, trialing, past_due, canceled…); null without a subscription. */
  status: string | null
  subscriptionId: string | null
  currentPeriodEnd: string | null
  /** The plan ends at currentPeriodEnd and the license returns to starter. */
  cancelAtPeriodEnd: boolean
  /** A renewal payment failed: the plan drops to starter at this time unless it is paid. */
  graceEndsAt: string | null
  /** Plans a Checkout can be opened for on this server. */
  purchasable: PaidTier[]
  invoices: BillingInvoice[]
}

export interface BillingRedirect {
  url: string
}

export interface PlatformFigures {
  activeLicenses: number
  activeByTier: Record<string, number>
  payingSubscriptions: number
  /** Per currency, in minor units: MRR from active and past_due subscriptions' prices, ARR = MRR × 12. */
  revenue: { currency: string; mrr: number; arr: number }[]
  /** The last 12 months, oldest first: subscriptions started and ended in each. */
  months: { month: string; new: number; churned: number }[]
  trialToPaid: { trials: number; converted: number; rate: number | null }
}

export interface BillingReconciliation {
  id: string
  startedAt: string
  finishedAt: string | null
  checked: number
  missedEvents: number
  repairs: Record<string, unknown>[]
  error: string | null
}

// ---------------------------------------------------------------------------------------------------------
// Teams and account settings

/** owner (one per license, the person who registered it) > admin > member; members cannot manage keys or billing. */
export type TeamRole = 'owner' | 'admin' | 'member'

export interface TeamMember {
  id: string
  email: string
  name: string | null
  role: TeamRole
  joinedAt: string
  lastSeenAt: string | null
}

export interface TeamInvitation {
  id: string
  email: string
  role: Exclude<TeamRole, 'owner'>
  /** The inviter's email. */
  invitedBy: string | null
  createdAt: string
  expiresAt: string
}

export interface CreatedTeamInvitation extends TeamInvitation {
  /** The one-time link for the invitee (valid 7 days); returned only by `team.invite`. */
  acceptUrl: string
}

export interface Team {
  /** Members plus pending invitations, and the plan's seats. */
  seats: { used: number; limit: number }
  members: TeamMember[]
  invitations: TeamInvitation[]
}

export interface InviteParams {
  email: string
  /** Default `member`; only the owner may invite an admin. */
  role?: Exclude<TeamRole, 'owner'>
}

export interface AcceptInvitationParams {
  /** The `token` of the accept link. */
  token: string
  /** The new account's password, or the existing account's own password when it has no team. */
  password: string
  name?: string
}

export interface AccountSession {
  id: string
  /** The session making the request. */
  current: boolean
  /** e.g. "Chrome 126 on Windows". */
  device: string
  userAgent: string | null
  ip: string | null
  createdAt: string
  /** Last request, to within ten minutes. */
  lastSeenAt: string | null
  expiresAt: string
}

export interface ChangePasswordParams {
  currentPassword: string
  /** At least 10 characters. */
  newPassword: string
}

/** A quota of the plan (src/plans on the server): four counted as they happen, three read as they stand. */
export type QuotaName = 'conversations' | 'messages' | 'aiReplies' | 'apiCalls' | 'knowledgePages' | 'products' | 'seats'

export interface QuotaUse {
  quota: QuotaName
  used: number
  limit: number
  periodStart: string
  periodEnd: string
  /** The period-end figure if this period's pace holds. */
  forecast: number
  /** When the quota runs out at this pace, if before the period ends. */
  runsOutAt: string | null
  /** `warning` from 80 %, `exceeded` at the limit. */
  status: 'ok' | 'warning' | 'exceeded'
}

/** `GET /api/usage`: this billing period's use of every quota, and a daily series for a chart. */
export interface Usage {
  plan: string
  periodStart: string
  periodEnd: string
  quotas: QuotaUse[]
  /** Each UTC day of the period so far, oldest first. */
  daily: { day: string; conversations: number; messages: number; aiReplies: number; apiCalls: number }[]
}

/** `conversations.flag`: what was given back to this period's quotas (zeros when it was flagged already). */
export interface ConversationFlag {
  conversation: { id: string; flaggedAt: string }
  returned: { conversations: number; messages: number; aiReplies: number }
}

// ---------------------------------------------------------------------------------------------------------
// Outbound webhooks

/** Event types a webhook endpoint can subscribe to (the server's event registry). */
export type WebhookEventType =
  | 'license.created'
  | 'license.updated'
  | 'license.suspended'
  | 'subscription.updated'
  | 'billing.payment_failed'
  | 'conversation.created'
  | 'message.created'
  | 'lead.created'
  | 'team.invitation.created'
  | 'usage.warning'
  | 'usage.limited'
  | 'webhook_endpoint.disabled'

export interface WebhookEndpoint {
  /** `we_…` */
  id: string
  url: string
  events: WebhookEventType[]
  description: string | null
  enabled: boolean
  disabledReason: string | null
  /** Since when every attempt has failed; null while deliveries succeed. */
  failingSince: string | null
  /** Until when the secret before the last rotation still signs (a second `v1`). */
  previousSecretExpiresAt: string | null
  createdAt: string
  updatedAt: string
}

/** Returned by create and rotate only: the signing secret is never shown again. */
export interface WebhookEndpointWithSecret extends WebhookEndpoint {
  /** `whsec_…` */
  secret: string
}

export interface CreateWebhookEndpointParams {
  url: string
  events: WebhookEventType[]
  description?: string | null
}

export interface UpdateWebhookEndpointParams {
  url?: string
  events?: WebhookEventType[]
  enabled?: boolean
  description?: string | null
}

export interface WebhookAttempt {
  at: string
  statusCode: number | null
  latencyMs: number
  /** The first KiB of the endpoint's answer. */
  responseExcerpt: string | null
  error: string | null
}

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed'

export interface WebhookDelivery {
  /** `wd_…` */
  id: string
  endpointId: string
  /** The event id, also the payload's `id`: use it to ignore a delivery you already handled. */
  eventId: string
  eventType: WebhookEventType | 'ping'
  status: WebhookDeliveryStatus
  lastError: string | null
  attempts: WebhookAttempt[]
  createdAt: string
  updatedAt: string
}

/** What "send a test event" found out, step by step. */
export interface WebhookTestResult {
  ok: boolean
  deliveryId: string
  dns: 'ok' | 'failed' | 'refused' | 'not_reached'
  tls: 'ok' | 'failed' | 'not_used' | 'not_reached'
  statusCode: number | null
  latencyMs: number
  responseExcerpt: string | null
  error: { code: string; message: string } | null
}

/** The body of every webhook POST. */
export interface WebhookEvent<D = Record<string, unknown>> {
  /** The event id (`evt_…`): the same on every retry and redelivery, so use it to de-duplicate. */
  id: string
  type: WebhookEventType | 'ping'
  /** Unix seconds. */
  created: number
  data: D
}
