// pnpm bench: load from this process against the server in a child process, every figure printed as a ratio
// to a bare Hono route measured in the same run.
import { type ChildProcess, fork, type Serializable } from 'node:child_process'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { Connection, encodeRequest, type Req } from './client.js'

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 5) * 1000
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32)

interface Ready {
  /** What a second instance needs to join this one (schema and secrets, JSON). */
  shared: string
  appPort: number
  barePort: number
  token: string
  secretKey: string
  chatbotKey: string
  store: string
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })

/** One request; retried once on a connection error (a keep-alive socket closed by the server just as it was reused). */
function send(port: number, r: Req): Promise<{ status: number; body: string }> {
  return sendOnce(port, r).catch(() => sendOnce(port, r))
}

function sendOnce(port: number, r: Req): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // With Content-Length, as a browser's fetch() sends a string body (a write() without it would go chunked).
    const headers = r.body ? { ...r.headers, 'content-length': String(Buffer.byteLength(r.body)) } : r.headers
    const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers, agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => {
        body += d
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end(r.body)
  })
}

/**
 * CPU time the whole machine spent busy (every process: this one, the server, Postgres, Redis), in µs, from
 * /proc/stat (user, nice, system, irq, softirq; not idle, I/O wait or a hypervisor's steal); undefined off Linux.
 * Per operation it is steadier than throughput on a shared machine, whose speed varies from minute to minute.
 */
function machineBusyUs(): number | undefined {
  try {
    const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number)
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = f
    return (user + nice + system + irq + softirq) * 10_000 // USER_HZ is 100 on Linux
  } catch {
    return undefined
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number) : Number.NaN
}

/**
 * Closed-loop load: CONCURRENCY workers, each sending the next request when the last one answers. `port`: one server,
 * or several (instances of one deployment), worker w on port[w % n].
 */
async function load(port: number | number[], make: (worker: number, i: number) => Req, durationMs = DURATION_MS, concurrency = CONCURRENCY) {
  const ports = Array.isArray(port) ? port : [port]
  const latencies: number[] = []
  let errors = 0
  const end = performance.now() + durationMs
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      // A connection of its own, on bench/client.ts: http.request cost this process ≈ 100 µs of the shared cores per
      // request, enough to cap bare Hono's throughput (the baseline of the hot-path lines) at half of what it is.
      const to = ports[w % ports.length] as number
      const connection = new Connection(to)
      for (let i = 0; performance.now() < end; i++) {
        const request = encodeRequest(make(w, i))
        const t = performance.now()
        // A reset (a keep-alive socket the server closed as it was reused) counts as an error (599), not a crash.
        const status = await connection.send(request)
        latencies.push(performance.now() - t)
        if (!(status >= 200 && status < 400)) errors++
      }
      connection.close()
    }),
  )
  latencies.sort((a, b) => a - b)
  const spread = [10, 25, 50, 75, 90, 95, 99, 99.9].map((q) => `p${q} ${percentile(latencies, q).toFixed(1)}`).join(', ')
  return { rps: latencies.length / (durationMs / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors, n: latencies.length, spread }
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

function forkChild<T>(
  script: string,
  execArgv: string[] = ['--import', 'tsx'],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ child: ChildProcess; ready: T; ask<R>(m: unknown): Promise<R> }> {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), [], { execArgv, stdio: 'inherit', env })
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
  // Six rounds (three each way round): with four, one slow round moved the ratio by 0.1 between runs of one build.
  const rounds = 6
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
  if (runs('http') || runs('ingest') || runs('sse') || runs('list')) await benchServer()
  printTable()
  agent.destroy()
}

