// The reference lists enrichment judges by: free-mail and disposable domains (maintained packages, pinned), role
// mailboxes, a few well-known companies, and the referrers that mark search, social and webmail traffic.
import { createRequire } from 'node:module'
import { getDomain, parse } from 'tldts'

const require = createRequire(import.meta.url)
// Both packages are CommonJS data; require keeps their published shape (a JSON array, an object with blacklist()).
const FREE_MAIL: ReadonlySet<string> = new Set((require('free-email-domains') as string[]).map((d) => d.toLowerCase()))
const DISPOSABLE: ReadonlySet<string> = (require('mailchecker') as { blacklist(): Set<string> }).blacklist()

/** The domain or any parent of it is on the list (mailchecker lists parents: a subdomain of a throwaway host is one too). */
function listed(list: ReadonlySet<string>, domain: string): boolean {
  for (let d = domain; d; d = d.includes('.') ? d.slice(d.indexOf('.') + 1) : '') if (list.has(d)) return true
  return false
}

export const isDisposableDomain = (domain: string): boolean => listed(DISPOSABLE, domain)
export const isFreeMailDomain = (domain: string): boolean => FREE_MAIL.has(domain) || (getDomain(domain) !== null && FREE_MAIL.has(getDomain(domain) ?? ''))

/** Mailboxes that reach a function or a shared inbox rather than a person (compared without a +tag, lower case). */
export const ROLE_MAILBOXES: ReadonlySet<string> = new Set([
  'abuse',
  'accounting',
  'accounts',
  'admin',
  'administrator',
  'billing',
  'booking',
  'bookings',
  'careers',
  'compliance',
  'contact',
  'contacto',
  'contactus',
  'contatto',
  'customercare',
  'customerservice',
  'customer.service',
  'devnull',
  'do-not-reply',
  'donotreply',
  'enquiries',
  'enquiry',
  'events',
  'finance',
  'hello',
  'help',
  'helpdesk',
  'hostmaster',
  'hr',
  'info',
  'information',
  'inquiries',
  'inquiry',
  'invoice',
  'invoices',
  'it',
  'jobs',
  'kontakt',
  'legal',
  'mail',
  'mailer-daemon',
  'marketing',
  'media',
  'newsletter',
  'no-reply',
  'nobody',
  'noreply',
  'no_reply',
  'office',
  'operations',
  'orders',
  'postmaster',
  'press',
  'privacy',
  'recruiting',
  'recruitment',
  'reception',
  'root',
  'sales',
  'security',
  'service',
  'services',
  'shop',
  'staff',
  'support',
  'team',
  'webmaster',
])

/**
 * Well-known companies by registrable domain, for names a title-cased domain would get wrong or that deserve the
 * "known company" signal. Deliberately small: anything else is a guess from the domain, and says so.
 */
export const KNOWN_COMPANIES: Readonly<Record<string, string>> = {
  'accenture.com': 'Accenture',
  'adobe.com': 'Adobe',
  'airbnb.com': 'Airbnb',
  'amazon.com': 'Amazon',
  'anthropic.com': 'Anthropic',
  'apple.com': 'Apple',
  'atlassian.com': 'Atlassian',
  'bain.com': 'Bain & Company',
  'barclays.com': 'Barclays',
  'bcg.com': 'Boston Consulting Group',
  'bmw.com': 'BMW',
  'booking.com': 'Booking.com',
  'bosch.com': 'Bosch',
  'bp.com': 'BP',
  'canva.com': 'Canva',
  'cisco.com': 'Cisco',
  'cloudflare.com': 'Cloudflare',
  'coca-cola.com': 'The Coca-Cola Company',
  'dell.com': 'Dell Technologies',
  'deloitte.com': 'Deloitte',
  'dropbox.com': 'Dropbox',
  'ericsson.com': 'Ericsson',
  'ey.com': 'EY',
  'figma.com': 'Figma',
  'github.com': 'GitHub',
  'gitlab.com': 'GitLab',
  'goldmansachs.com': 'Goldman Sachs',
  'google.com': 'Google',
  'hp.com': 'HP',
  'hpe.com': 'Hewlett Packard Enterprise',
  'hsbc.com': 'HSBC',
  'hubspot.com': 'HubSpot',
  'ibm.com': 'IBM',
  'ikea.com': 'IKEA',
  'intel.com': 'Intel',
  'intercom.com': 'Intercom',
  'jpmorgan.com': 'JPMorgan Chase',
  'kpmg.com': 'KPMG',
  'linkedin.com': 'LinkedIn',
  'mastercard.com': 'Mastercard',
  'mckinsey.com': 'McKinsey & Company',
  'mercedes-benz.com': 'Mercedes-Benz',
  'meta.com': 'Meta',
  'microsoft.com': 'Microsoft',
  'morganstanley.com': 'Morgan Stanley',
  'nestle.com': 'Nestlé',
  'netflix.com': 'Netflix',
  'nokia.com': 'Nokia',
  'notion.so': 'Notion',
  'nvidia.com': 'NVIDIA',
  'openai.com': 'OpenAI',
  'oracle.com': 'Oracle',
  'paypal.com': 'PayPal',
  'pepsico.com': 'PepsiCo',
  'pg.com': 'Procter & Gamble',
  'philips.com': 'Philips',
  'pwc.com': 'PwC',
  'salesforce.com': 'Salesforce',
  'samsung.com': 'Samsung',
  'sap.com': 'SAP',
  'shell.com': 'Shell',
  'shopify.com': 'Shopify',
  'siemens.com': 'Siemens',
  'slack.com': 'Slack',
  'sony.com': 'Sony',
  'spotify.com': 'Spotify',
  'stripe.com': 'Stripe',
  'target.com': 'Target',
  'tesla.com': 'Tesla',
  'toyota.com': 'Toyota',
  'twilio.com': 'Twilio',
  'uber.com': 'Uber',
  'unilever.com': 'Unilever',
  'visa.com': 'Visa',
  'volkswagen.com': 'Volkswagen',
  'walmart.com': 'Walmart',
  'zendesk.com': 'Zendesk',
  'zoom.us': 'Zoom',
}

