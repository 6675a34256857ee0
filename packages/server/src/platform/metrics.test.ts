import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Customer, newCustomer } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { createLogger } from './logger.js'

const TOKEN = 'metrics-token-0123456789'

describe('GET /metrics', () => {
  let app: TestApp
  let customer: Customer

  beforeAll(async () => {
    app = await createTestApp({ env: { METRICS_TOKEN: TOKEN } })
    customer = await newCustomer(app)
  })
  afterAll(async () => app.shutdown())

  it('answers only with the Bearer METRICS_TOKEN: no token, a wrong one, or a session get 404', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Bearer ${TOKEN}x`, `Bearer ${customer.token}`]) {
      const res = await app.request('/metrics', authorization ? { headers: { authorization } } : {})
      expect(res.status, authorization).toBe(404)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found')
    }
  })

  it('counts requests by route pattern and status, and reports dependencies and the event loop', async () => {
    const conv = '00000000-0000-4000-8000-000000000001'
    await app.request(`/api/conversations/${conv}`, { token: customer.token })
    await app.request('/api/auth/me', { token: customer.token })
    const res = await app.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await res.text()
    expect(text).toMatch(/intelagent_http_requests_total\{method="GET",route="\/api\/auth\/me",status="200"\} 1/)
    // The pattern, never the id: label sets stay bounded.
    expect(text).toContain('route="/api/conversations/:id",status="404"')
    expect(text).not.toContain(conv)
    expect(text).toMatch(/intelagent_http_request_duration_seconds_bucket\{le="0.1",method="GET",route="\/api\/auth\/me",status="200"\} 1/)
    expect(text).toMatch(/intelagent_dependency_up\{dependency="postgres"\} 1/)
    expect(text).toContain('nodejs_eventloop_lag_seconds')
    expect(text).toMatch(/intelagent_sse_streams_open\{kind="all"\} 0/)
    // The durable job queue by status, read from the jobs table at scrape time.
    expect(text).toContain('# TYPE intelagent_jobs_queue_depth gauge')
  })

  it('the Grafana dashboard in examples/ops queries only metrics the server exports', async () => {
    const dashboard = JSON.parse(readFileSync(new URL('../../../../examples/ops/grafana-dashboard.json', import.meta.url), 'utf8')) as {
      panels: { targets: { expr: string }[] }[]
    }
    const names = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\b(intelagent|nodejs|process)_\w+/g) ?? [])))
    expect(names.size).toBeGreaterThan(8)
    const text = await (await app.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).text()
    for (const name of names) expect(text, name).toContain(`# TYPE ${name.replace(/_bucket$/, '')} `)
  })

  it('is a 404 when METRICS_TOKEN is unset', async () => {
    const other = await createTestApp()
    try {
      expect((await other.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404)
    } finally {
      await other.shutdown()
    }
  })
})

describe('LOG_FORMAT=pretty', () => {
  it('writes a readable line with the same redaction', () => {
    const lines: string[] = []
    createLogger('info', (l) => lines.push(l), 'pretty').info('request', { method: 'GET', status: 200, token: 'secret-value' })
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}request method=GET status=200 token=\[redacted\]$/)
  })
})