async function benchServer(): Promise<void> {
  // BENCH_CPU_PROF=dir writes a V8 CPU profile of the server process there (open it in Chrome DevTools).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []
  // BENCH_PERF=1 lets `perf record -p <server pid>` name JIT-compiled JavaScript frames (/tmp/perf-<pid>.map).
  if (process.env.BENCH_PERF) prof.push('--perf-basic-prof')
  if (process.env.BENCH_SEMI) prof.push(`--max-semi-space-size=${process.env.BENCH_SEMI}`)
  // BENCH_NODE_ARGS='--trace-gc …': more flags for the server process.
  if (process.env.BENCH_NODE_ARGS) prof.push(...process.env.BENCH_NODE_ARGS.split(/\s+/).filter(Boolean))
  const execArgv = ['--expose-gc', '--import', 'tsx', ...prof]
  // BENCH_INSTANCES=2: the ingest line on two instances, as compose.yaml deploys them (INSTANCE_COUNT=2); the others
  // always on the first.
  const instances = process.env.DATABASE_URL && process.env.REDIS_URL ? Math.max(1, Number(process.env.BENCH_INSTANCES ?? 1)) : 1
  const instanceEnv = { ...process.env, INSTANCE_COUNT: String(instances) }
  const server = await forkChild<Ready>('./server.ts', execArgv, instanceEnv)
  const ready = server.ready
  const others = runs('ingest')
    ? await Promise.all(Array.from({ length: instances - 1 }, () => forkChild<Ready>('./server.ts', execArgv, { ...instanceEnv, BENCH_SHARED: ready.shared })))
    : []
  console.log(`Intelagent bench: ${ready.store}, ${CONCURRENCY} connections, ${DURATION_MS / 1000}s per scenario`)

  // A section that fails is reported as a line of the table; the others still run.
  const section = async (part: string, fn: () => Promise<void>) => {
    if (!runs(part)) return
    try {
      await fn()
    } catch (err) {
      figures.push({ name: `${part}: failed`, value: String((err as Error)?.message ?? err), baseline: '', ratio: '', target: '', met: false })
    }
  }
  await section('http', () => benchHotPath(ready, server.ask))
  await section('ingest', () => benchIngest([server, ...others]))
  await section('sse', () => benchSseMemory(ready, server.ask))
  await section('list', () => benchList(ready, server.ask))

  for (const s of [...others, server]) s.child.send({ stop: true })
}

/**
 * `make` on the app and `bareMake` on the bare route in alternating one-second slices (DURATION_MS of each), after a
 * warm-up of both: throughput, server CPU per request; the app's p99 on one connection too.
 */
async function measureBeside(ready: Ready, make: (w: number, i: number) => Req, bareMake: (w: number, i: number) => Req, ask: Ask, appPort = ready.appPort) {
  await load(ready.barePort, bareMake, 500)
  await load(appPort, make, 1000)
  const sum = { app: { n: 0, ms: 0, cpu: 0, errors: 0 }, bare: { n: 0, ms: 0, cpu: 0, errors: 0 } }
  const slices = Math.max(1, Math.round(DURATION_MS / 1000))
  for (let i = 0; i < slices; i++)
    for (const [which, port, m] of [
      ['bare', ready.barePort, bareMake],
      ['app', appPort, make],
    ] as const) {
      const before = await ask<{ cpuUs: number }>({ op: 'cpu' })
      const r = await load(port, m, DURATION_MS / slices)
      const after = await ask<{ cpuUs: number }>({ op: 'cpu' })
      const t = sum[which]
      t.n += r.n
      t.ms += DURATION_MS / slices
      t.cpu += after.cpuUs - before.cpuUs
      t.errors += r.errors
    }
  const light = await load(appPort, make, Math.min(DURATION_MS, 2000), 1)
  const figure = (t: typeof sum.app) => ({ rps: t.n / (t.ms / 1000), cpuPerReq: t.cpu / t.n })
  return { r: { ...figure(sum.app), p99: light.p99, errors: sum.app.errors + light.errors }, base: figure(sum.bare) }
}