/** "acme-widgets" → "Acme Widgets": the registrable domain's own label, title-cased. */
export function nameFromDomain(domain: string): string | null {
  const label = parse(domain).domainWithoutSuffix
  if (!label) return null
  return label
    .split(/[-_.]+/)
    .filter(Boolean)
    .map((w) => (w.length <= 2 ? w.toUpperCase() : w[0]?.toUpperCase() + w.slice(1)))
    .join(' ')
}

/** Referrers by the class of traffic they bring; matched on the registrable domain's label or the full host. */
const SEARCH_LABELS = new Set([
  'google',
  'bing',
  'yahoo',
  'duckduckgo',
  'baidu',
  'yandex',
  'ecosia',
  'startpage',
  'qwant',
  'naver',
  'seznam',
  'sogou',
  'ask',
  'kagi',
])
const SEARCH_HOSTS = new Set(['search.brave.com', 'search.aol.com', 'ya.ru'])
const SOCIAL_LABELS = new Set([
  'facebook',
  'fb',
  'instagram',
  'linkedin',
  'lnkd',
  'twitter',
  'x',
  'reddit',
  'youtube',
  'youtu',
  'pinterest',
  'tiktok',
  'threads',
  'snapchat',
  'tumblr',
  'quora',
  'ycombinator',
  'vk',
  'weibo',
  'discord',
  'telegram',
  'whatsapp',
  'bsky',
  'mastodon',
])
const SOCIAL_HOSTS = new Set(['t.co', 't.me', 'wa.me'])
const WEBMAIL_HOSTS = new Set([
  'mail.google.com',
  'outlook.live.com',
  'outlook.office.com',
  'outlook.office365.com',
  'mail.yahoo.com',
  'mail.aol.com',
  'mail.proton.me',
  'mail.zoho.com',
  'com.google.android.gm',
])

export type ReferrerClass = 'search' | 'social' | 'email' | 'other'

export function classifyReferrerHost(host: string): ReferrerClass {
  const h = host.toLowerCase().replace(/^www\./, '')
  if (WEBMAIL_HOSTS.has(h)) return 'email'
  if (SEARCH_HOSTS.has(h)) return 'search'
  if (SOCIAL_HOSTS.has(h)) return 'social'
  const label = parse(h).domainWithoutSuffix ?? ''
  if (SEARCH_LABELS.has(label)) return 'search'
  if (SOCIAL_LABELS.has(label)) return 'social'
  return 'other'
}

/** A utm_source value named like a referrer (google, facebook, newsletter…), classed the same way. */
export function classifySourceName(source: string): ReferrerClass {
  const s = source.toLowerCase().trim()
  if (/(^|[^a-z])(newsletter|e-?mail|mailchimp|klaviyo|brevo|sendgrid)([^a-z]|$)/.test(s)) return 'email'
  const word = s.replace(/\.[a-z.]+$/, '')
  if (SEARCH_LABELS.has(word)) return 'search'
  if (SOCIAL_LABELS.has(word) || word === 'ig' || word === 'li' || word === 'tw') return 'social'
  return 'other'
}
