// The onboarding wizard: enter your site → watch the crawl → see and edit the proposal → apply → try the bot in a
// live preview → copy the snippet. It drives the setup agent (/api/setup, docs/setup.md) with the session; the crawl
// is watched on the license's live event stream, and polled only while that stream is down.
import type { Setup, SetupApplyResult, WidgetProduct } from '@intelagent/sdk'
import { useCallback, useEffect, useState } from 'preact/hooks'
import { api } from '../api.js'
import { CopyButton, ErrorNote, Link, useAction } from '../components.js'
import { useLiveEvents, usePollUnlessLive } from '../live.js'
import { applyProgress, CrawlProgress, type CrawlState, fromSource } from './crawl-progress.js'

/** How often the setup is fetched again while its crawl runs and the live stream is down. */
const POLL_MS = 1500
const finished = (status: Setup['status']) => status === 'ready' || status === 'failed'
const STATUS: Record<Setup['status'], string> = { queued: 'Queued', crawling: 'Crawling your site…', ready: 'Ready', failed: 'Failed' }

export function SetupPage({ products }: { products: string[] }) {
  const widgetProducts = products.filter((p): p is WidgetProduct => p === 'chatbot' || p === 'sales-agent')
  const [product, setProduct] = useState<WidgetProduct>(widgetProducts[0] ?? 'chatbot')
  const [url, setUrl] = useState('')
  const [setup, setSetup] = useState<Setup | null>(null)
  const [result, setResult] = useState<SetupApplyResult | null>(null)
  const start = useAction()
  // Every source's crawl, by id: events may arrive before POST /api/setup has answered with the id to watch.
  const [crawls, setCrawls] = useState<Record<string, CrawlState>>({})
  const live = useLiveEvents((e) => {
    if (e.type === 'knowledge.source.progress') setCrawls((prev) => ({ ...prev, [e.sourceId]: applyProgress(prev[e.sourceId], e) }))
  })
  const crawl = setup ? crawls[setup.id] : undefined
  const status = crawl?.status ?? setup?.status
  const running = status === 'queued' || status === 'crawling'
  const id = setup?.id
  const refresh = useCallback(() => {
    if (id) api.setup.get(id).then(setSetup, () => {})
  }, [id])
  // The crawl ended: the proposal is ready to read (the event goes out after the crawl's last write).
  useEffect(() => {
    if (setup && crawl && finished(crawl.status) && setup.status !== crawl.status) refresh()
  }, [crawl?.status, setup?.status, refresh])
  usePollUnlessLive(live, running, refresh, POLL_MS)

  async function submit(e: Event) {
    e.preventDefault()
    setResult(null)
    await start.run(async () => setSetup(await api.setup.create({ product, url: url.trim() })))
  }

  if (widgetProducts.length === 0)
    return (
      <>
        <h1>Set up your bot</h1>
        <p>This license has no chatbot or sales agent to set up.</p>
      </>
    )

  return (
    <>
      <h1>Set up your bot</h1>
      <p class="hint page-intro">
        Enter your website: the setup agent reads it, proposes a greeting, questions and your brand colour, and gives you the snippet.
      </p>
      <section aria-labelledby="step-site">
        <h2 id="step-site">1. Your site</h2>
        <form onSubmit={submit}>
          {widgetProducts.length > 1 && (
            <label>
              Product
              <select value={product} onChange={(e) => setProduct((e.currentTarget as HTMLSelectElement).value as WidgetProduct)}>
                {widgetProducts.map((p) => (
                  <option key={p} value={p}>
                    {p === 'chatbot' ? 'Chatbot' : 'Sales agent'}
                  </option>
                ))}
              </select>
            </label>
          )}
          <label>
            Website address
            <input
              type="url"
              required
              placeholder="https://www.example.com/"
              value={url}
              onInput={(e) => setUrl((e.currentTarget as HTMLInputElement).value)}
            />
          </label>
          <ErrorNote error={start.error} />
          <div class="actions">
            <button type="submit" disabled={start.busy || running}>
              Read my site
            </button>
          </div>
        </form>
      </section>
      {setup && (
        <section aria-labelledby="step-crawl">
          <h2 id="step-crawl">2. Reading your site</h2>
          <p>
            <span aria-live="polite" class={`status ${status === 'ready' ? 'status-active' : status === 'failed' ? 'status-revoked' : ''}`}>
              {STATUS[status ?? setup.status]}
            </span>
          </p>
          <CrawlProgress name={setup.source.url ?? 'your site'} state={crawl ?? fromSource(setup.source)} />
          {setup.source.error && <p class="note note-error">{setup.source.error}</p>}
        </section>
      )}
      {setup?.proposal && <ProposalForm setup={setup} proposal={setup.proposal} onApplied={setResult} />}
      {result && <Preview result={result} />}
    </>
  )
}

function ProposalForm({ setup, proposal, onApplied }: { setup: Setup; proposal: NonNullable<Setup['proposal']>; onApplied: (r: SetupApplyResult) => void }) {
  const [greeting, setGreeting] = useState(proposal.greeting)
  const [questions, setQuestions] = useState(proposal.suggestedQuestions.join('\n'))
  const [color, setColor] = useState(proposal.brandColor ?? '#4f46e5')
  const { busy, error, run } = useAction()
  async function apply(e: Event) {
    e.preventDefault()
    await run(async () => {
      const suggestedQuestions = questions
        .split('\n')
        .map((q) => q.trim())
        .filter(Boolean)
        .slice(0, 5)
      await api.setup.apply(setup.id, { greeting, suggestedQuestions, brandColor: color, allowedOrigin: proposal.allowedOrigin })
      // The preview runs on this dashboard, so its origin is allowed too.
      onApplied(await api.setup.apply(setup.id, { allowedOrigin: location.origin }))
    })
  }
  return (
    <section aria-labelledby="step-proposal">
      <h2 id="step-proposal">3. The proposal</h2>
      <form onSubmit={apply}>
        <label>
          Greeting
          <input type="text" maxLength={500} value={greeting} onInput={(e) => setGreeting((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label>
          Suggested questions (one per line, up to five, each up to 120 characters)
          <textarea rows={5} value={questions} onInput={(e) => setQuestions((e.currentTarget as HTMLTextAreaElement).value)} />
        </label>
        <label>
          Brand colour
          <input type="color" value={color} onInput={(e) => setColor((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <p class="hint">
          Allowed site: <code>{proposal.allowedOrigin}</code>
        </p>
        <ErrorNote error={error} />
        <div class="actions">
          <button type="submit" disabled={busy}>
            Apply
          </button>
        </div>
      </form>
    </section>
  )
}

function Preview({ result }: { result: SetupApplyResult }) {
  return (
    <section aria-labelledby="step-try">
      <h2 id="step-try">4. Try it and add it to your site</h2>
      <p class="hint">The bot below is the real one, with your settings. Paste the snippet before the closing &lt;/body&gt; tag of your pages.</p>
      <iframe title="Live preview of your bot" class="setup-preview" srcdoc={`<!doctype html><html lang="en"><body>${result.embedCode}</body></html>`} />
      <pre>
        <code>{result.embedCode}</code>
      </pre>
      <CopyButton text={result.embedCode} label="Copy snippet" />
      <p>
        <Link to="/">Back to your products</Link>
      </p>
    </section>
  )
}
