// pnpm bench: load from this process against the server in a child process, every figure printed as a ratio
// to a bare Hono route measured in the same run.
import { type ChildProcess, fork, type Serializable } from 'node:child_process'
import http from 'node:http'
import { fileURLToPath } from 'node:url'

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 5) * 1000
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32)

interface Ready {
  appPort: number
  barePort: number
  token: string
  secretKey: string
  chatbotKey: string
  store: string
}

interface Req {
  method: string
  path: string
  headers?: Record<string, string>
  body?: string
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })

function send(port: number, r: Req): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers: r.headers, agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => {
        body += d
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    if (r.body) req.write(r.body)
    req.end()
  })
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number) : Number.NaN
}

/** Closed-loop load: CONCURRENCY workers, each sending the next request when the last one answers. */
async function load(port: number, make: (worker: number, i: number) => Req, durationMs = DURATION_MS, concurrency = CONCURRENCY) {
  const latencies: number[] = []
  let errors = 0
  const end = performance.now() + durationMs
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        const t = performance.now()
        const res = await send(port, make(w, i))
        latencies.push(performance.now() - t)
        if (res.status >= 400) errors++
      }
    }),
  )
  latencies.sort((a, b) => a - b)
  return { rps: latencies.length / (durationMs / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors, n: latencies.length }
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })

/** One line of the final table: a figure, what it is compared with in the same run, and the issue's target. */
interface Figure {
  name: string
  value: string
  baseline: string
  ratio: string
  target: string
  met: boolean | undefined
}
const figures: Figure[] = []
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined
const runs = (part: string): boolean => !only || only.has(part)

function printTable(): void {
  const cols: (keyof Figure)[] = ['name', 'value', 'baseline', 'ratio', 'target', 'met']
  const cell = (f: Figure, k: keyof Figure): string => (k === 'met' ? (f.met === undefined ? 'n/a' : f.met ? 'met' : 'NOT MET') : String(f[k]))
  const widths = cols.map((k) => Math.max(k.length, ...figures.map((f) => cell(f, k).length)))
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd()
  console.log(`\n${line(['figure', 'value', 'baseline (same run)', 'ratio', 'target', 'met'])}`)
  console.log(line(widths.map((w) => '-'.repeat(w))))
  for (const f of figures) console.log(line(cols.map((k) => cell(f, k))))
}

function forkChild<T>(script: string, execArgv: string[] = ['--import', 'tsx']): Promise<{ child: ChildProcess; ready: T; ask<R>(m: unknown): Promise<R> }> {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), [], { execArgv, stdio: 'inherit' })
  const ask = <R>(m: unknown) =>
    new Promise<R>((resolve) => {
      child.once('message', (r) => resolve(r as R))
      child.send(m as Serializable)
    })
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, ready: m as T, ask }))
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)))
  })
}

/** Rate limiter: ours vs rate-limiter-flexible on the same Redis, throughput interleaved, accuracy across two processes. */
async function benchLimiter(): Promise<void> {
  if (!process.env.REDIS_URL) {
    figures.push({
      name: 'rate limiter vs rate-limiter-flexible',
      value: 'skipped (needs REDIS_URL)',
      baseline: '',
      ratio: '',
      target: '≥ 1.0×',
      met: undefined,
    })
    return
  }
  const a = await forkChild<{ ready: true }>('./limiter.ts')
  const b = await forkChild<{ ready: true }>('./limiter.ts')
  type Tp = { ops: number; p99: number }
  const ms = Math.min(DURATION_MS, 3000)
  const tag = Date.now().toString(36)
  const sum = { ours: { ops: 0, p99: 0 }, rlf: { ops: 0, p99: 0 } }
  await a.ask<Tp>({ op: 'throughput', which: 'ours', ms: 500, concurrency: CONCURRENCY, tag: `w${tag}` }) // warm-up
  await a.ask<Tp>({ op: 'throughput', which: 'rlf', ms: 500, concurrency: CONCURRENCY, tag: `w${tag}` })
  // Side by side: both limiters load Redis at the same time from two processes, so the machine's noise (other
  // processes, CPU steal) hits both alike; the processes swap limiters each round.
  const rounds = 4
  for (let r = 0; r < rounds; r++) {
    const order = (r % 2 ? ['rlf', 'ours'] : ['ours', 'rlf']) as ('ours' | 'rlf')[]
    const out = await Promise.all([a, b].map((p, i) => p.ask<Tp>({ op: 'throughput', which: order[i], ms, concurrency: CONCURRENCY, tag: `${tag}${r}` })))
    order.forEach((which, i) => {
      sum[which].ops += (out[i] as Tp).ops / rounds
      sum[which].p99 += (out[i] as Tp).p99 / rounds
    })
  }
  const ratio = sum.ours.ops / sum.rlf.ops
  figures.push({
    name: `rate limiter throughput (${CONCURRENCY} callers each, side by side)`,
    value: `${fmt(sum.ours.ops)} ops/s`,
    baseline: `rate-limiter-flexible ${fmt(sum.rlf.ops)} ops/s`,
    ratio: `${fmt(ratio, 2)}×`,
    target: '≥ 1.0×',
    met: ratio >= 1.0,
  })
  figures.push({
    name: 'rate limiter p99 (same load)',
    value: `${fmt(sum.ours.p99, 2)} ms`,
    baseline: `rate-limiter-flexible ${fmt(sum.rlf.p99, 2)} ms`,
    ratio: `${fmt(sum.ours.p99 / sum.rlf.p99, 2)}×`,
    target: '(informative)',
    met: undefined,
  })
  // Accuracy: both processes fire `limit` requests at once on one key; exactly `limit` may pass in total.
  const limit = 500
  const admitted: Record<string, number> = {}
  for (const which of ['ours', 'rlf'] as const) {
    const key = `acc:${tag}:${which}`
    const [x, y] = await Promise.all([a, b].map((p) => p.ask<{ admitted: number }>({ op: 'burst', which, key, limit, n: limit })))
    admitted[which] = (x?.admitted ?? 0) + (y?.admitted ?? 0)
  }
  figures.push({
    name: `rate limiter accuracy (2 processes, 2×${limit} at a limit of ${limit})`,
    value: `${admitted.ours} admitted`,
    baseline: `rate-limiter-flexible ${admitted.rlf} admitted`,
    ratio: '',
    target: `exactly ${limit}, both`,
    met: admitted.ours === limit && admitted.rlf === limit,
  })
  for (const p of [a, b]) p.child.send({ op: 'stop' })
}

