// Request and response shapes of the Intelagent API, all derived from the server's OpenAPI document, generated
// into generated/openapi.ts (`pnpm gen:types`; CI's `pnpm check:types` fails when they drift). Nothing here
// restates a wire shape by hand: a name is either a component of the document, a part of an operation's
// request or response, or a narrowing of one. The few shapes the document cannot express (the webhook POST's
// envelope, the live stream's event names) are marked as such; packages/sdk/README.md lists them.
import type { components, operations } from './generated/openapi.js'

type Schemas = components['schemas']
type Ops = operations
type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : never
/** The JSON body of an operation's answer with this status. */
export type ResponseBody<K extends keyof Ops, S extends keyof Ops[K]['responses']> = JsonOf<Ops[K]['responses'][S]>
/** The JSON body an operation takes. */
export type RequestBody<K extends keyof Ops> = NonNullable<Ops[K]['requestBody']> extends { content: { 'application/json': infer B } } ? B : never
/** The query parameters an operation takes. */
export type QueryParams<K extends keyof Ops> = NonNullable<Ops[K]['parameters']['query']>
type Item<A> = A extends readonly (infer T)[] ? T : never

export type Product = Schemas['Product']
/** Products with a chat widget (publishable keys, conversations, knowledge). */
export type WidgetProduct = Schemas['WidgetProduct']
export type Tier = NonNullable<Schemas['User']['tier']>
export type Role = Schemas['User']['role']
export type Engine = Schemas['ProductSettings']['engine']
/** The widget's own language; 'auto' follows the visitor's browser. */
export type WidgetLocale = Schemas['ProductSettings']['locale']
export type MessageRole = Schemas['MessageRole']

// ---------------------------------------------------------------------------------------------------------
// Auth

export type User = Schemas['User']

/** `auth.register`'s parameters: the wire body's `license_key`, spelled like the rest of the SDK. */
export type RegisterParams = Omit<Schemas['RegisterInput'], 'license_key'> & {
  /** `INTL-XXXX-XXXX-XXXX`, from the purchase email. */
  licenseKey: Schemas['RegisterInput']['license_key']
}
export type LoginParams = Schemas['LoginInput']
/** A session: the JWT the client uses for later calls, when it expires, and the user. */
export type AuthResponse = Schemas['Session']
export type MeResponse = Schemas['Me']
export type LogoutResponse = Schemas['LoggedOut']
export type PasswordResetRequestParams = RequestBody<'requestPasswordReset'>
export type PasswordResetRequestResponse = ResponseBody<'requestPasswordReset', 202>
export type ResetPasswordParams = RequestBody<'resetPassword'>
export type ResetPasswordResponse = ResponseBody<'resetPassword', 200>
export type ChangeEmailParams = RequestBody<'changeEmail'>
/** The address the confirmation link went to; the account keeps its email until it is confirmed. */
export type EmailChangeResponse = ResponseBody<'changeEmail', 202>
export type ConfirmEmailParams = RequestBody<'confirmEmail'>
export type ConfirmEmailResponse = ResponseBody<'confirmEmail', 200>

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
/** What a "test connection" found out, step by step: DNS, TLS, HTTP status, latency, the start of the answer. */
export type ConnectionReport = Schemas['ConnectionReport']
/** Engine settings to test instead of the saved ones, and the visitor message to send. */
export type EngineTestParams = Schemas['EngineTestInput']
/** The connection report of a reply engine test, with the sample question and the engine's reply. */
export type EngineTestResult = Schemas['EngineTestResult']

// ---------------------------------------------------------------------------------------------------------
// API keys (intl_sk_…)

export type ApiKey = Schemas['ApiKey']
/** What a secret API key may do: one scope per capability and direction (the server's SCOPES). */
export type ApiKeyScope = Item<Schemas['ApiKey']['scopes']>
export type CreateApiKeyParams = Schemas['CreateApiKeyInput']
/** `key` is the full `intl_sk_…` key: returned only in this response, store it now. */
export type CreatedApiKey = Schemas['ApiKeyCreated']