async function benchHotPath(ready: Ready, ask: Ask): Promise<void> {
  const scenarios: { name: string; make: (w: number, i: number) => Req }[] = [
    { name: 'GET /api/auth/me (session)', make: () => ({ method: 'GET', path: '/api/auth/me', headers: { authorization: `Bearer ${ready.token}` } }) },
    { name: 'GET /api/auth/me (secret key)', make: () => ({ method: 'GET', path: '/api/auth/me', headers: { authorization: `Bearer ${ready.secretKey}` } }) },
    {
      name: 'GET /api/widget/config (publishable key)',
      make: () => ({ method: 'GET', path: '/api/widget/config', headers: { 'x-product-key': ready.chatbotKey, origin: 'http://127.0.0.1' } }),
    },
  ]
  // Each route is measured in one-second slices alternating with the bare route, and compared with the bare route's
  // own slices: this machine's speed drifts by a third from one minute to the next (a shared host), and a baseline
  // taken minutes apart measured the drift as much as the route.
  const bareMake = () => ({ method: 'GET', path: '/ping' })
  const results = []
  for (const s of scenarios) results.push({ s, ...(await measureBeside(ready, s.make, bareMake, ask)) })
  // The ceiling: bare Hono giving the secret key's /api/auth/me answer (its headers and JSON) with none of the work.
  const ceiling = await measureBeside(ready, () => ({ method: 'GET', path: '/ceiling' }), bareMake, ask, ready.barePort)
  for (const { s, r, base } of results) {
    const ratio = r.rps / base.rps
    figures.push({
      name: `${s.name}, ${CONCURRENCY} conns`,
      value: `${fmt(r.rps)} req/s, ${fmt(r.cpuPerReq)} µs CPU/req (p99 ${fmt(r.p99, 2)} ms 1-conn${r.errors ? `, ${r.errors} errors` : ''})`,
      baseline: `bare Hono ${fmt(base.rps)} req/s, ${fmt(base.cpuPerReq)} µs`,
      ratio: `${fmt(ratio * 100)} %`,
      target: '≥ 60 %',
      met: ratio >= 0.6 && r.errors === 0,
    })
  }
  figures.push({
    name: `ceiling: bare Hono giving /api/auth/me's answer, no work, ${CONCURRENCY} conns`,
    value: `${fmt(ceiling.r.rps)} req/s, ${fmt(ceiling.r.cpuPerReq)} µs CPU/req${ceiling.r.errors ? ` (${ceiling.r.errors} errors)` : ''}`,
    baseline: `bare Hono ${fmt(ceiling.base.rps)} req/s, ${fmt(ceiling.base.cpuPerReq)} µs`,
    ratio: `${fmt((ceiling.r.rps / ceiling.base.rps) * 100)} %`,
    target: '(informative)',
    met: undefined,
  })
}

type Ask = <R>(m: unknown) => Promise<R>

type Instance = { ready: Ready; ask: Ask }

/** Every instance's answer to `m`, at once. */
const askAll = <R>(instances: Instance[], m: unknown): Promise<R[]> => Promise.all(instances.map((i) => i.ask<R>(m)))

