// The messages the server sends: small plain-text and HTML bodies per template. Every value interpolated into the
// HTML is escaped (a buyer's name or a product list cannot inject markup); the text part is sent as text/plain.
import type { Product } from '../platform/products.js'

export const PRODUCT_NAMES: Record<Product, string> = {
  chatbot: 'Chatbot',
  'sales-agent': 'Sales Agent',
  'data-enrichment': 'Data Enrichment',
  'setup-agent': 'Setup Agent',
}

export interface TemplateData {
  /** A new license: the key, what it holds and where to register. */
  'license-issued': { key: string; products: string[]; tier: string; registerUrl: string }
  /** A later purchase joined the buyer's license (same email). */
  'license-updated': { key: string; products: string[]; tier: string; registerUrl: string; claimed: boolean; dashboardUrl: string }
  'password-reset': { resetUrl: string; expiresMinutes: number }
  /** Sent to the new address: confirm it. */
  'email-change': { confirmUrl: string; newEmail: string; expiresMinutes: number }
  /** Sent to the old address once the change is confirmed. */
  'email-changed': { newEmail: string }
  /** A quota reached 80 % or 100 %, or will run out before the period ends. */
  'usage-warning': { message: string; used: number; limit: number; periodEnd: string; upgradeUrl: string }
  /** A renewal payment failed (dunning): pay before the grace ends or the plan drops to starter. */
  'payment-failed': { amountDue: string; invoiceUrl: string | null; graceEndsAt: string | null; billingUrl: string }
  /** An outbound webhook endpoint failed every delivery for days and was switched off: check it, then re-enable. */
  'webhook-disabled': { url: string; reason: string; failingSince: string; webhooksUrl: string }
  /** Someone was invited to a team: the one-time link to join. */
  'team-invitation': { invitedBy: string; role: string; acceptUrl: string; expiresDays: number }
  /** A conversation waits for a person (the bot did not know, or the visitor asked for one): once per wait. */
  'conversation-waiting': { product: string; reason: 'unanswered' | 'visitor_request' | 'quota'; question: string | null; conversationUrl: string }
}

export type TemplateName = keyof TemplateData
export const TEMPLATES = [
  'license-issued',
  'license-updated',
  'password-reset',
  'email-change',
  'email-changed',
  'team-invitation',
  'usage-warning',
  'payment-failed',
  'webhook-disabled',
  'conversation-waiting',
] as const satisfies readonly TemplateName[]

export interface Rendered {
  subject: string
  text: string
  html: string
}

export const escapeHtml = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string)

/** A tagged template that escapes every interpolated value; `raw(...)` passes markup built by `html` itself. */
class Raw {
  constructor(readonly value: string) {}
}
const raw = (value: string) => new Raw(value)
function html(strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.reduce((out, s, i) => {
    if (i === 0) return s
    const v = values[i - 1]
    return out + (v instanceof Raw ? v.value : escapeHtml(v)) + s
  }, '')
}

const productList = (products: string[]) => products.map((p) => PRODUCT_NAMES[p as Product] ?? p)

function layout(title: string, body: string): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>
<body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2937;line-height:1.5;max-width:560px;margin:0 auto;padding:24px">
${raw(body)}
<p style="color:#6b7280;font-size:13px;margin-top:32px">Intelagent</p>
</body></html>`
}

const button = (href: string, label: string) =>
  html`<p><a href="${href}" style="display:inline-block;background:#1d4ed8;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none">${label}</a></p>`

const licenseBlock = (d: { key: string; products: string[]; tier: string }) =>
  html`<p>Your license key:</p>
<p style="font-family:ui-monospace,Menlo,monospace;font-size:18px;background:#f3f4f6;padding:12px;border-radius:6px">${d.key}</p>
<p>Products: ${productList(d.products).join(', ') || 'none'}<br>Plan: ${d.tier}</p>`

export function render<T extends TemplateName>(template: T, data: TemplateData[T]): Rendered {
  switch (template) {
    case 'license-issued': {
      const d = data as TemplateData['license-issued']
      return {
        subject: 'Your Intelagent license key',
        text: `Thank you for your purchase.

