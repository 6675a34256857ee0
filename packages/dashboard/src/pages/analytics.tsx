// Conversation analytics for a product and a range of UTC days: the range's totals, daily uPlot charts (each with its
// numbers in a table for screen readers), the top questions and the top unanswered ones, and a CSV download.
import type { AnalyticsDay, AnalyticsParams, AnalyticsQuestionCount, WidgetProduct } from '@intelagent/sdk'
import { useEffect, useRef, useState } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { Me } from '../api.js'
import { api } from '../api.js'
import { ErrorNote, useLoad } from '../components.js'
import { analyticsExportUrl, formatDuration, PRODUCT_LABELS } from '../format.js'
import { ScrollRegion } from './billing.js'

const DAY_MS = 86_400_000
const isoDay = (t: number): string => new Date(t).toISOString().slice(0, 10)
const dayStart = (day: string): number => Date.parse(`${day}T00:00:00Z`)
const n = (v: number): string => v.toLocaleString('en')
const dayLabel = (day: string): string => new Date(dayStart(day)).toLocaleDateString('en', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' })

const percent = (v: number | null): string => (v === null ? 'none' : `${(v * 100).toLocaleString('en', { maximumFractionDigits: 1 })} %`)

interface Series {
  label: string
  stroke: string
  values: (number | null)[]
}

/** A uPlot line chart over days that fits its container's width and follows it on resize. */
function DayChart({ label, days, series }: { label: string; days: string[]; series: Series[] }) {
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
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, spanGaps: true }))],
      },
      [days.map((d) => dayStart(d) / 1000), ...series.map((s) => s.values)],
      el,
    )
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 240 }))
    resize.observe(el)
    return () => {
      resize.disconnect()
      plot.destroy()
    }
  }, [days.join(), series.map((s) => s.values.join()).join('|')])
  return <div ref={box} class="chart" role="img" aria-label={label} />
}