async function benchIngest(instances: Instance[]): Promise<void> {
  // Message ingest: one conversation per worker (the knowledge engine answers inside the request), the workers spread
  // over the instances; the baseline's callers too, each instance inserting through its own pool.
  const { ready, ask } = instances[0] as Instance
  const ports = instances.map((i) => i.ready.appPort)
  const widgetHeaders = { 'x-product-key': ready.chatbotKey, origin: 'http://127.0.0.1', 'content-type': 'application/json' }
  const convs = (await ask<{ id: string; token: string }[]>({ op: 'conversations', n: CONCURRENCY + 1 })).map((c) => ({
    conversation: { id: c.id },
    visitorToken: c.token,
  }))
  const run = Date.now().toString(36)
  const message =
    (tag: string) =>
    (w: number, i: number): Req => {
      const c = convs[w] as (typeof convs)[number]
      return {
        method: 'POST',
        path: `/api/widget/conversations/${c.conversation.id}/messages`,
        headers: { ...widgetHeaders, authorization: `Bearer ${c.visitorToken}` },
        body: JSON.stringify({ clientMessageId: `${tag}${run}-${w}-${i}`, text: i % 2 ? 'What are your opening hours?' : 'Do you offer refunds?' }),
      }
    }
  await load(ports, message('w'), Number(process.env.BENCH_INGEST_WARMUP_MS ?? 3000))
  // The baseline warmed up too (its statement prepared on every connection, its code compiled), as the app's route is;
  // the first instance creates its table before the others insert.
  const callers = Math.ceil(CONCURRENCY / instances.length)
  for (const i of instances) await i.ask({ op: 'bareInsert', ms: 1000, concurrency: callers })
  const bareBusy = machineBusyUs()
  const bares = await askAll<{ rps: number; p99: number; cpuPerOp: number; n: number }>(instances, { op: 'bareInsert', ms: DURATION_MS, concurrency: callers })
  const bareBusyUs = (machineBusyUs() ?? 0) - (bareBusy ?? 0)
  const bareN = bares.reduce((n, b) => n + b.n, 0)
  const bare = {
    n: bareN,
    rps: bares.reduce((r, b) => r + b.rps, 0),
    p99: Math.max(...bares.map((b) => b.p99)),
    cpuPerOp: bares.reduce((c, b) => c + b.cpuPerOp * b.n, 0) / bareN,
  }
  await askAll(instances, { op: 'countStatements' })
  const ingestBusy = machineBusyUs()
  const cpuUs = async () => (await askAll<{ cpuUs: number }>(instances, { op: 'cpu' })).reduce((c, r) => c + r.cpuUs, 0)
  const cpuBefore = await cpuUs()
  const ingest = await load(ports, message('b'))
  const cpuAfter = await cpuUs()
  // The consumers' work the load left queued counts too: the figure is per message, handled to the end.
  const drained = { ms: Math.max(...(await askAll<{ ms: number }>(instances, { op: 'drain' })).map((d) => d.ms)) }
  const ingestBusyUs = (machineBusyUs() ?? 0) - (ingestBusy ?? 0)
  const handoffs = (await ask<{ handoffs: number }>({ op: 'handoffs' })).handoffs
  const counts = await askAll<{ statements: number; texts: [string, number][] }>(instances, { op: 'countStatements' })
  const texts = new Map<string, number>()
  for (const c of counts) for (const [text, n] of c.texts) texts.set(text, (texts.get(text) ?? 0) + n)
  const counted = { statements: counts.reduce((n, c) => n + c.statements, 0), texts: [...texts].sort((a, b) => b[1] - a[1]) }
  const sent = ingest.rps * (DURATION_MS / 1000)
  // BENCH_VERBOSE=1 lists the statements behind that figure, most frequent first.
  // …and the loaded latencies' spread (ms).
  if (process.env.BENCH_VERBOSE) console.log(`ingest latency: ${ingest.spread}`)
  if (process.env.BENCH_VERBOSE) for (const [text, n] of counted.texts.slice(0, 40)) console.log(`${(n / sent).toFixed(2).padStart(6)}  ${text}`)
  const ratio = ingest.rps / bare.rps
  figures.push({
    name: `message ingest (widget API + knowledge reply), ${CONCURRENCY} conns, ${instances.length} instance${instances.length > 1 ? 's' : ''}`,
    value: `${fmt(ingest.rps)} msg/s, ${fmt((cpuAfter - cpuBefore) / ingest.n)} µs CPU/msg${ingest.errors ? ` (${ingest.errors} errors)` : ''}${handoffs ? ` (${handoffs} handed off unanswered)` : ''}`,
    baseline: `bare one-row INSERT ${fmt(bare.rps)}/s, ${fmt(bare.cpuPerOp)} µs (same pools)`,
    ratio: `${fmt(ratio * 100)} %`,
    target: '≥ 25 %',
    met: ratio >= 0.25 && ingest.errors === 0 && handoffs === 0,
  })
  if (ready.store.startsWith('Postgres'))
    figures.push({
      name: 'SQL statements per message during the load',
      value: `${fmt(counted.statements / sent, 1)} (request and event consumers, their backlog drained in ${fmt(drained.ms / 1000, 1)} s)`,
      baseline: '',
      ratio: '',
      target: '(informative)',
      met: undefined,
    })
  if (bareBusy !== undefined && bare.n > 0)
    figures.push({
      name: 'machine CPU per message (every process, consumers included)',
      value: `${fmt(ingestBusyUs / ingest.n)} µs`,
      baseline: `bare INSERT ${fmt(bareBusyUs / bare.n)} µs`,
      ratio: `${fmt((bareBusyUs / bare.n / (ingestBusyUs / ingest.n)) * 100)} %`,
      target: '(informative)',
      met: undefined,
    })
  figures.push({
    name: `message ingest p99 at ${CONCURRENCY} conns`,
    value: `${fmt(ingest.p99, 2)} ms`,
    baseline: `bare INSERT p99 ${fmt(bare.p99, 2)} ms`,
    ratio: '',
    target: '≤ 25 ms',
    met: ingest.p99 <= 25,
  })
  // SSE fan-out: time from sending a message to its event arriving on the visitor's open stream (informative).
  const c0 = convs[CONCURRENCY] as (typeof convs)[number]
  const fanout = await sseLatency(ready, c0.conversation.id, c0.visitorToken, 200)
  figures.push({
    name: `SSE fan-out, POST → event on the visitor stream (${fanout.n} msgs)`,
    value: `p50 ${fmt(fanout.p50, 2)} ms, p99 ${fmt(fanout.p99, 2)} ms`,
    baseline: '',
    ratio: '',
    target: '(informative)',
    met: undefined,
  })
}