Your license key: ${d.key}
Products: ${productList(d.products).join(', ')}
Plan: ${d.tier}

Create your account with this key: ${d.registerUrl}
`,
        html: layout(
          'Your Intelagent license key',
          html`<h1 style="font-size:20px">Thank you for your purchase</h1>${raw(licenseBlock(d))}${raw(button(d.registerUrl, 'Create your account'))}<p>Or open ${d.registerUrl}</p>`,
        ),
      }
    }
    case 'license-updated': {
      const d = data as TemplateData['license-updated']
      const next = d.claimed ? `Sign in to use them: ${d.dashboardUrl}` : `Create your account with this key: ${d.registerUrl}`
      return {
        subject: 'Your purchase was added to your Intelagent license',
        text: `Thank you for your purchase. It was added to the license you already have.

Your license key: ${d.key}
Products: ${productList(d.products).join(', ')}
Plan: ${d.tier}

${next}
`,
        html: layout(
          'Your purchase was added to your Intelagent license',
          html`<h1 style="font-size:20px">Your purchase was added to your license</h1>${raw(licenseBlock(d))}${raw(
            d.claimed ? button(d.dashboardUrl, 'Open the dashboard') : button(d.registerUrl, 'Create your account'),
          )}`,
        ),
      }
    }
    case 'password-reset': {
      const d = data as TemplateData['password-reset']
      return {
        subject: 'Reset your Intelagent password',
        text: `Someone asked to reset the password of your Intelagent account. If it was you, choose a new password here (the link works once, for ${d.expiresMinutes} minutes):

${d.resetUrl}

If it was not you, ignore this email: your password stays as it is.
`,
        html: layout(
          'Reset your Intelagent password',
          html`<h1 style="font-size:20px">Reset your password</h1><p>Someone asked to reset the password of your Intelagent account. If it was you, choose a new password (the link works once, for ${d.expiresMinutes} minutes).</p>${raw(
            button(d.resetUrl, 'Choose a new password'),
          )}<p>If it was not you, ignore this email: your password stays as it is.</p>`,
        ),
      }
    }
    case 'email-change': {
      const d = data as TemplateData['email-change']
      return {
        subject: 'Confirm your new Intelagent email address',
        text: `Confirm that ${d.newEmail} is the new email address of your Intelagent account (the link works once, for ${d.expiresMinutes} minutes):

${d.confirmUrl}

If you did not ask for this, ignore this email.
`,
        html: layout(
          'Confirm your new Intelagent email address',
          html`<h1 style="font-size:20px">Confirm your new email address</h1><p>Confirm that ${d.newEmail} is the new email address of your Intelagent account (the link works once, for ${d.expiresMinutes} minutes).</p>${raw(
            button(d.confirmUrl, 'Confirm this address'),
          )}<p>If you did not ask for this, ignore this email.</p>`,
        ),
      }
    }
    case 'email-changed': {
      const d = data as TemplateData['email-changed']
      return {
        subject: 'Your Intelagent email address was changed',
        text: `The email address of your Intelagent account is now ${d.newEmail}. If you did not do this, contact support at once.
`,
        html: layout(
          'Your Intelagent email address was changed',
          html`<h1 style="font-size:20px">Your email address was changed</h1><p>The email address of your Intelagent account is now ${d.newEmail}. If you did not do this, contact support at once.</p>`,
        ),
      }
    }
    case 'usage-warning': {
      const d = data as TemplateData['usage-warning']
      return {
        subject: `Intelagent: ${d.message}`,
        text: `${d.message}.

