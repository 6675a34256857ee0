// Answer quality on a small labelled set: a local help site is crawled, then each question (worded as a visitor
// would, not copied from the page) is asked of retrieval; hit@1 and hit@3 say how often the page that answers it
// ranks first, or in the top three. The floor below fails the test when ranking gets worse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeHost, fakeHost } from '../../test/fake-host.js'
import { newLicense } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { addKnowledge } from './knowledge.js'
import { retrieve } from './queries.js'

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><title>${title}</title></head><body><header><nav><a href="/">Help centre</a></nav></header><main><h1>${title}</h1>${body}</main><footer>Questions? Write to help@example.com</footer></body></html>`

const SITE: Record<string, [string, string]> = {
  '/pricing': [
    'Plans and pricing',
    '<h2>Plans</h2><p>The Basic plan costs 9 dollars a month for one user. The Team plan costs 29 dollars a month and includes five users and shared inboxes.</p><h2>Discounts</h2><p>Paying yearly saves two months. Non-profit organisations get half price on any plan.</p>',
  ],
  '/billing': [
    'Billing and invoices',
    '<h2>Invoices</h2><p>Invoices are emailed on the first day of each billing period and can be downloaded as PDF from the account page.</p><h2>Payment methods</h2><p>We accept Visa, Mastercard, American Express and bank transfer for annual contracts.</p>',
  ],
  '/cancel': [
    'Cancelling your subscription',
    '<p>You can cancel your subscription at any time from the account settings. Your workspace stays active until the end of the period you paid for, then it is archived for ninety days before deletion.</p>',
  ],
  '/security': [
    'Security and privacy',
    '<h2>Encryption</h2><p>All data is encrypted in transit with TLS and at rest with AES-256.</p><h2>Data location</h2><p>Customer data is stored in data centres in Frankfurt, Germany, and never leaves the European Union.</p>',
  ],
  '/integrations': [
    'Integrations',
    '<p>Connect the app to Slack, Microsoft Teams, Zapier and Salesforce. The Slack integration posts new conversations to a channel of your choice and lets agents reply from a thread.</p>',
  ],
  '/api': [
    'Developer API',
    '<h2>Authentication</h2><p>The REST API uses bearer tokens created under Settings, API tokens. Each token can be limited to read-only access.</p><h2>Rate limits</h2><p>Each token may make 600 requests per minute; further requests are answered with status 429.</p>',
  ],
  '/mobile': [
    'Mobile apps',
    '<p>Native apps for iPhone and Android let agents answer conversations on the go and receive push notifications for new messages. Download them from the App Store or Google Play.</p>',
  ],
  '/support': [
    'Contact support',
    '<p>Our support team answers by chat and email from 8am to 8pm Central European Time on weekdays. Team plan customers also get phone support with a named account manager.</p>',
  ],
}

/** Question → the page that answers it. */
const LABELLED: [string, string][] = [
  ['How much does the Team plan cost?', '/pricing'],
  ['Is there a discount for charities or non-profits?', '/pricing'],
  ['Where can I download my invoices?', '/billing'],
  ['Can I pay with American Express?', '/billing'],
  ['What happens to my workspace if I cancel?', '/cancel'],
  ['Is my data encrypted?', '/security'],
  ['In which country is customer data stored?', '/security'],
  ['Do you integrate with Slack?', '/integrations'],
  ['How many API requests can I make per minute?', '/api'],
  ['How do I authenticate with the REST API?', '/api'],
  ['Is there an Android app?', '/mobile'],
  ['When is support available by chat?', '/support'],
]

describe('answer quality on a labelled question set', () => {
  let app: TestApp
  let site: FakeHost
  let licenseId = ''

  beforeAll(async () => {
    site = await fakeHost()
    site.on('GET', '/robots.txt', () => new Response('User-agent: *\nAllow: /\n', { headers: { 'content-type': 'text/plain' } }))
    const links = Object.keys(SITE)
      .map((p) => `<a href="${p}">${SITE[p]?.[0]}</a>`)
      .join(' ')
    site.on(
      'GET',
      '/',
      () =>
        new Response(
          page(
            'Help centre',
            `<p>Find answers about plans, billing, security, integrations and our apps in the articles below, all kept up to date by our team.</p><p>${links}</p>`,
          ),
          { headers: { 'content-type': 'text/html' } },
        ),
    )
    for (const [path, [title, body]] of Object.entries(SITE))
      site.on('GET', path, () => new Response(page(title, body), { headers: { 'content-type': 'text/html' } }))
    app = await createTestApp({ env: { OUTBOUND_ALLOW_HOSTS: site.hostPort } })
    licenseId = (await newLicense(app)).id
    // The owner's own Q&A competes with the crawled pages (reciprocal rank fusion) and must not crowd them out.
    await addKnowledge(app.deps.db, licenseId, 'chatbot', { kind: 'qa', title: 'What are your opening hours?', body: 'We are open 9 to 5 on weekdays.' })
    await addKnowledge(app.deps.db, licenseId, 'chatbot', { kind: 'qa', title: 'Do you offer a free trial?', body: 'Yes, 14 days, no card needed.' })
    const source = await app.knowledge.create(licenseId, { product: 'chatbot', kind: 'site', url: `${site.origin}/` })
    await app.jobs.idle(60_000)
    const row = await app.deps.db.selectFrom('knowledge_sources').select(['status', 'pages_fetched']).where('id', '=', source.id).executeTakeFirstOrThrow()
    expect(row).toEqual({ status: 'ready', pages_fetched: Object.keys(SITE).length + 1 })
  }, 90_000)
  afterAll(async () => {
    await app?.shutdown()
    await site?.close()
  })

  it('ranks the answering page first for most questions and in the top three for nearly all', async () => {
    let hit1 = 0
    let hit3 = 0
    const misses: string[] = []
    for (const [question, path] of LABELLED) {
      const top = await retrieve(app.deps, licenseId, 'chatbot', question, 3)
      const urls = top.map((c) => (c.url ? new URL(c.url).pathname : `qa:${c.title}`))
      if (urls[0] === path) hit1++
      else misses.push(`${question} → ${urls.join(', ')}`)
      if (urls.includes(path)) hit3++
    }
    const n = LABELLED.length
    console.info(
      `knowledge retrieval: hit@1 ${(hit1 / n).toFixed(2)}, hit@3 ${(hit3 / n).toFixed(2)} on ${n} questions${misses.length ? `; missed at 1: ${misses.join(' | ')}` : ''}`,
    )
    expect(hit1 / n).toBeGreaterThanOrEqual(0.75)
    expect(hit3 / n).toBeGreaterThanOrEqual(0.9)
  })

  it('still answers the owner’s own Q&A first when it is the better match', async () => {
    const top = await retrieve(app.deps, licenseId, 'chatbot', 'What are your opening hours?', 1)
    expect(top[0]).toMatchObject({ kind: 'qa', title: 'What are your opening hours?' })
  })
})