function Questions({ id, title, empty, list }: { id: string; title: string; empty: string; list: AnalyticsQuestionCount[] }) {
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {list.length === 0 ? (
        <p class="muted">{empty}</p>
      ) : (
        <ol class="top-questions">
          {list.map((q) => (
            <li key={q.question} class="top-questions-item">
              <span class="top-question">{q.question}</span> <span class="muted">({q.count === 1 ? 'once' : `${n(q.count)} times`})</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}

const COLUMNS: { key: keyof AnalyticsDay; label: string; format?: (d: AnalyticsDay) => string }[] = [
  { key: 'conversations', label: 'Conversations' },
  { key: 'messages', label: 'Messages' },
  { key: 'answeredByBot', label: 'Answered by the bot' },
  { key: 'answeredByPerson', label: 'Answered by a person' },
  { key: 'notAnswered', label: 'Not answered' },
  { key: 'ratedHelpful', label: 'Rated helpful' },
  { key: 'ratedNotHelpful', label: 'Rated not helpful' },
  { key: 'leads', label: 'Leads' },
  { key: 'conversion', label: 'Conversion', format: (d) => percent(d.conversion) },
  { key: 'medianFirstResponseMs', label: 'Median first response', format: (d) => formatDuration(d.medianFirstResponseMs) },
]

export function AnalyticsPage({ me }: { me: Me }) {
  const products = me.products.filter((p): p is WidgetProduct => p === 'chatbot' || p === 'sales-agent')
  const today = isoDay(Date.now())
  const [product, setProduct] = useState<WidgetProduct | ''>('')
  const [from, setFrom] = useState(isoDay(dayStart(today) - 29 * DAY_MS))
  const [to, setTo] = useState(today)
  const params: AnalyticsParams = { ...(product ? { product } : {}), from, to }
  const valid = from !== '' && to !== '' && from <= to
  const report = useLoad(() => (valid ? api.analytics.get(params) : Promise.resolve(undefined)), [product, from, to])
  const r = report.data
  const days = r?.days.map((d) => d.day) ?? []
  const t = r?.totals

  return (
    <>
      <h1>Analytics</h1>
      <form class="card filters" aria-label="Which figures" onSubmit={(e) => e.preventDefault()}>
        <div class="row">
          <label for="analytics-product">Product</label>
          <select id="analytics-product" value={product} onChange={(e) => setProduct(e.currentTarget.value as WidgetProduct | '')}>
            <option value="">All products</option>
            {products.map((p) => (
              <option key={p} value={p}>
                {PRODUCT_LABELS[p]}
              </option>
            ))}
          </select>
        </div>
        <div class="row">
          <label for="analytics-from">From (UTC)</label>
          <input id="analytics-from" type="date" required max={to || today} value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
        </div>
        <div class="row">
          <label for="analytics-to">To (UTC)</label>
          <input id="analytics-to" type="date" required min={from} value={to} onChange={(e) => setTo(e.currentTarget.value)} />
        </div>
        <div class="row filters-action">
          {valid ? (
            <a class="button" href={analyticsExportUrl(params)} download>
              Download CSV
            </a>
          ) : (
            <button type="button" disabled>
              Download CSV
            </button>
          )}
        </div>
      </form>
      {!valid && (
        <p class="note note-error" role="alert">
          Choose a first day on or before the last day.
        </p>
      )}
      <ErrorNote error={report.error} />
      {report.loading && !r && <p class="muted">Loading…</p>}
      {r && t && (
        <>
          <section class="card" aria-labelledby="totals-heading">
            <h2 id="totals-heading">
              {dayLabel(r.from)} to {dayLabel(r.to)}
            </h2>
            <dl class="facts">
              <dt>Conversations</dt>
              <dd>{n(t.conversations)}</dd>
              <dt>Messages</dt>
              <dd>
                {n(t.messages)} ({n(t.visitorMessages)} from visitors, {n(t.botMessages)} from the bot, {n(t.personMessages)} from people)
              </dd>
              <dt>Answered by the bot</dt>
              <dd>{n(t.answeredByBot)}</dd>
              <dt>Answered by a person</dt>
              <dd>{n(t.answeredByPerson)}</dd>
              <dt>Not answered</dt>
              <dd>{n(t.notAnswered)}</dd>
              <dt>Answer ratings</dt>
              <dd>
                {n(t.ratedHelpful)} helpful, {n(t.ratedNotHelpful)} not helpful
              </dd>
              <dt>Leads</dt>
              <dd>{n(t.leads)}</dd>
              <dt>Conversion</dt>
              <dd>{percent(t.conversion)}</dd>
              <dt>Median first response</dt>
              <dd>{formatDuration(t.medianFirstResponseMs)}</dd>
            </dl>
            <p class="hint">Days are UTC. A conversation counts on the day it started; messages, ratings and leads on the day they happened.</p>
          </section>

          <div class="two-columns">
            <Questions id="top-questions-heading" title="Top questions" empty="No questions in this range." list={r.topQuestions} />
            <Questions
              id="top-unanswered-heading"
              title="Top unanswered questions"
              empty="The bot answered every question in this range."
              list={r.topUnansweredQuestions}
            />
          </div>

          <section class="card" aria-labelledby="daily-heading">
            <h2 id="daily-heading">Day by day</h2>
            <DayChart
              label="Line chart of conversations per day and how they were answered; the numbers are in the table below"
              days={days}
              series={[
                { label: 'Conversations', stroke: '#4338ca', values: r.days.map((d) => d.conversations) },
                { label: 'Answered by the bot', stroke: '#0e7490', values: r.days.map((d) => d.answeredByBot) },
                { label: 'Answered by a person', stroke: '#15803d', values: r.days.map((d) => d.answeredByPerson) },
                { label: 'Not answered', stroke: '#b42318', values: r.days.map((d) => d.notAnswered) },
                { label: 'Leads', stroke: '#b45309', values: r.days.map((d) => d.leads) },
              ]}
            />
            <h3>Median first response (seconds)</h3>
            <DayChart
              label="Line chart of the median first-response time per day in seconds; the numbers are in the table below"
              days={days}
              series={[
                {
                  label: 'Median first response (s)',
                  stroke: '#7c3aed',
                  values: r.days.map((d) => (d.medianFirstResponseMs === null ? null : d.medianFirstResponseMs / 1000)),
                },
              ]}
            />
            <ScrollRegion label="Figures per day (scrolls sideways on small screens)">
              <table>
                <caption class="visually-hidden">Figures per day, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Day</th>
                    {COLUMNS.map((c) => (
                      <th key={c.key} scope="col">
                        {c.label}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {[...r.days].reverse().map((d) => (
                    <tr key={d.day}>
                      <th scope="row" class="nowrap">
                        <time dateTime={d.day}>{d.day}</time>
                      </th>
                      {COLUMNS.map((c) => (
                        <td key={c.key}>{c.format ? c.format(d) : n(d[c.key] as number)}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </ScrollRegion>
          </section>
        </>
      )}
    </>
  )
}