// ---------------------------------------------------------------------------------------------------------
// Knowledge

export type KnowledgeInput = Schemas['KnowledgeInput']
export type KnowledgeItem = Schemas['KnowledgeItem']
export type Deleted = Schemas['Deleted']
export type KnowledgeSourceKind = Schemas['KnowledgeSourceKind']
export type KnowledgeSourceInput = Schemas['KnowledgeSourceInput']
export type KnowledgeSource = Schemas['KnowledgeSource']
export type KnowledgeSourcePage = Schemas['KnowledgeSourcePage']
export type KnowledgeSourceDetail = Schemas['KnowledgeSourceDetail']
/** The setup agent (`/api/setup`). */
export type SetupInput = Schemas['SetupInput']
export type SetupProposal = Schemas['SetupProposal']
export type Setup = Schemas['Setup']
export type SetupApplyInput = Schemas['SetupApplyInput']
export type SetupApplyResult = Schemas['SetupApplyResult']
/** A page an answer cites (`message.sources`). */
export type MessageSource = Schemas['MessageSource']

// ---------------------------------------------------------------------------------------------------------
// Conversations and leads

export type Message = Schemas['Message']
export type Conversation = Schemas['Conversation']
export type ConversationSummary = Schemas['ConversationSummary']
export type ConversationDetail = Schemas['ConversationDetail']
export type Lead = Schemas['Lead']
/** `conversations.flag`: what was given back to this period's quotas (zeros when it was flagged already). */
export type ConversationFlag = Schemas['ConversationFlag']
export type ConversationStatus = Schemas['ConversationStatus']
/** A visitor's rating of one of the bot's answers. */
export type Rating = Schemas['Rating']
/** A question the bot could not answer, with how often visitors asked it. */
export type UnansweredQuestion = Schemas['UnansweredQuestion']
/** `unanswered.answer`: the question (now answered) and the Q&A pair it became. */
export type UnansweredAnswered = Schemas['UnansweredAnswered']

export interface PageParams {
  /** Items per page, 1–100 (server default 25). */
  limit?: number
  cursor?: string
}

type LiveData = Schemas['LiveEventData']
/**
 * What `GET /api/events` streams to the dashboard. The document describes each event's data (LiveEventData);
 * the SSE event name, which the SDK puts in `type`, is not a JSON schema, so the pairing is written here.
 */
export type LiveEvent =
  | { type: 'ready' }
  | ({ type: 'conversation.created' } & Exclude<Extract<LiveData, { conversationId: string }>, { message: unknown } | { takenOver: boolean }>)
  /** A conversation's status (open, waiting, closed) or takeover changed. */
  | ({ type: 'conversation.updated' } & Extract<LiveData, { takenOver: boolean }>)
  | ({ type: 'message.created' } & Extract<LiveData, { message: Message }>)
  | ({ type: 'lead.created' } & Extract<LiveData, { leadId: string }>)
  /** A knowledge source's crawl moved on: status, page counts, the last page (to sessions and keys with settings:read). */
  | KnowledgeSourceProgress
  /** The last event: the session or key was revoked, or the license suspended; the server closes the stream. */
  | ({ type: 'revoked' } & Extract<LiveData, { reason: string }>)
/**
 * `knowledge.source.progress`: at most a few a second per source while it is crawled, and one at once for each
 * status (queued, crawling, ready, failed). `skippedPages` lists the pages skipped since the previous event.
 */
export type KnowledgeSourceProgress = { type: 'knowledge.source.progress' } & Extract<LiveData, { sourceId: string }>

// ---------------------------------------------------------------------------------------------------------
// Audit and operators

export type AuditEntry = Schemas['AuditEntry']
export type AuditListParams = QueryParams<'listAudit'>

