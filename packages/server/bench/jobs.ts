// pnpm --filter @intelagent/server bench:jobs: durable job throughput and latency on the configured store
// (Postgres when DATABASE_URL is set, else PGlite on disk as the embedded default runs it), with the default
// worker settings. The figures in docs/architecture.md ("Durable jobs") come from here.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import pg from 'pg'
import { createDb } from '../src/platform/db.js'
import { Events, emit } from '../src/platform/events.js'
import { enqueue, Jobs } from '../src/platform/jobs.js'
import { createLogger } from '../src/platform/logger.js'
import { migrateToLatest } from '../src/platform/migrate.js'

const JOBS = Number(process.env.BENCH_JOBS ?? 2000)
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200)
const ENQUEUERS = 16
const schema = `bench_jobs_${Date.now().toString(36)}`
const url = process.env.DATABASE_URL

async function admin(query: string): Promise<void> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  await c.query(query)
  await c.end()
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
const fmt = (n: number, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function main(): Promise<void> {
  if (url) await admin(`create schema ${schema}`)
  const db = await createDb({ databaseUrl: url, dataDir: mkdtempSync(join(tmpdir(), 'intl-bench-jobs-')), schema, poolSize: 20 })
  await migrateToLatest(db)
  const jobs = new Jobs(db, createLogger('silent'), { concurrency: 16, leaseMs: 30_000, retryBaseMs: 1000, retryMaxMs: 300_000 })
  const events = new Events(db, jobs)
  let done = 0
  let allDone = () => {}
  const started = new Map<string, number>()
  jobs.register<{ i: number }>('bench.noop', {
    run: async () => {
      if (++done === JOBS) allDone()
    },
  })
  jobs.register<{ key: string }>('bench.latency', {
    run: async ({ key }) => void started.set(key, performance.now()),
  })
  events.onEvent('lead.created', 'bench', async (e) => void started.set(e.data.leadId, performance.now()))
  // The yardstick, measured in the same run: one plain row per commit, from the same number of callers and alone.
  await sql`create table bench_rows (id serial primary key, payload jsonb not null)`.execute(db)
  let n = 0
  const b0 = performance.now()
  await Promise.all(
    Array.from({ length: ENQUEUERS }, async () => {
      while (n++ < JOBS) await sql`insert into bench_rows (payload) values (${JSON.stringify({ i: n })}::jsonb)`.execute(db)
    }),
  )
  const plainRate = (JOBS / (performance.now() - b0)) * 1000
  const commit: number[] = []
  for (let i = 0; i < SAMPLES; i++) {
    const at = performance.now()
    await sql`insert into bench_rows (payload) values ('{}'::jsonb)`.execute(db)
    commit.push(performance.now() - at)
  }
  commit.sort((a, b) => a - b)
  // Enqueue alone (the worker is not running yet): ENQUEUERS concurrent callers, one commit per job.
  const finished = new Promise<void>((r) => {
    allDone = r
  })
  const t0 = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: ENQUEUERS }, async () => {
      while (next < JOBS) await enqueue(db, 'bench.noop', { i: next++ })
    }),
  )
  const enqueued = performance.now() - t0
  // Then the worker drains them: claim, run (a no-op), mark done.
  const t1 = performance.now()
  await jobs.start()
  await finished
  const drained = performance.now() - t1
  // Both at once: callers enqueue while the worker runs what they enqueue.
  done = 0
  const both = new Promise<void>((r) => {
    allDone = r
  })
  const t2 = performance.now()
  next = 0
  await Promise.all(
    Array.from({ length: ENQUEUERS }, async () => {
      while (next < JOBS) await enqueue(db, 'bench.noop', { i: next++ })
    }),
  )
  await both
  const total = performance.now() - t2

  // Latency: one job at a time into an idle worker (so it is woken, not found by a busy loop).
  const latency: number[] = []
  for (let i = 0; i < SAMPLES; i++) {
    await pause(5 + Math.random() * 10)
    const key = `l${i}`
    const at = performance.now()
    await enqueue(db, 'bench.latency', { key })
    while (!started.has(key)) await pause(0)
    latency.push((started.get(key) as number) - at)
  }
  latency.sort((a, b) => a - b)

  // An event to a consumer: the outbox row commits, the dispatcher finds it, the consumer's job runs.
  const dispatch: number[] = []
  for (let i = 0; i < Math.min(SAMPLES, 50); i++) {
    await pause(5 + Math.random() * 10)
    const leadId = crypto.randomUUID()
    const at = performance.now()
    await emit(db, { type: 'lead.created', licenseId: null, data: { leadId, product: 'chatbot', conversationId: null } })
    while (!started.has(leadId)) await pause(0)
    dispatch.push((started.get(leadId) as number) - at)
  }
  dispatch.sort((a, b) => a - b)

  await jobs.stop()
  await db.destroy()
  if (url) await admin(`drop schema if exists ${schema} cascade`)

  console.log(`Durable jobs on ${url ? 'Postgres' : 'PGlite (on disk)'}, worker concurrency 16 (the default)`)
  console.log(`  yardstick: plain one-row INSERT per commit, ${ENQUEUERS} callers: ${fmt(plainRate, 0)} rows/s; alone: p50 ${fmt(pct(commit, 50), 2)} ms`)
  console.log(`  enqueue, worker stopped: ${JOBS} jobs from ${ENQUEUERS} callers = ${fmt((JOBS / enqueued) * 1000, 0)} jobs/s`)
  console.log(`  drain (claim, no-op run, done): ${JOBS} jobs = ${fmt((JOBS / drained) * 1000, 0)} jobs/s`)
  console.log(`  enqueue and complete at once: ${JOBS} jobs = ${fmt((JOBS / total) * 1000, 0)} jobs/s`)
  console.log(`  enqueue → handler start, idle worker, ${latency.length} jobs: p50 ${fmt(pct(latency, 50), 2)} ms, p99 ${fmt(pct(latency, 99), 2)} ms`)
  console.log(`  event commit → consumer start, ${dispatch.length} events: p50 ${fmt(pct(dispatch, 50), 1)} ms, p99 ${fmt(pct(dispatch, 99), 1)} ms`)
}

await main()
