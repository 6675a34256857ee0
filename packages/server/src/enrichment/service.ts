// Enrichment rules: what an email, domain, IP, user agent, referrer and page URL say about a lead, offline and
// deterministic (the same input always gives the same answer), and a 0–100 score with the reasons behind it.
import Bowser from 'bowser'
import { parse as parseHost } from 'tldts'
import { classifyReferrerHost, classifySourceName, isDisposableDomain, isFreeMailDomain, KNOWN_COMPANIES, nameFromDomain, ROLE_MAILBOXES } from './data.js'
import { countryOfIp } from './ip-country.js'

export interface EnrichInput {
  email?: string | undefined
  domain?: string | undefined
  ip?: string | undefined
  userAgent?: string | undefined
  referrer?: string | undefined
  pageUrl?: string | undefined
}

export const CHANNELS = ['paid', 'email', 'social', 'search', 'referral', 'direct', 'other', 'unknown'] as const
export type Channel = (typeof CHANNELS)[number]
export const UTM_KEYS = ['source', 'medium', 'campaign', 'term', 'content'] as const
export type Utm = Partial<Record<(typeof UTM_KEYS)[number], string>>

export const DEVICES = ['desktop', 'mobile', 'tablet', 'tv', 'bot'] as const
export type Device = (typeof DEVICES)[number]

/** Firmographic fields a customer's webhook may add; names and limits in routes.ts / firmographics.ts. */
export interface Firmographics {
  name?: string
  industry?: string
  size?: string
  employees?: number
  revenue?: string
  country?: string
  website?: string
  linkedin?: string
  description?: string
}

export interface Company extends Firmographics {
  name: string
  domain: string
  /** known: the built-in list of well-known companies; guessed: title-cased from the domain; webhook: your firmographics webhook. */
  basis: 'known' | 'guessed' | 'webhook'
}

export interface TrafficSource {
  channel: Channel
  /** The referrer's host name, when there was a referrer from another site. */
  referrer: string | null
  /** utm_* parameters of the page URL, as sent (trimmed, at most 200 characters each). */
  utm: Utm
  /** The ad click id parameter present on the page URL (gclid, msclkid…), by name only. */
  clickId: string | null
}

export interface EnrichResult {
  domain: string | null
  company: Company | null
  freeMail: boolean
  disposable: boolean
  roleAddress: boolean
  country: string | null
  device: Device | null
  browser: string | null
  os: string | null
  source: TrafficSource
  score: number
  reasons: string[]
}

/** The points each signal is worth; documented in docs/enrichment.md (keep the two in step). */
export const POINTS = {
  start: 50,
  noDomain: -20,
  disposable: -45,
  freeMail: -15,
  business: 25,
  role: -15,
  knownCompany: 15,
  country: 5,
  intent: 5,
  bot: -40,
} as const

const INTENT_CHANNELS: ReadonlySet<Channel> = new Set(['paid', 'search', 'email', 'referral'])

// Ad click ids: a click on a paid placement. fbclid is not one: Facebook adds it to organic links as well.
const PAID_CLICK_IDS = ['gclid', 'gbraid', 'wbraid', 'dclid', 'msclkid', 'ttclid', 'li_fat_id', 'twclid', 'epik', 'sccid']
const SOCIAL_CLICK_IDS = ['fbclid', 'igshid']

const BOT_UA =
  /bot\b|crawl|spider|slurp|headless|phantomjs|puppeteer|playwright|selenium|curl\/|wget\/|python-requests|python-urllib|httpclient|okhttp|go-http-client|java\/|libwww|scrapy/i

const signed = (n: number): string => (n > 0 ? `+${n}` : `${n}`)
const guessedReason = (name: string): string => `Company name “${name}” is a guess from the domain, not verified`

/** The email's domain, lower case, without a trailing dot; the local part without a +tag. */
function splitEmail(email: string): { local: string; domain: string } | null {
  const at = email.lastIndexOf('@')
  if (at <= 0 || at === email.length - 1) return null
  return {
    local: email.slice(0, at).toLowerCase().replace(/\+.*$/, ''),
    domain: email
      .slice(at + 1)
      .toLowerCase()
      .replace(/\.$/, ''),
  }
}