export type LicenseStatus = Schemas['AdminLicense']['status']
export type License = Schemas['AdminLicense']
/** A license as the operator console finds it (`admin.licenses.search`). */
export type AdminLicense = Schemas['AdminLicense']
export type LicenseListParams = QueryParams<'adminListLicenses'>
export type LicenseSearchParams = QueryParams<'searchLicenses'>
export type AdminLicenseDetail = Schemas['AdminLicenseDetail']
export type UpdateLicenseParams = RequestBody<'updateLicense'>
export type AdminSubscription = Schemas['AdminSubscription']
export type AdminSentMail = Schemas['AdminSentMail']
/** `GET /api/plans`: each tier's quotas, rates and features, and the first tier with each feature. */
export type Plans = Schemas['Plans']
export type PlanFeature = Schemas['PlanFeature']

/** queued (being sent, retried on failure), sent, failed (gave up), kept (no SMTP_URL on the server: kept in the outbox). */
export type MailStatus = Schemas['Mail']['status']
/** A message in the server's mail outbox, as operators see it. */
export type MailMessage = Schemas['Mail']
/** `mail.list`'s filters: the document's query, with `license` spelled `licenseId`. */
export type MailListParams = Omit<QueryParams<'listMail'>, 'license'> & { licenseId?: QueryParams<'listMail'>['license'] }

export type JobStatus = Schemas['Job']['status']
/** A durable job as operators see it (never its payload). */
export type Job = Schemas['Job']
export type JobListParams = QueryParams<'adminListJobs'>

// ---------------------------------------------------------------------------------------------------------
// Widget (public, product key)

export type WidgetConfig = Schemas['WidgetConfig']
export type StartConversationParams = Schemas['StartConversationInput']
export type StartConversationResponse = Schemas['StartConversationResponse']
export type SendMessageResponse = Schemas['SendMessageResponse']
export type LeadParams = Schemas['LeadInput']
export type CreatedLead = Schemas['LeadCreated']['lead']

// ---------------------------------------------------------------------------------------------------------
// Data enrichment

/** At least one field. The email's domain wins over `domain`. */
export type EnrichInput = Schemas['EnrichInput']
export type EnrichResult = Schemas['EnrichResult']
export type EnrichCompany = Schemas['EnrichCompany']
export type TrafficChannel = EnrichResult['source']['channel']
/** An item of a batch that could not be enriched (its input was invalid); the other items are unaffected. */
export type EnrichItemError = Schemas['EnrichItemError']
export type EnrichBatchItem = EnrichResult | EnrichItemError

// ---------------------------------------------------------------------------------------------------------
// Billing

export type Billing = Schemas['Billing']
/** A plan that is paid for through Stripe. */
export type PaidTier = Item<Schemas['Billing']['purchasable']>
export type BillingInvoice = Item<Schemas['Billing']['invoices']>
export type BillingPlans = ResponseBody<'getBillingPlans', 200>
export type CheckoutParams = RequestBody<'createBillingCheckout'>
export type BillingRedirect = Schemas['BillingRedirect']
export type PlatformFigures = Schemas['PlatformFigures']
export type BillingReconciliation = Schemas['BillingReconciliation']
export type ReconciliationListParams = QueryParams<'listBillingReconciliations'>
/** The durable job a reconciliation run was queued as (null when one is queued already). */
export type ReconciliationRun = ResponseBody<'runBillingReconciliation', 202>

// ---------------------------------------------------------------------------------------------------------
// Teams and account settings

/** owner (one per license, the person who registered it) > admin > member; members cannot manage keys or billing. */
export type TeamRole = Schemas['TeamMember']['role']
export type TeamMember = Schemas['TeamMember']
export type TeamInvitation = Schemas['TeamInvitation']
/** `acceptUrl` is the one-time link for the invitee (valid 7 days); returned only by `team.invite`. */
export type CreatedTeamInvitation = Schemas['CreatedTeamInvitation']
export type Team = Schemas['Team']
export type InviteParams = RequestBody<'createTeamInvitation'>
export type AcceptInvitationParams = RequestBody<'acceptTeamInvitation'>
export type UpdateMemberParams = RequestBody<'updateTeamMember'>
export type UpdatedTeamMember = ResponseBody<'updateTeamMember', 200>

