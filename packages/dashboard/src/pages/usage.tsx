// This billing period's usage: a bar per quota with its forecast, a daily chart (uPlot) with its numbers in a table
// for screen readers, and the banner every page shows from 80 % of a quota.
import type { QuotaName, QuotaUse, Usage } from '@intelagent/sdk'
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { api } from '../api.js'
import { ErrorNote, Link, useLoad } from '../components.js'

export const QUOTA_LABELS: Record<QuotaName, string> = {
  conversations: 'Conversations',
  messages: 'Visitor messages',
  aiReplies: 'AI replies',
  apiCalls: 'API calls',
  enrichments: 'Enrichments',
  knowledgePages: 'Knowledge pages',
  products: 'Products',
  seats: 'Seats',
}

/** Counted through the period (the rest are gauges: what is in use now). */
const METERED: readonly QuotaName[] = ['conversations', 'messages', 'aiReplies', 'apiCalls', 'enrichments']

const SERIES = [
  { key: 'conversations', stroke: '#4338ca' },
  { key: 'messages', stroke: '#0e7490' },
  { key: 'aiReplies', stroke: '#b45309' },
  { key: 'apiCalls', stroke: '#15803d' },
  { key: 'enrichments', stroke: '#be185d' },
] as const

/** What a used-up quota means for the owner, in the banner. */
const WHEN_USED_UP: Partial<Record<QuotaName, string>> = {
  enrichments: 'Enrichment requests are refused and new leads stay unenriched until the period ends.',
}

const n = (v: number): string => v.toLocaleString('en')
const day = (iso: string): string => new Date(iso).toLocaleDateString('en', { day: 'numeric', month: 'long', timeZone: 'UTC' })
const pct = (q: QuotaUse): number => (q.limit > 0 ? Math.min(100, Math.round((q.used / q.limit) * 100)) : 100)

/** The daily chart: one line per counted quota, fitted to its container's width. */
function DailyChart({ usage }: { usage: Usage }) {
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const el = box.current
    if (!el) return
    const plot = new uPlot(
      {
        width: Math.max(280, el.clientWidth),
        height: 240,
        scales: { x: { time: true } },
        axes: [{ stroke: '#3d4450' }, { stroke: '#3d4450' }],
        series: [{}, ...SERIES.map((s) => ({ label: QUOTA_LABELS[s.key], stroke: s.stroke, width: 2 }))],
      },
      [usage.daily.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000), ...SERIES.map((s) => usage.daily.map((d) => d[s.key]))],
      el,
    )
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 240 }))
    resize.observe(el)
    return () => {
      resize.disconnect()
      plot.destroy()
    }
  }, [usage])
  return <div ref={box} class="chart" role="img" aria-label="Daily usage this period (the table below has the numbers)" />
}

function QuotaBar({ q }: { q: QuotaUse }) {
  const id = `quota-${q.quota}`
  const forecastPct = q.limit > 0 ? Math.min(100, Math.round((q.forecast / q.limit) * 100)) : 100
  return (
    <li class={`quota quota-${q.status}`}>
      <div class="quota-top">
        <span id={id}>{QUOTA_LABELS[q.quota]}</span>
        <span>
          {n(q.used)} of {n(q.limit)}
        </span>
      </div>
      <div class="quota-bar">
        <meter aria-labelledby={id} min={0} max={q.limit} low={q.limit * 0.8} high={q.limit * 0.99} optimum={0} value={Math.min(q.used, q.limit)} />
        {q.forecast > q.used && <span class="quota-forecast" style={{ left: `${forecastPct}%` }} aria-hidden="true" />}
      </div>
      <p class="hint">
        {!METERED.includes(q.quota)
          ? `${n(q.used)} of ${n(q.limit)} in use.`
          : q.status === 'exceeded'
            ? `Used up until ${day(q.periodEnd)}.`
            : q.runsOutAt
              ? `At this pace it runs out around ${day(q.runsOutAt)} (forecast ${n(q.forecast)}).`
              : q.forecast > q.used
                ? `Forecast for the period: ${n(q.forecast)} (${Math.round((q.forecast / Math.max(1, q.limit)) * 100)} %).`
                : `${pct(q)} % used.`}
      </p>
    </li>
  )
}

export function UsagePage() {
  const usage = useLoad(() => api.usage.get(), [])
  const u = usage.data
  return (
    <>
      <h1>Usage</h1>
      <ErrorNote error={usage.error} />
      {usage.loading && !u && <p class="muted">Loading…</p>}
      {u && (
        <>
          <p class="hint">
            Plan <strong>{u.plan}</strong>, billing period {day(u.periodStart)} to {day(new Date(Date.parse(u.periodEnd) - 1).toISOString())}. Forecasts assume
            this period's pace continues. <Link to="/billing">Change plan</Link>
          </p>
          <section class="card" aria-labelledby="quotas-heading">
            <h2 id="quotas-heading">Quotas</h2>
            <ul class="plain quotas">
              {u.quotas.map((q) => (
                <QuotaBar key={q.quota} q={q} />
              ))}
            </ul>
          </section>
          <section class="card" aria-labelledby="daily-heading">
            <h2 id="daily-heading">Day by day</h2>
            <DailyChart usage={u} />
            {/* biome-ignore lint/a11y/noNoninteractiveTabindex: on a phone the table scrolls sideways; a scrolling region must take keyboard focus (axe scrollable-region-focusable) */}
            <section class="table-wrap" aria-label="Usage per day" tabIndex={0}>
              <table>
                <caption class="visually-hidden">Usage per day</caption>
                <thead>
                  <tr>
                    <th scope="col">Day</th>
                    {SERIES.map((s) => (
                      <th key={s.key} scope="col">
                        {QUOTA_LABELS[s.key]}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {[...u.daily].reverse().map((d) => (
                    <tr key={d.day}>
                      <th scope="row">{day(`${d.day}T00:00:00Z`)}</th>
                      {SERIES.map((s) => (
                        <td key={s.key}>{n(d[s.key])}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          </section>
        </>
      )}
    </>
  )
}

/** Shown on every page from 80 % of any quota (or when one is forecast to run out), with an upgrade button. */
export function UsageBanner({ section }: { section: string }) {
  // Reloaded on navigation, so a page visit sees fresh figures.
  const usage = useLoad(() => api.usage.get(), [section])
  const near = usage.data?.quotas.filter((q) => q.status !== 'ok' && METERED.includes(q.quota)) ?? []
  if (near.length === 0) return null
  const over = near.filter((q) => q.status === 'exceeded')
  const worst = over[0] ?? near[0]
  if (!worst) return null
  const text =
    over.length > 0
      ? `${QUOTA_LABELS[worst.quota]}: all ${n(worst.limit)} of this period are used. ${WHEN_USED_UP[worst.quota] ?? 'Visitors still reach you, but a person has to answer them.'}`
      : `${QUOTA_LABELS[worst.quota]}: ${pct(worst)} % of this period's ${n(worst.limit)} are used${worst.runsOutAt ? `; at this pace they run out around ${day(worst.runsOutAt)}` : ''}.`
  return (
    <div class={`note banner ${over.length > 0 ? 'note-error' : 'note-warn'}`} role="status">
      <span>{text}</span>
      <a class="button" href="/dashboard/billing">
        Upgrade
      </a>
      {section !== '/usage' && <Link to="/usage">See usage</Link>}
    </div>
  )
}