/** A host name in its ASCII form (IDN → punycode), or null for anything that is not one. */
export function normalizeDomain(raw: string): string | null {
  const text = raw.trim().toLowerCase().replace(/\.$/, '')
  if (!text || /[\s/@:?#\\]/.test(text)) return null
  try {
    const host = new URL(`http://${text}`).hostname
    return /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/.test(host) ? host : null
  } catch {
    return null
  }
}

function parseUrl(raw: string | undefined): URL | null {
  if (!raw) return null
  try {
    return new URL(raw.trim())
  } catch {
    return null
  }
}

function userAgentFacts(ua: string | undefined): { device: Device | null; browser: string | null; os: string | null } {
  if (!ua?.trim()) return { device: null, browser: null, os: null }
  const parsed = Bowser.parse(ua)
  const type = parsed.platform.type as Device | undefined
  const device: Device | null = BOT_UA.test(ua) || type === 'bot' ? 'bot' : type && (DEVICES as readonly string[]).includes(type) ? type : null
  const major = parsed.browser.version?.split('.')[0]
  const browser = parsed.browser.name ? `${parsed.browser.name}${major ? ` ${major}` : ''}` : null
  // Operating system versions are left out: browsers freeze them in the user agent (macOS 10.15.7, Windows NT 10.0,
  // Android 10), so a version would often be wrong. iOS and iPadOS Safari still report theirs.
  const osName = parsed.os.name || null
  const osMajor = osName === 'iOS' ? parsed.os.version?.split('.')[0] : undefined
  return { device, browser, os: osName ? `${osName}${osMajor ? ` ${osMajor}` : ''}` : null }
}

function utmOf(page: URL | null): Utm {
  const utm: Utm = {}
  if (!page) return utm
  for (const key of UTM_KEYS) {
    const value = page.searchParams.get(`utm_${key}`)?.trim()
    if (value) utm[key] = value.slice(0, 200)
  }
  return utm
}

function mediumChannel(medium: string): Channel | null {
  const m = medium.toLowerCase().replace(/[\s_]+/g, '-')
  if (/^(cpc|ppc|cpm|cpv|cpa|cpp|display|banner|retargeting|remarketing|ads?)$/.test(m) || m.includes('paid')) return 'paid'
  if (/^(e-?mail|newsletter|edm)$/.test(m) || m.includes('email')) return 'email'
  if (/^(social|social-network|social-media|sm|social-post)$/.test(m)) return 'social'
  if (m === 'organic' || m === 'seo') return 'search'
  if (m === 'referral' || m === 'affiliate' || m === 'partner') return 'referral'
  return null
}

const fromClass = (c: ReturnType<typeof classifyReferrerHost>): Channel => (c === 'other' ? 'referral' : c)

/** The traffic source: utm parameters first (they are the marketer's own label), then click ids, then the referrer. */
export function trafficSource(pageUrl: string | undefined, referrer: string | undefined): TrafficSource {
  const page = parseUrl(pageUrl)
  const ref = parseUrl(referrer)
  const utm = utmOf(page)
  const params = page ? new Set([...page.searchParams.keys()].map((k) => k.toLowerCase())) : new Set<string>()
  const clickId = PAID_CLICK_IDS.find((k) => params.has(k)) ?? SOCIAL_CLICK_IDS.find((k) => params.has(k)) ?? null
  // An Android app referrer (android-app://com.google.android.gm/) names the app as its host.
  const refHost = ref?.hostname ? ref.hostname.toLowerCase() : null
  const sameSite = refHost !== null && page !== null && parseHost(refHost).domain === parseHost(page.hostname).domain
  const external = refHost && !sameSite ? refHost : null

  let channel: Channel
  if (utm.medium) channel = mediumChannel(utm.medium) ?? (utm.source ? sourceChannel(utm.source) : 'other')
  else if (utm.source) channel = sourceChannel(utm.source)
  else if (clickId && PAID_CLICK_IDS.includes(clickId)) channel = 'paid'
  else if (clickId) channel = 'social'
  else if (external) channel = fromClass(classifyReferrerHost(external))
  else if (page || ref) channel = 'direct'
  else channel = 'unknown'
  return { channel, referrer: external, utm, clickId }
}

function sourceChannel(source: string): Channel {
  const c = classifySourceName(source)
  return c === 'other' ? 'other' : c
}

/**
 * The offline enrichment of one input: no network, no clock, no randomness, so the same input always gives the
 * same result. A customer's firmographics webhook (firmographics.ts) may add to `company` afterwards.
 */
export async function enrich(input: EnrichInput): Promise<EnrichResult> {
  const reasons: string[] = []
  let score: number = POINTS.start
  const add = (points: number, text: string) => {
    score += points
    reasons.push(`${text} (${signed(points)})`)
  }

  const email = input.email?.trim() ? splitEmail(input.email.trim()) : null
  const domainSource = email ? 'email' : 'domain'
  const host = email ? normalizeDomain(email.domain) : input.domain ? normalizeDomain(input.domain) : null
  // The registrable domain (acme.co.uk for mail.acme.co.uk); a bare public suffix or an IP literal has none.
  const parsed = host ? parseHost(host) : null
  const domain = parsed?.domain && !parsed.isIp ? parsed.domain : null

  const disposable = host !== null && isDisposableDomain(host)
  const freeMail = host !== null && !disposable && isFreeMailDomain(host)
  const roleAddress = email !== null && ROLE_MAILBOXES.has(email.local)

  let company: Company | null = null
  if (!domain)
    add(POINTS.noDomain, host ? `${host} is not a registrable domain: nothing to judge the company by` : 'No email or domain: nothing to judge the company by')
  else if (disposable) add(POINTS.disposable, `Disposable email domain ${domain}: likely a throwaway address`)
  else if (freeMail) add(POINTS.freeMail, `Free email provider ${domain}: a personal address, not a company one`)
  else {
    add(POINTS.business, domainSource === 'email' ? `Business email domain ${domain}` : `Business domain ${domain}`)
    const known = KNOWN_COMPANIES[domain]
    if (known) {
      company = { name: known, domain, basis: 'known' }
      add(POINTS.knownCompany, `Known company: ${known}`)
    } else {
      const guess = nameFromDomain(domain)
      if (guess) {
        company = { name: guess, domain, basis: 'guessed' }
        reasons.push(guessedReason(guess))
      }
    }
  }
  if (roleAddress && email) add(POINTS.role, `Role address ${email.local}@: a shared inbox, not a person`)

  let country: string | null = null
  if (input.ip?.trim()) {
    const found = await countryOfIp(input.ip)
    if (found.country) {
      country = found.country
      add(POINTS.country, `IP address located in ${found.country}`)
    } else if (found.reason === 'reserved') reasons.push('IP address is private or reserved: no country')
    else if (found.reason === 'invalid') reasons.push('IP address is not valid: no country')
    else reasons.push('IP address is not in the country database')
  }

  const ua = userAgentFacts(input.userAgent)
  if (ua.device === 'bot') add(POINTS.bot, 'The user agent is a bot or an automated client')

  const source = trafficSource(input.pageUrl, input.referrer)
  if (INTENT_CHANNELS.has(source.channel)) {
    const via = source.utm.source ?? source.referrer ?? source.clickId
    add(POINTS.intent, `Arrived through ${source.channel}${via ? ` (${via})` : ''}`)
  }

  return {
    domain,
    company,
    freeMail,
    disposable,
    roleAddress,
    country,
    device: ua.device,
    browser: ua.browser,
    os: ua.os,
    source,
    score: Math.max(0, Math.min(100, score)),
    reasons,
  }
}

/** The result with a customer webhook's firmographics merged into `company` (its name wins: it knows better). */
export function withFirmographics(result: EnrichResult, extra: Firmographics): EnrichResult {
  if (!result.domain) return result
  const base = result.company ?? { name: extra.name ?? nameFromDomain(result.domain) ?? result.domain, domain: result.domain, basis: 'guessed' as const }
  const company: Company = { ...base, ...extra, name: extra.name ?? base.name, domain: base.domain, basis: extra.name ? 'webhook' : base.basis }
  let score = result.score
  // A name from the webhook replaces the guess, and the note that it was one.
  const reasons = extra.name && base.basis === 'guessed' ? result.reasons.filter((r) => r !== guessedReason(base.name)) : [...result.reasons]
  if (extra.name && base.basis !== 'known') {
    score = Math.max(0, Math.min(100, score + POINTS.knownCompany))
    reasons.push(`Known company: ${extra.name}, from your firmographics webhook (${signed(POINTS.knownCompany)})`)
  } else reasons.push('Firmographics added by your webhook')
  return { ...result, company, score, reasons }
}