export type AccountSession = Schemas['AccountSession']
export type ChangePasswordParams = RequestBody<'changePassword'>
export type ChangePasswordResponse = ResponseBody<'changePassword', 200>
export type RevokeOtherSessionsResponse = ResponseBody<'revokeOtherSessions', 200>

/** A quota of the plan: four counted as they happen, three read as they stand. */
export type QuotaName = Schemas['QuotaUse']['quota']
export type QuotaUse = Schemas['QuotaUse']
/** `GET /api/usage`: this billing period's use of every quota, and a daily series for a chart. */
export type Usage = Schemas['Usage']

// ---------------------------------------------------------------------------------------------------------
// Analytics (generated from the server's OpenAPI document)

/** `analytics.get`: daily figures of a range of UTC days, their totals, and the top questions. */
export type Analytics = Schemas['Analytics']
/** One UTC day's figures (docs/analytics.md defines each). */
export type AnalyticsDay = Schemas['AnalyticsDay']
/** The whole range's figures; its median is over every conversation of the range. */
export type AnalyticsTotals = Schemas['AnalyticsTotals']
export type AnalyticsQuestionCount = Schemas['AnalyticsQuestionCount']
/** `analytics.get` / `analytics.exportCsv`: every part optional (the last 30 days up to today, every product). */
export type AnalyticsParams = NonNullable<operations['getAnalytics']['parameters']['query']>

// ---------------------------------------------------------------------------------------------------------
// Outbound webhooks

/** Event types a webhook endpoint can subscribe to (the server's event registry). */
export type WebhookEventType = Schemas['WebhookEventType']
export type WebhookEndpoint = Schemas['WebhookEndpoint']
/** Returned by create and rotate only: the signing secret (`whsec_…`) is never shown again. */
export type WebhookEndpointWithSecret = Schemas['WebhookEndpointWithSecret']
export type CreateWebhookEndpointParams = RequestBody<'createWebhookEndpoint'>
export type UpdateWebhookEndpointParams = RequestBody<'updateWebhookEndpoint'>
export type WebhookAttempt = Schemas['WebhookAttempt']
export type WebhookDeliveryStatus = Schemas['WebhookDelivery']['status']
export type WebhookDelivery = Schemas['WebhookDelivery']
export type WebhookDeliveryListParams = QueryParams<'listWebhookDeliveries'>
export type RedeliveredWebhookDelivery = ResponseBody<'redeliverWebhookDelivery', 202>
/** What "send a test event" found out, step by step. */
export type WebhookTestResult = Schemas['WebhookTestResult']

/** A domain event as the document publishes it (components.schemas.DomainEvent). */
export type DomainEvent = Schemas['DomainEvent']

/**
 * The body of a webhook POST for one event type. Written here, because the POST is not an operation of the
 * document: the envelope (`id`, `type`, `created` in Unix seconds) is the delivery's; `data` is the document's
 * DomainEvent data for that type.
 */
export interface WebhookEventOf<T extends WebhookEventType> {
  /** The event id (`evt_…`): the same on every retry and redelivery, so use it to de-duplicate. */
  id: string
  type: T
  /** Unix seconds. */
  created: number
  data: Extract<DomainEvent, { type: T }>['data']
}

/** The body of the test delivery `webhookEndpoints.test` sends. */
export interface WebhookPingEvent {
  id: string
  type: 'ping'
  created: number
  data: { endpointId: string; message: string }
}

/** The body of every webhook POST; narrow on `type` to get that event's `data`. */
export type WebhookEvent = { [T in WebhookEventType]: WebhookEventOf<T> }[WebhookEventType] | WebhookPingEvent