/** Opens `n` streams, at most `parallel` opening at once; resolves with the open requests once each has its first bytes. */
async function openStreams(reqs: Req[], port: number, parallel = 64): Promise<{ open: http.ClientRequest[]; failed: number }> {
  const open: http.ClientRequest[] = []
  let failed = 0
  let next = 0
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < reqs.length) {
        const r = reqs[next++] as Req
        await new Promise<void>((resolve) => {
          // One socket per stream, as browsers on separate pages would hold them.
          const req = http.get({ host: '127.0.0.1', port, path: r.path, headers: r.headers, agent: false }, (res) => {
            if (res.statusCode !== 200) {
              failed++
              res.resume()
              resolve()
              return
            }
            res.once('data', () => resolve())
            res.on('data', () => undefined)
          })
          req.on('error', () => {
            failed++
            resolve()
          })
          open.push(req)
        })
      }
    }),
  )
  return { open, failed }
}

async function benchSseMemory(ready: Ready, ask: Ask): Promise<void> {
  const total = Number(process.env.BENCH_STREAMS ?? 10_000)
  const widgetN = Math.floor(total / 2)
  type Mem = { rss: number; heapUsed: number; streams: number }
  const convs = await ask<{ id: string; token: string }[]>({ op: 'conversations', n: widgetN })
  const idle = await ask<Mem>({ op: 'mem' })
  const reqs: Req[] = [
    ...convs.map((c) => ({
      method: 'GET',
      path: `/api/widget/conversations/${c.id}/events?token=${encodeURIComponent(c.token)}&key=${ready.chatbotKey}`,
      headers: { origin: 'http://127.0.0.1', accept: 'text/event-stream' },
    })),
    ...Array.from({ length: total - widgetN }, () => ({
      method: 'GET',
      path: '/api/events',
      headers: { authorization: `Bearer ${ready.token}`, accept: 'text/event-stream' },
    })),
  ]
  const { open, failed } = await openStreams(reqs, ready.appPort)
  await new Promise((r) => setTimeout(r, 1000))
  const held = await ask<Mem>({ op: 'mem' })
  for (const req of open) req.destroy()
  // Closed sockets end their streams on the server within a tick; allow the release work (Redis) to finish.
  let after = await ask<Mem>({ op: 'mem' })
  for (let i = 0; i < 20 && after.streams > 0; i++) {
    await new Promise((r) => setTimeout(r, 250))
    after = await ask<Mem>({ op: 'mem' })
  }
  // V8 gives freed heap pages back to the system lazily (its memory reducer runs once the process is idle): give it
  // up to 20 s of idleness, sampling once a second.
  for (let i = 0; i < 20 && after.rss > idle.rss * 1.25; i++) {
    await new Promise((r) => setTimeout(r, 1000))
    after = await ask<Mem>({ op: 'mem' })
  }
  const mb = (b: number) => `${fmt(b / 1024 / 1024)} MB`
  const perStream = (held.rss - idle.rss) / Math.max(1, held.streams)
  figures.push({
    name: `SSE: ${fmt(held.streams)} streams open (${fmt(widgetN)} widget, ${fmt(total - widgetN)} dashboard)`,
    value: `RSS ${mb(held.rss)}, heap ${mb(held.heapUsed)} (${fmt(perStream / 1024, 1)} KB/stream${failed ? `, ${failed} refused` : ''})`,
    baseline: `idle RSS ${mb(idle.rss)}, heap ${mb(idle.heapUsed)}`,
    ratio: `${fmt(held.rss / idle.rss, 2)}×`,
    target: `${fmt(total)} open, ≤ 400 MB`,
    met: held.streams === total && held.rss <= 400 * 1024 * 1024,
  })
  figures.push({
    name: 'SSE: after they close',
    value: `RSS ${mb(after.rss)}, heap ${mb(after.heapUsed)}, ${after.streams} open`,
    baseline: `idle RSS ${mb(idle.rss)}, heap ${mb(idle.heapUsed)}`,
    ratio: `${fmt(after.rss / idle.rss, 2)}×`,
    target: '≤ 1.25× idle',
    met: after.streams === 0 && after.rss <= idle.rss * 1.25,
  })
}

