// The enrichment rules on their own: domains, companies, role addresses, countries, user agents, traffic sources,
// and a score that is the sum of documented points, the same every time for the same input.
import { describe, expect, it } from 'vitest'
import { KNOWN_COMPANIES, nameFromDomain } from './data.js'
import { anonymizeIp, countryOfIp } from './ip-country.js'
import { enrich, normalizeDomain, POINTS, trafficSource, withFirmographics } from './service.js'

const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1'

describe('enrich', () => {
  it('scores a person at a business domain from a search visit as the ideal lead, with a reason per signal', async () => {
    const r = await enrich({
      email: 'Jane.Doe+spring@Mail.Stripe.com',
      ip: '81.2.69.160',
      userAgent: CHROME_WINDOWS,
      referrer: 'https://www.google.com/',
      pageUrl: 'https://shop.example.com/pricing',
    })
    expect(r).toMatchObject({
      domain: 'stripe.com',
      company: { name: 'Stripe', domain: 'stripe.com', basis: 'known' },
      freeMail: false,
      disposable: false,
      roleAddress: false,
      country: 'GB',
      device: 'desktop',
      browser: 'Chrome 126',
      os: 'Windows',
      source: { channel: 'search', referrer: 'www.google.com', utm: {}, clickId: null },
    })
    expect(r.score).toBe(POINTS.start + POINTS.business + POINTS.knownCompany + POINTS.country + POINTS.intent)
    expect(r.score).toBe(100)
    expect(r.reasons).toEqual([
      'Business email domain stripe.com (+25)',
      'Known company: Stripe (+15)',
      'IP address located in GB (+5)',
      'Arrived through search (www.google.com) (+5)',
    ])
  })

  it('marks free-mail, disposable and role addresses and scores them down', async () => {
    const free = await enrich({ email: 'someone@gmail.com' })
    expect(free).toMatchObject({ domain: 'gmail.com', freeMail: true, disposable: false, company: null })
    expect(free.score).toBe(POINTS.start + POINTS.freeMail)

    const throwaway = await enrich({ email: 'x@mailinator.com' })
    expect(throwaway).toMatchObject({ disposable: true, freeMail: false, company: null })
    expect(throwaway.score).toBe(POINTS.start + POINTS.disposable)
    expect(throwaway.reasons[0]).toMatch(/^Disposable email domain mailinator\.com/)

    const role = await enrich({ email: 'Info+web@acme-widgets.co.uk' })
    expect(role).toMatchObject({ roleAddress: true, domain: 'acme-widgets.co.uk', company: { name: 'Acme Widgets', basis: 'guessed' } })
    expect(role.score).toBe(POINTS.start + POINTS.business + POINTS.role)
    expect(role.reasons).toContain('Company name “Acme Widgets” is a guess from the domain, not verified')
    expect(role.reasons).toContain('Role address info@: a shared inbox, not a person (-15)')
  })

  it('takes the domain field when there is no email, and names no company for an IP-only input', async () => {
    expect(await enrich({ domain: 'WWW.Northwind-Traders.com' })).toMatchObject({ domain: 'northwind-traders.com', company: { name: 'Northwind Traders' } })
    const ipOnly = await enrich({ ip: '10.1.2.3' })
    expect(ipOnly).toMatchObject({ domain: null, company: null, country: null })
    expect(ipOnly.score).toBe(POINTS.start + POINTS.noDomain)
    expect(ipOnly.reasons).toEqual(['No email or domain: nothing to judge the company by (-20)', 'IP address is private or reserved: no country'])
  })

  it('gives no country for private, loopback, link-local, documentation and mapped-private addresses', async () => {
    for (const ip of [
      '10.0.0.1',
      '192.168.1.20',
      '172.16.5.4',
      '127.0.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '203.0.113.9',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:10.0.0.1',
    ]) {
      expect(await countryOfIp(ip), ip).toEqual({ country: null, reason: 'reserved' })
    }
    expect(await countryOfIp('2001:4860:4860::8888')).toEqual({ country: 'US' })
    expect(await countryOfIp('::ffff:81.2.69.160')).toEqual({ country: 'GB' })
  })

  it('reads the device, browser and operating system, and scores bots down', async () => {
    expect(await enrich({ userAgent: SAFARI_IPHONE, domain: 'acme.com' })).toMatchObject({ device: 'mobile', browser: 'Safari 17', os: 'iOS 17' })
    for (const ua of ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'curl/8.5.0', 'python-requests/2.32.0']) {
      const r = await enrich({ userAgent: ua, domain: 'acme.com' })
      expect(r.device, ua).toBe('bot')
      expect(r.reasons).toContain('The user agent is a bot or an automated client (-40)')
    }
  })

  it('is deterministic: the same input gives the same output, field for field and reason for reason', async () => {
    const input = {
      email: 'ops@globex.io',
      ip: '2a00:1450:4001:80e::200e',
      userAgent: CHROME_WINDOWS,
      pageUrl: 'https://a.example/?utm_source=li&utm_medium=paid_social',
    }
    const first = await enrich(input)
    for (let i = 0; i < 3; i++) expect(await enrich({ ...input })).toEqual(first)
    expect(JSON.stringify(await enrich(input))).toBe(JSON.stringify(first))
  })

  it('keeps the score within 0–100', async () => {
    const worst = await enrich({ email: 'noreply@mailinator.com', userAgent: 'curl/8.0' })
    expect(worst.score).toBe(0)
  })

  it('lets a webhook name replace a guessed company, and says so', async () => {
    const r = await enrich({ email: 'jo@initech.example.com' })
    expect(r.company).toMatchObject({ name: 'Example', basis: 'guessed' })
    const merged = withFirmographics(r, { name: 'Initech', industry: 'Software', employees: 120 })
    expect(merged.company).toEqual({ name: 'Initech', domain: 'example.com', basis: 'webhook', industry: 'Software', employees: 120 })
    expect(merged.score).toBe(r.score + POINTS.knownCompany)
    expect(merged.reasons.some((x) => x.includes('is a guess'))).toBe(false)
    expect(merged.reasons).toContain('Known company: Initech, from your firmographics webhook (+15)')
  })
})