async function main(): Promise<void> {
  if (runs('limiter')) await benchLimiter()
  if (runs('http') || runs('ingest') || runs('sse')) await benchServer()
  printTable()
  agent.destroy()
}

async function benchServer(): Promise<void> {
  // BENCH_CPU_PROF=dir writes a V8 CPU profile of the server process there (open it in Chrome DevTools).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []
  const child = fork(fileURLToPath(new URL('./server.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx', ...prof], stdio: 'inherit' })
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.on('message', (m) => resolve(m as Ready))
    child.on('exit', (code) => reject(new Error(`bench server exited with ${code}`)))
  })
  console.log(`Intelagent bench: ${ready.store}, ${CONCURRENCY} connections, ${DURATION_MS / 1000}s per scenario\n`)

  const scenarios: { name: string; port: number; make: (w: number, i: number) => Req }[] = [
    { name: 'bare Hono route (baseline)', port: ready.barePort, make: () => ({ method: 'GET', path: '/ping' }) },
    {
      name: 'GET /api/auth/me (warm cache)',
      port: ready.appPort,
      make: () => ({ method: 'GET', path: '/api/auth/me', headers: { authorization: `Bearer ${ready.token}` } }),
    },
    {
      name: 'secret product key → GET /api/auth/me',
      port: ready.appPort,
      make: () => ({ method: 'GET', path: '/api/auth/me', headers: { authorization: `Bearer ${ready.secretKey}` } }),
    },
    {
      name: 'publishable key → GET /api/widget/config',
      port: ready.appPort,
      make: () => ({ method: 'GET', path: '/api/widget/config', headers: { 'x-product-key': ready.chatbotKey, origin: 'http://127.0.0.1' } }),
    },
  ]

  // Throughput under CONCURRENCY connections; latency measured separately on one connection (light load),
  // since under saturation p99 is just queueing (≈ connections ÷ throughput).
  const rows: { name: string; rps: number; p99: number; p99Loaded: number; errors: number }[] = []
  for (const s of scenarios) {
    await load(s.port, s.make, 1000) // warm-up: JIT, pools, caches
    const r = await load(s.port, s.make)
    const light = await load(s.port, s.make, Math.min(DURATION_MS, 2000), 1)
    rows.push({ name: s.name, rps: r.rps, p99: light.p99, p99Loaded: r.p99, errors: r.errors + light.errors })
  }

  // Message ingest: one conversation per worker (the knowledge engine answers inside the request).
  const widgetHeaders = { 'x-product-key': ready.chatbotKey, origin: 'http://127.0.0.1', 'content-type': 'application/json' }
  const convs = await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      const res = await send(ready.appPort, { method: 'POST', path: '/api/widget/conversations', headers: widgetHeaders, body: '{}' })
      const body = JSON.parse(res.body) as { conversation: { id: string }; visitorToken: string }
      return body
    }),
  )
  const run = Date.now().toString(36)
  const ingest = await load(ready.appPort, (w, i) => {
    const c = convs[w] as (typeof convs)[number]
    return {
      method: 'POST',
      path: `/api/widget/conversations/${c.conversation.id}/messages`,
      headers: { ...widgetHeaders, authorization: `Bearer ${c.visitorToken}` },
      body: JSON.stringify({ clientMessageId: `b${run}-${w}-${i}`, text: i % 2 ? 'What are your opening hours?' : 'Do you offer refunds?' }),
    }
  })
  const ingestLight = await load(
    ready.appPort,
    (w, i) => {
      const c = convs[w] as (typeof convs)[number]
      return {
        method: 'POST',
        path: `/api/widget/conversations/${c.conversation.id}/messages`,
        headers: { ...widgetHeaders, authorization: `Bearer ${c.visitorToken}` },
        body: JSON.stringify({ clientMessageId: `l${run}-${w}-${i}`, text: 'Do you ship abroad?' }),
      }
    },
    Math.min(DURATION_MS, 2000),
    1,
  )
  rows.push({
    name: 'POST widget message + knowledge reply',
    rps: ingest.rps,
    p99: ingestLight.p99,
    p99Loaded: ingest.p99,
    errors: ingest.errors + ingestLight.errors,
  })

  const base = rows[0] as (typeof rows)[number]
  console.log(
    `${'scenario'.padEnd(44)} ${'req/s'.padStart(9)} ${'ratio'.padStart(7)} ${'p99 1-conn'.padStart(11)} ${'p99 loaded'.padStart(11)} ${'errors'.padStart(7)}`,
  )
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(44)} ${fmt(r.rps).padStart(9)} ${`${fmt((r.rps / base.rps) * 100)}%`.padStart(7)} ${`${fmt(r.p99, 2)} ms`.padStart(11)} ${`${fmt(r.p99Loaded, 2)} ms`.padStart(11)} ${String(r.errors).padStart(7)}`,
    )
  }

  // SSE fan-out: time from sending a message to its event arriving on the visitor's open stream.
  const c0 = convs[0] as (typeof convs)[number]
  const fanout = await sseLatency(ready, c0.conversation.id, c0.visitorToken, 200)
  console.log(`\nSSE fan-out (POST → 'message' event on the visitor stream), ${fanout.n} messages: p50 ${fmt(fanout.p50, 2)} ms, p99 ${fmt(fanout.p99, 2)} ms`)
  console.log('Targets: authenticated routes ≥ 40% of bare throughput, p99 ≤ 2 ms (issue 2).')

  child.send({ stop: true })
}

function sseLatency(ready: Ready, conversationId: string, token: string, count: number): Promise<{ n: number; p50: number; p99: number }> {
  return new Promise((resolve, reject) => {
    const pending = new Map<string, number>()
    const latencies: number[] = []
    const req = http.get(
      {
        host: '127.0.0.1',
        port: ready.appPort,
        path: `/api/widget/conversations/${conversationId}/events?token=${encodeURIComponent(token)}&key=${ready.chatbotKey}`,
        headers: { origin: 'http://127.0.0.1', accept: 'text/event-stream' },
      },
      (res) => {
        let buf = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          buf += chunk
          let idx = buf.indexOf('\n\n')
          while (idx >= 0) {
            const frame = buf.slice(0, idx)
            buf = buf.slice(idx + 2)
            const data = frame.split('\n').find((l) => l.startsWith('data:'))
            if (frame.includes('event: message') && data) {
              const m = JSON.parse(data.slice(5)) as { clientMessageId: string | null }
              const t = m.clientMessageId ? pending.get(m.clientMessageId) : undefined
              if (t !== undefined) {
                latencies.push(performance.now() - t)
                pending.delete(m.clientMessageId as string)
              }
            }
            idx = buf.indexOf('\n\n')
          }
        })
        void (async () => {
          await new Promise((r) => setTimeout(r, 200))
          for (let i = 0; i < count; i++) {
            const id = `sse-${Date.now().toString(36)}-${i}`
            pending.set(id, performance.now())
            await send(ready.appPort, {
              method: 'POST',
              path: `/api/widget/conversations/${conversationId}/messages`,
              headers: { 'x-product-key': ready.chatbotKey, origin: 'http://127.0.0.1', 'content-type': 'application/json', authorization: `Bearer ${token}` },
              body: JSON.stringify({ clientMessageId: id, text: 'ping' }),
            })
          }
          await new Promise((r) => setTimeout(r, 300))
          req.destroy()
          latencies.sort((a, b) => a - b)
          resolve({ n: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99) })
        })().catch(reject)
      },
    )
    req.on('error', (e) => {
      if (latencies.length === 0) reject(e)
    })
  })
}

await main()