/** The dashboard's conversation list at BENCH_MESSAGES messages (1M by default): p95 on page 1 and page 101. */
async function benchList(ready: Ready, ask: Ask): Promise<void> {
  const messages = Number(process.env.BENCH_MESSAGES ?? (ready.store.startsWith('Postgres') ? 1_000_000 : 20_000))
  const seeded = await ask<{ conversations: number; ms: number; error?: string }>({ op: 'seedList', n: messages })
  if (seeded.error) throw new Error(`seeding ${fmt(messages)} messages: ${seeded.error}`)
  console.log(`seeded ${fmt(messages)} messages in ${fmt(seeded.conversations)} conversations in ${fmt(seeded.ms / 1000, 1)} s`)
  const headers = { authorization: `Bearer ${ready.token}` }
  const pagePath = (cursor: string | null) => `/api/products/chatbot/conversations?limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
  // Walk to page 101 once, keeping the cursor that opens it.
  let cursor: string | null = null
  for (let page = 1; page < 101; page++) {
    const res = await send(ready.appPort, { method: 'GET', path: pagePath(cursor), headers })
    cursor = (JSON.parse(res.body) as { nextCursor: string | null }).nextCursor
    if (!cursor) break
  }
  // 500 samples: the 95th percentile of 100 moved by a millisecond from run to run on the same build.
  const samples = 500
  // The timed loops go over one keep-alive connection of bench/client.ts: Node's http.request added ≈ 0.3 ms and
  // most of the spread of each sample (its agent, parser and objects), time the server had no part in.
  const connection = new Connection(ready.appPort)
  const timed = async (path: string): Promise<{ ms: number; status: number }> => {
    const request = encodeRequest({ method: 'GET', path, headers })
    const t = performance.now()
    const status = await connection.send(request)
    return { ms: performance.now() - t, status }
  }
  // The same sequential loop on the lightest authenticated route: what any request costs on this machine.
  const me: number[] = []
  for (let i = 0; i < samples + 10; i++) {
    const { ms } = await timed('/api/auth/me')
    if (i >= 10) me.push(ms)
  }
  me.sort((a, b) => a - b)
  figures.push({
    name: 'GET /api/auth/me, same sequential loop (reference)',
    value: `p50 ${fmt(percentile(me, 50), 2)} ms, p95 ${fmt(percentile(me, 95), 2)} ms`,
    baseline: '',
    ratio: '',
    target: '(informative)',
    met: undefined,
  })
  for (const [name, c] of [
    ['page 1', null],
    ['page 101', cursor],
  ] as const) {
    if (name === 'page 101' && !c) {
      figures.push({ name: `conversation list ${name}`, value: 'not reached (too few conversations)', baseline: '', ratio: '', target: '', met: false })
      continue
    }
    for (let i = 0; i < 10; i++) await timed(pagePath(c)) // warm-up
    const latencies: number[] = []
    let errors = 0
    for (let i = 0; i < samples; i++) {
      const { ms, status } = await timed(pagePath(c))
      latencies.push(ms)
      if (status !== 200) errors++
    }
    // Statements are counted in a pass of their own, each attributed to the request that sent it (a background
    // task's, such as the usage flush, may fall in the same window): the attribution itself costs time.
    await ask({ op: 'attribute', on: true })
    await ask({ op: 'countStatements' })
    const counting = 20
    for (let i = 0; i < counting; i++) await timed(pagePath(c))
    const { inRequests: statements } = await ask<{ inRequests: number }>({ op: 'countStatements' })
    await ask({ op: 'attribute', on: false })
    latencies.sort((a, b) => a - b)
    if (process.env.BENCH_VERBOSE)
      console.log(
        `${name} slowest: ${latencies
          .slice(-10)
          .map((l) => l.toFixed(2))
          .join(' ')}`,
      )
    const p95 = percentile(latencies, 95)
    const perPage = statements / counting
    const counted = ready.store.startsWith('Postgres')
    figures.push({
      name: `conversation list ${name} at ${fmt(messages)} messages (25 rows)`,
      value: `p50 ${fmt(percentile(latencies, 50), 2)} ms, p95 ${fmt(p95, 2)} ms, ${counted ? fmt(perPage, 1) : '?'} statements/page${errors ? `, ${errors} errors` : ''}`,
      baseline: '',
      ratio: '',
      target: 'p95 ≤ 5 ms, 1 statement',
      met: p95 <= 5 && errors === 0 && (!counted || perPage <= 1),
    })
  }
  connection.close()
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
