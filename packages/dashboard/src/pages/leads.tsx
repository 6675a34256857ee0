// Leads left through the widgets (the sales agent's contact form), newest first.
import type { Lead, Page, WidgetProduct } from '@intelagent/sdk'
import { useEffect, useState } from 'preact/hooks'
import type { Me } from '../api.js'
import { api } from '../api.js'
import { ErrorNote, Link, useAction } from '../components.js'
import { CompanyCell, EmailFlags, ScoreDetails, sourceText } from '../enrichment-view.js'
import { formatWhen, PRODUCT_LABELS } from '../format.js'

export function LeadsPage({ me }: { me: Me }) {
  const products = me.products.filter((p): p is WidgetProduct => p === 'sales-agent' || p === 'chatbot').sort((a) => (a === 'sales-agent' ? -1 : 1))
  const [product, setProduct] = useState<WidgetProduct | undefined>(products[0])
  const [leads, setLeads] = useState<Lead[]>([])
  const [page, setPage] = useState<Page<Lead> | null>(null)
  const { busy, error, run } = useAction()

  useEffect(() => {
    if (!product) return
    void run(async () => {
      const first = await api.leads.list({ product, limit: 50 })
      setPage(first)
      setLeads(first.data)
    })
  }, [product, run])

  const more = () =>
    run(async () => {
      if (!page?.hasNextPage()) return
      const next = await page.getNextPage()
      setPage(next)
      setLeads((prev) => [...prev, ...next.data])
    })

  return (
    <>
      <h1>Leads</h1>
      {products.length === 0 && <p>Leads come from the sales agent and the chatbot; this license has neither.</p>}
      {products.length > 1 && (
        <fieldset class="tabs">
          <legend class="visually-hidden">Product</legend>
          {products.map((p) => (
            <label key={p} class={p === product ? 'tab tab-active' : 'tab'}>
              <input type="radio" name="lead-product" value={p} checked={p === product} onChange={() => setProduct(p)} />
              {PRODUCT_LABELS[p]}
            </label>
          ))}
        </fieldset>
      )}
      <ErrorNote error={error} />
      {product && leads.length === 0 && !busy && <p class="muted">No leads yet.</p>}
      {leads.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Leads, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Company</th>
                <th scope="col">Country</th>
                <th scope="col">Source</th>
                <th scope="col">Score</th>
                <th scope="col">Message and answers</th>
                <th scope="col">Conversation</th>
              </tr>
            </thead>
            <tbody>
              {leads.map((l) => (
                <tr key={l.id}>
                  <td>
                    <time dateTime={l.createdAt}>{formatWhen(l.createdAt)}</time>
                  </td>
                  <td>{l.name}</td>
                  <td>
                    <a href={`mailto:${l.email}`}>{l.email}</a>
                    {l.enrichment && <EmailFlags result={l.enrichment} />}
                  </td>
                  <td>
                    <CompanyCell result={l.enrichment} typed={l.company} />
                  </td>
                  <td>{l.enrichment?.country ?? ''}</td>
                  <td>{l.enrichment ? sourceText(l.enrichment.source) : ''}</td>
                  <td>{l.enrichment ? <ScoreDetails result={l.enrichment} /> : <span class="muted small">Not enriched yet</span>}</td>
                  <td>
                    {l.message && <p>{l.message}</p>}
                    {l.answers && Object.keys(l.answers).length > 0 && (
                      <dl class="answers">
                        {Object.entries(l.answers).map(([q, a]) => (
                          <div key={q}>
                            <dt>{q}</dt>
                            <dd>{a}</dd>
                          </div>
                        ))}
                      </dl>
                    )}
                  </td>
                  <td>{l.conversationId ? <Link to={`/conversations/${l.conversationId}`}>Open</Link> : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page?.hasNextPage() && (
        <button type="button" class="button-secondary" onClick={more} disabled={busy}>
          Load older leads
        </button>
      )}
    </>
  )
}
