// Operators' platform figures: active licenses, MRR and ARR from subscription state, the MRR history, new and
// churned subscriptions per month (uPlot charts, each with its numbers in a table for screen readers), trial-to-paid, and what the nightly
// Stripe reconciliation repaired.
import type { PlatformFigures } from '@intelagent/sdk'
import { Fragment } from 'preact'
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { api } from '../api.js'
import { ErrorNote, useLoad } from '../components.js'
import { formatWhen } from '../format.js'
import { formatMoney, ScrollRegion } from './billing.js'

const monthStart = (m: string): number => Date.UTC(Number(m.slice(0, 4)), Number(m.slice(5, 7)) - 1, 1) / 1000

/** A uPlot chart that fits its container's width and follows it on resize. */
function Chart({ label, months, series }: { label: string; months: string[]; series: { label: string; values: number[]; stroke: string; bars?: boolean }[] }) {
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const el = box.current
    if (!el) return
    const bars = uPlot.paths.bars?.({ size: [0.6, 40] })
    const plot = new uPlot(
      {
        width: Math.max(280, el.clientWidth),
        height: 240,
        scales: { x: { time: true } },
        axes: [{ stroke: '#3d4450' }, { stroke: '#3d4450' }],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.stroke,
            width: 2,
            ...(s.bars && bars ? { paths: bars, fill: `${s.stroke}55` } : {}),
          })),
        ],
      },
      [months.map(monthStart), ...series.map((s) => s.values)],
      el,
    )
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 240 }))
    resize.observe(el)
    return () => {
      resize.disconnect()
      plot.destroy()
    }
  }, [months.join(), series.map((s) => s.values.join()).join('|')])
  return <div ref={box} class="chart" role="img" aria-label={label} />
}