Used so far: ${d.used} of ${d.limit} this period (it ends ${d.periodEnd}).
Upgrade your plan to raise the limit at once: ${d.upgradeUrl}
`,
        html: layout(
          'Your plan’s usage',
          html`<h1 style="font-size:20px">${d.message}</h1><p>Used so far: ${d.used} of ${d.limit} this period (it ends ${d.periodEnd}).</p>${raw(
            button(d.upgradeUrl, 'Upgrade your plan'),
          )}`,
        ),
      }
    }
    case 'payment-failed': {
      const d = data as TemplateData['payment-failed']
      const until = d.graceEndsAt ? ` Your plan stays until ${d.graceEndsAt}; after that it drops to starter.` : ''
      return {
        subject: 'Intelagent: your payment failed',
        text: `We could not collect ${d.amountDue} for your Intelagent plan.${until}

${d.invoiceUrl ? `Pay the invoice: ${d.invoiceUrl}\n` : ''}Update your card: ${d.billingUrl}
`,
        html: layout(
          'Your payment failed',
          html`<h1 style="font-size:20px">Your payment failed</h1><p>We could not collect ${d.amountDue} for your Intelagent plan.${until}</p>${raw(
            button(d.invoiceUrl ?? d.billingUrl, d.invoiceUrl ? 'Pay the invoice' : 'Update your card'),
          )}`,
        ),
      }
    }
    case 'webhook-disabled': {
      const d = data as TemplateData['webhook-disabled']
      return {
        subject: 'Intelagent: a webhook endpoint was switched off',
        text: `Every delivery to your webhook endpoint ${d.url} has failed since ${d.failingSince}, so it no longer receives events.
Reason: ${d.reason}.

Fix the endpoint, then turn it back on (and send a test event) here: ${d.webhooksUrl}
`,
        html: layout(
          'A webhook endpoint was switched off',
          html`<h1 style="font-size:20px">A webhook endpoint was switched off</h1><p>Every delivery to <code>${d.url}</code> has failed since ${d.failingSince}, so it no longer receives events.</p><p>Reason: ${d.reason}.</p>${raw(
            button(d.webhooksUrl, 'Check your webhooks'),
          )}<p>Fix the endpoint, then turn it back on and send a test event.</p>`,
        ),
      }
    }
    case 'team-invitation': {
      const d = data as TemplateData['team-invitation']
      return {
        subject: `${d.invitedBy} invited you to their Intelagent team`,
        text: `${d.invitedBy} invited you to join their Intelagent team as ${d.role}.

Accept the invitation (the link works once, for ${d.expiresDays} days): ${d.acceptUrl}
`,
        html: layout(
          'You are invited to an Intelagent team',
          html`<h1 style="font-size:20px">Join the team</h1><p>${d.invitedBy} invited you to join their Intelagent team as ${d.role}.</p>${raw(
            button(d.acceptUrl, 'Accept the invitation'),
          )}<p>The link works once, for ${d.expiresDays} days.</p>`,
        ),
      }
    }
    case 'conversation-waiting': {
      const d = data as TemplateData['conversation-waiting']
      const product = PRODUCT_NAMES[d.product as Product] ?? d.product
      const why =
        d.reason === 'visitor_request'
          ? 'A visitor asked to talk to a person.'
          : d.reason === 'quota'
            ? 'Your plan’s quota is used up, so the bot did not answer.'
            : 'The bot did not know the answer and told the visitor a person would follow up.'
      const asked = d.question ? `\n\nThey asked: “${d.question}”` : ''
      return {
        subject: `Intelagent ${product}: a visitor is waiting for a person`,
        text: `${why}${asked}

Answer them in the dashboard: ${d.conversationUrl}
`,
        html: layout(
          'A visitor is waiting for a person',
          html`<h1 style="font-size:20px">A visitor is waiting for a person</h1><p>${why}</p>${raw(
            d.question ? html`<p>They asked: “${d.question}”</p>` : '',
          )}${raw(button(d.conversationUrl, 'Answer in the dashboard'))}`,
        ),
      }
    }
  }
  throw new Error(`unknown mail template ${String(template)}`)
}
