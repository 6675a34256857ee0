// The Intelagent client: one transport shared by every resource.
import { type ClientOptions, Transport } from './core.js'
import { Account } from './resources/account.js'
import { Admin, Audit, Jobs, Licenses } from './resources/admin.js'
import { Analytics } from './resources/analytics.js'
import { ApiKeys } from './resources/api-keys.js'
import { Auth } from './resources/auth.js'
import { Billing, Figures } from './resources/billing.js'
import { Conversations, Events, Leads, Unanswered } from './resources/conversations.js'
import { Enrich } from './resources/enrich.js'
import { Knowledge } from './resources/knowledge.js'
import { Mail } from './resources/mail.js'
import { Keys, Products, Secrets, Settings } from './resources/products.js'
import { Setup } from './resources/setup.js'
import { Team } from './resources/team.js'
import { Usage } from './resources/usage.js'
import { WebhookEndpoints } from './resources/webhook-endpoints.js'
import { Widget } from './resources/widget.js'
import { type Webhooks, webhooks } from './webhooks.js'

export class Intelagent {
  static readonly VERSION = '0.1.0'

  readonly auth: Auth
  readonly products: Products
  readonly keys: Keys
  /** Secret API keys (`intl_sk_…`); managing them needs a logged-in session. */
  readonly apiKeys: ApiKeys
  readonly settings: Settings
  readonly secrets: Secrets
  readonly knowledge: Knowledge
  readonly conversations: Conversations
  /** Questions the bot could not answer, ranked by frequency; answer them into the knowledge base. */
  readonly unanswered: Unanswered
  readonly leads: Leads
  /** Data enrichment (a `data_` key, an API key with `enrichment:write`, or a session). */
  readonly enrich: Enrich
  readonly events: Events
  readonly audit: Audit
  /** The plan, Stripe Checkout and the Customer Portal (a session, or an API key with `billing:*`). */
  readonly billing: Billing
  /** This billing period's use of the plan's quotas (a session, or an API key with `usage:read`). */
  readonly usage: Usage
  /** The setup agent: one URL → a crawled site, a proposal, applied (a session, or an agnt_ key). */
  readonly setup: Setup
  /** Conversation figures per UTC day, top questions, CSV export (a session, or an API key with `analytics:read`). */
  readonly analytics: Analytics
  /** Operators only. */
  readonly licenses: Licenses
  /** Operators only: durable jobs, and retrying dead ones. */
  readonly jobs: Jobs
  /** Operators only: platform figures (MRR, ARR, churn) and the Stripe reconciliation log. */
  readonly figures: Figures
  /** The license's team: members, roles and invitations. */
  readonly team: Team
  /** The signed-in person's password and sessions. */
  readonly account: Account
  /** Operators only: the license console (`admin.licenses.search/get/update/suspend/reactivate`). */
  readonly admin: Admin
  /** Operators only: the mail outbox, and resending a license email. */
  readonly mail: Mail
  /** The public API behind the script tag (product key). */
  readonly widget: Widget
  /** Outbound webhook endpoints, their secrets and delivery log (`webhooks:read` / `webhooks:write`). */
  readonly webhookEndpoints: WebhookEndpoints
  /** Sign and verify X-Intelagent-Signature (no network, no client state). */
  readonly webhooks: Webhooks = webhooks
  readonly #transport: Transport

  constructor(options: ClientOptions) {
    const t = new Transport(options)
    this.#transport = t
    this.auth = new Auth(t)
    this.products = new Products(t)
    this.keys = new Keys(t)
    this.apiKeys = new ApiKeys(t)
    this.settings = new Settings(t)
    this.secrets = new Secrets(t)
    this.knowledge = new Knowledge(t)
    this.conversations = new Conversations(t)
    this.unanswered = new Unanswered(t)
    this.leads = new Leads(t)
    this.enrich = new Enrich(t)
    this.events = new Events(t)
    this.audit = new Audit(t)
    this.billing = new Billing(t)
    this.usage = new Usage(t)
    this.setup = new Setup(t)
    this.analytics = new Analytics(t)
    this.licenses = new Licenses(t)
    this.jobs = new Jobs(t)
    this.figures = new Figures(t)
    this.team = new Team(t)
    this.account = new Account(t)
    this.admin = new Admin(t)
    this.mail = new Mail(t)
    this.widget = new Widget(t)
    this.webhookEndpoints = new WebhookEndpoints(t)
  }

  get baseUrl(): string {
    return this.#transport.baseUrl
  }

  /** The session token in use (set by `auth.login` / `auth.register`, cleared by `auth.logout`). */
  get token(): string | undefined {
    return this.#transport.token
  }

  set token(value: string | undefined) {
    this.#transport.token = value
  }
}