export function FiguresPage() {
  const figures = useLoad(() => api.figures.get(), [])
  const runs = useLoad(() => api.figures.reconciliations({ limit: 10 }), [])
  const f: PlatformFigures | undefined = figures.data
  const months = f?.months.map((m) => m.month) ?? []
  let net = 0
  const cumulative = f?.months.map((m) => (net += m.new - m.churned)) ?? []
  // The MRR history charts the currency with the most revenue now (or the first seen in the history).
  const currency = f?.revenue[0]?.currency ?? f?.months.flatMap((m) => Object.keys(m.mrr))[0]
  const mrrHistory = currency ? (f?.months.map((m) => (m.mrr[currency] ?? 0) / 100) ?? []) : []

  return (
    <>
      <h1>Figures</h1>
      <ErrorNote error={figures.error} />
      {figures.loading && !f && <p class="muted">Loading…</p>}
      {f && (
        <>
          <section class="card" aria-labelledby="revenue-heading">
            <h2 id="revenue-heading">Revenue and licenses</h2>
            <dl class="facts">
              <dt>Active licenses</dt>
              <dd>
                {f.activeLicenses}
                {Object.keys(f.activeByTier).length > 0 &&
                  ` (${Object.entries(f.activeByTier)
                    .map(([t, n]) => `${t} ${n}`)
                    .join(', ')})`}
              </dd>
              <dt>Paying subscriptions</dt>
              <dd>{f.payingSubscriptions}</dd>
              {f.revenue.length === 0 && (
                <>
                  <dt>MRR</dt>
                  <dd>None yet</dd>
                </>
              )}
              {f.revenue.map((r) => (
                <Fragment key={r.currency}>
                  <dt>MRR ({r.currency.toUpperCase()})</dt>
                  <dd>{formatMoney(r.mrr, r.currency)}</dd>
                  <dt>ARR ({r.currency.toUpperCase()})</dt>
                  <dd>{formatMoney(r.arr, r.currency)}</dd>
                </Fragment>
              ))}
              <dt>Trial to paid</dt>
              <dd>
                {f.trialToPaid.rate === null
                  ? 'No trials yet'
                  : `${Math.round(f.trialToPaid.rate * 100)} % (${f.trialToPaid.converted} of ${f.trialToPaid.trials - f.trialToPaid.ongoing} decided trials)`}
                {f.trialToPaid.ongoing > 0 && `; ${f.trialToPaid.ongoing} still in trial`}
              </dd>
            </dl>
          </section>

          {currency && (
            <section class="card" aria-labelledby="mrr-heading">
              <h2 id="mrr-heading">MRR per month ({currency.toUpperCase()})</h2>
              <p class="hint">At each month’s end, from when subscriptions were first paid and when they ended, at today’s prices; this month is now.</p>
              <Chart
                label={`Line chart of monthly recurring revenue in ${currency.toUpperCase()} for the last 12 months; the numbers are in the table below`}
                months={months}
                series={[{ label: `MRR (${currency.toUpperCase()})`, values: mrrHistory, stroke: '#6f42c1' }]}
              />
              <ScrollRegion label="MRR per month (scrolls sideways on small screens)">
                <table>
                  <caption>MRR per month</caption>
                  <thead>
                    <tr>
                      <th scope="col">Month</th>
                      <th scope="col">MRR</th>
                    </tr>
                  </thead>
                  <tbody>
                    {f.months.map((m) => (
                      <tr key={m.month}>
                        <th scope="row">{m.month}</th>
                        <td>{formatMoney(m.mrr[currency] ?? 0, currency)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </ScrollRegion>
            </section>
          )}

          <section class="card" aria-labelledby="months-heading">
            <h2 id="months-heading">New and churned subscriptions per month</h2>
            <Chart
              label="Bar chart of new and churned subscriptions for each of the last 12 months; the same numbers are in the table below"
              months={months}
              series={[
                { label: 'New', values: f.months.map((m) => m.new), stroke: '#1a7f37', bars: true },
                { label: 'Churned', values: f.months.map((m) => m.churned), stroke: '#b42318', bars: true },
              ]}
            />
            <h3>Net subscriptions gained since the first month shown</h3>
            <Chart
              label="Line chart of net subscriptions gained, month by month; the numbers are in the table below"
              months={months}
              series={[{ label: 'Net gained', values: cumulative, stroke: '#1f5fbf' }]}
            />
            <ScrollRegion label="Subscriptions per month (scrolls sideways on small screens)">
              <table>
                <caption>Subscriptions per month</caption>
                <thead>
                  <tr>
                    <th scope="col">Month</th>
                    <th scope="col">New</th>
                    <th scope="col">Churned</th>
                    <th scope="col">Net gained so far</th>
                  </tr>
                </thead>
                <tbody>
                  {f.months.map((m, i) => (
                    <tr key={m.month}>
                      <th scope="row">{m.month}</th>
                      <td>{m.new}</td>
                      <td>{m.churned}</td>
                      <td>{cumulative[i]}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </ScrollRegion>
          </section>
        </>
      )}

      <section aria-labelledby="reconciliation-heading">
        <h2 id="reconciliation-heading">Stripe reconciliation</h2>
        <p class="hint">Every night each subscription is compared with Stripe and missed events are fetched; repairs are listed here.</p>
        <ErrorNote error={runs.error} />
        {runs.data && runs.data.length === 0 && <p class="muted">No run yet.</p>}
        {runs.data && runs.data.length > 0 && (
          <ScrollRegion label="Reconciliation runs (scrolls sideways on small screens)">
            <table>
              <caption class="visually-hidden">Reconciliation runs, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Subscriptions checked</th>
                  <th scope="col">Missed events</th>
                  <th scope="col">Repairs</th>
                </tr>
              </thead>
              <tbody>
                {runs.data.map((r) => (
                  <tr key={r.id} class={r.error ? 'row-warn' : undefined}>
                    <td>
                      <time dateTime={r.startedAt}>{formatWhen(r.startedAt)}</time>
                    </td>
                    <td>{r.checked}</td>
                    <td>{r.missedEvents}</td>
                    <td>
                      {r.error
                        ? `Failed: ${r.error}`
                        : r.repairs.length === 0
                          ? 'Nothing to repair'
                          : r.repairs
                              .map((x) => `${x.kind === 'drift' ? 'Drift' : 'Missed event'} on license ${String(x.licenseId ?? '?').slice(0, 8)}`)
                              .join('; ')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
      </section>
    </>
  )
}