describe('trafficSource', () => {
  const cases: [string | undefined, string | undefined, string, Record<string, string>?][] = [
    ['https://s.example/?utm_source=google&utm_medium=cpc&utm_campaign=brand', undefined, 'paid', { source: 'google', medium: 'cpc', campaign: 'brand' }],
    ['https://s.example/?utm_source=facebook&utm_medium=paid_social', 'https://l.facebook.com/', 'paid'],
    ['https://s.example/?utm_source=newsletter&utm_medium=email', undefined, 'email'],
    ['https://s.example/?utm_source=mailchimp', undefined, 'email'],
    ['https://s.example/?utm_source=linkedin&utm_medium=social', undefined, 'social'],
    ['https://s.example/?utm_medium=qr-code', undefined, 'other'],
    ['https://s.example/?gclid=abc', undefined, 'paid'],
    ['https://s.example/?fbclid=abc', 'https://m.facebook.com/', 'social'],
    ['https://s.example/', 'https://www.bing.com/search?q=x', 'search'],
    ['https://s.example/', 'https://duckduckgo.com/', 'search'],
    ['https://s.example/', 'https://t.co/abc', 'social'],
    ['https://s.example/', 'https://news.ycombinator.com/item?id=1', 'social'],
    ['https://s.example/', 'https://mail.google.com/', 'email'],
    ['https://s.example/', 'android-app://com.google.android.gm/', 'email'],
    ['https://s.example/', 'https://blog.partner.io/post', 'referral'],
    ['https://s.example/pricing', 'https://www.s.example/', 'direct'],
    ['https://s.example/', undefined, 'direct'],
    [undefined, undefined, 'unknown'],
  ]
  it.each(cases)('%s from %s is %s', (pageUrl, referrer, channel, utm) => {
    const s = trafficSource(pageUrl, referrer)
    expect(s.channel).toBe(channel)
    if (utm) expect(s.utm).toEqual(utm)
  })

  it('names an outside referrer by host, never the visitor’s own site', () => {
    expect(trafficSource('https://s.example/', 'https://blog.partner.io/post?x=1').referrer).toBe('blog.partner.io')
    expect(trafficSource('https://s.example/b', 'https://s.example/a').referrer).toBeNull()
  })
})

describe('reference data', () => {
  it('normalises domains and refuses what is not one', () => {
    expect(normalizeDomain('Bücher.DE.')).toBe('xn--bcher-kva.de')
    for (const bad of ['', 'localhost', 'a b.com', 'https://x.com/', 'jo@x.com', '-x.com', 'x..com']) expect(normalizeDomain(bad), bad).toBeNull()
  })

  it('title-cases the registrable label for a guessed company name', () => {
    expect(nameFromDomain('acme-widgets.co.uk')).toBe('Acme Widgets')
    expect(nameFromDomain('shop.globex.io')).toBe('Globex')
  })

  it('lists no well-known company under a free-mail or disposable domain', async () => {
    for (const domain of Object.keys(KNOWN_COMPANIES)) {
      const r = await enrich({ domain })
      expect(r.freeMail || r.disposable, domain).toBe(false)
      expect(r.company?.basis, domain).toBe('known')
    }
  })

  it('keeps only the network of a visitor’s address', () => {
    expect(anonymizeIp('81.2.69.160')).toBe('81.2.69.0')
    expect(anonymizeIp('2a00:1450:4001:80e::200e')).toBe('2a00:1450:4001::')
    expect(anonymizeIp('::ffff:81.2.69.160')).toBe('81.2.69.0')
    expect(anonymizeIp('unknown')).toBeNull()
  })
})
