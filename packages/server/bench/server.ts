// Bench child process: the real server (configured Postgres/Redis or embedded defaults) and a bare Hono route,
// both listening on loopback, plus the fixtures the load needs. Talks to bench/run.ts over IPC.
import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ServerType, serve } from '@hono/node-server'
import { Hono } from 'hono'
import { Redis } from 'ioredis'
import { CompiledQuery, sql } from 'kysely'
import pg from 'pg'
import type { Deps } from '../src/platform/context.js'
import { built } from './built.js'

const { createApp } = await built<typeof import('../src/app.js')>('app')
const { ensureDemo } = await built<typeof import('../src/demo.js')>('demo')
const { createKey } = await built<typeof import('../src/keys/queries.js')>('keys/queries')
const { signVisitorToken } = await built<typeof import('../src/keys/visitors.js')>('keys/visitors')
const { loadConfig } = await built<typeof import('../src/platform/config.js')>('platform/config')
const { hmacHex } = await built<typeof import('../src/platform/crypto.js')>('platform/crypto')
const { closeDeps, createDeps } = await built<typeof import('../src/platform/deps.js')>('platform/deps')

/**
 * BENCH_SHARED (JSON, set by run.ts for the ingest line's second instance): the schema and secrets of the instance it
 * joins, as two instances of a deployment share one database, one Redis and their secrets (compose.yaml).
 */
const shared = process.env.BENCH_SHARED
  ? (JSON.parse(process.env.BENCH_SHARED) as { schema: string; jwtSecret: string; keyPepper: string; encryptionKeys: string })
  : undefined
const schema = shared?.schema ?? `bench_${Date.now().toString(36)}`
const secrets = shared ?? {
  jwtSecret: randomBytes(32).toString('base64url'),
  keyPepper: randomBytes(32).toString('base64url'),
  encryptionKeys: randomBytes(32).toString('base64'),
}
const env = {
  ...process.env,
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  RATE_LIMIT_SCALE: '10000',
  // The SSE memory scenario holds thousands of streams of one license at once.
  SSE_STREAMS_PER_LICENSE: '50000',
  // The ingest line sends each worker's messages as one visitor: past the tier's per-visitor daily cap (500 messages,
  // reached within seconds) every message would take the handoff path (stored, the owner told, no reply) instead of
  // the answered one being measured. The caps and quotas are lifted for the bench's license, as RATE_LIMIT_SCALE
  // lifts its rates.
  PLANS: JSON.stringify({
    enterprise: {
      quotas: { conversations: 1e9, messages: 1e9, aiReplies: 1e9, apiCalls: 1e9 },
      visitorCaps: { conversationsPerDay: 1e9, messagesPerDay: 1e9 },
    },
  }),
  SCRYPT_LOG_N: '14',
  REDIS_PREFIX: `bench:${schema}:`,
  PUBLIC_URL: 'http://127.0.0.1',
  DATA_DIR: mkdtempSync(join(tmpdir(), 'intl-bench-')),
  JWT_SECRET: secrets.jwtSecret,
  KEY_PEPPER: secrets.keyPepper,
  ENCRYPTION_KEYS: secrets.encryptionKeys,
}

/** Deletes the run's Redis keys, as its schema is dropped: a run leaves nothing behind on the shared Redis. */
async function dropKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url)
  try {
    for await (const keys of redis.scanStream({ match: pattern, count: 1000 })) if ((keys as string[]).length) await redis.unlink(...(keys as string[]))
  } finally {
    redis.disconnect()
  }
}

async function withAdmin(fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
  await client.connect()
  await fn(client)
  await client.end()
}

type Fetch = (req: Request, env?: unknown) => Response | Promise<Response>
function listen(fetch: Fetch): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve({ server, port: info.port }))
  })
}

/** `n` widget conversations, each with its own visitor and visitor token, written in bulk (not through the API). */
async function widgetConversations(deps: Deps, licenseId: string, n: number): Promise<{ id: string; token: string }[]> {
  const key = await deps.db
    .selectFrom('product_keys')
    .select(['id', 'product'])
    .where('license_id', '=', licenseId)
    .where('product', '=', 'chatbot')
    .executeTakeFirstOrThrow()
  const out: { id: string; token: string }[] = []
  for (let i = 0; i < n; i += 1000) {
    const m = Math.min(1000, n - i)
    const visitors = await deps.db
      .insertInto('visitors')
      .values(Array.from({ length: m }, () => ({ license_id: licenseId, secret_hash: hmacHex(deps.config.keyPepper, randomBytes(8).toString('hex')) })))
      .returning('id')
      .execute()
    const convs = await deps.db
      .insertInto('conversations')
      .values(visitors.map((v) => ({ license_id: licenseId, product: key.product, product_key_id: key.id, visitor_id: v.id, page_url: null })))
      .returning(['id', 'visitor_id'])
      .execute()
    for (const c of convs) out.push({ id: c.id, token: (await signVisitorToken(deps, licenseId, c.visitor_id)).token })
  }
  return out
}

/** The ingest baseline: one-row INSERTs through the app's own pool, closed loop, as many callers as the HTTP load. */
async function bareInsert(deps: Deps, ms: number, concurrency: number): Promise<{ rps: number; p99: number; cpuPerOp: number; n: number }> {
  await sql`create table if not exists bench_rows (id bigserial primary key, conversation_id uuid not null, body text not null, created_at timestamptz not null default now())`.execute(
    deps.db,
  )
  const latencies: number[] = []
  const cpu = process.cpuUsage()
  const end = performance.now() + ms
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const conv = randomUUID()
      while (performance.now() < end) {
        const t = performance.now()
        await sql`insert into bench_rows (conversation_id, body) values (${conv}, ${'Do you offer refunds?'})`.execute(deps.db)
        latencies.push(performance.now() - t)
      }
    }),
  )
  const used = process.cpuUsage(cpu)
  latencies.sort((a, b) => a - b)
  return {
    rps: latencies.length / (ms / 1000),
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? Number.NaN,
    cpuPerOp: (used.user + used.system) / latencies.length,
    n: latencies.length,
  }
}

/**
 * BENCH_HEAP_PROF=dir: a sampling profile of what each measured load allocated, collected objects included (what the
 * garbage collector had to work through, not what was left), started and ended by the 'cpu' marks around the load.
 * Open heap-<n>.heapprofile in Chrome DevTools (Memory, "Allocation sampling").
 */
let heapSession: Session | undefined
let heapProfiles = 0
async function heapSampling(dir: string): Promise<void> {
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => heapSession?.post(method, params ?? {}, (err, r) => (err ? reject(err) : resolve(r))))
  if (!heapSession) {
    heapSession = new Session()
    heapSession.connect()
    await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
    return
  }
  const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: unknown }
  writeFileSync(join(dir, `heap-${++heapProfiles}.heapprofile`), JSON.stringify(profile))
  heapSession.disconnect()
  heapSession = undefined
}

/** Every statement the pg pool sends, counted for the conversation list's statements-per-page figure. */
const statements = { n: 0, inRequests: 0, texts: new Map<string, number>() }
/**
 * While `attributing` (the conversation list's statement count): set while the app answers a request, so the count
 * holds the requests' own statements, not a background task's. Off otherwise: on Node 20 an AsyncLocalStorage in use
 * hooks every promise, which would slow what is being measured.
 */
const inRequest = new AsyncLocalStorage<true>()
let attributing = false
const attributed =
  (fetch: Fetch): Fetch =>
  (req, env) =>
    attributing ? inRequest.run(true, () => fetch(req, env)) : fetch(req, env)
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements.n++
  if (attributing && inRequest.getStore()) statements.inRequests++
  const first = args[0] as string | { text?: string }
  const text = (typeof first === 'string' ? first : (first?.text ?? '')).replace(/\s+/g, ' ').slice(0, 90)
  statements.texts.set(text, (statements.texts.get(text) ?? 0) + 1)
  return query.apply(this, args)
} as typeof pg.Client.prototype.query

/** `messages` messages in conversations of 20 (one visitor each), spread over the last 30 days, in set-based SQL. */
async function seedList(deps: Deps, licenseId: string, messages: number): Promise<{ conversations: number; ms: number }> {
  const t = performance.now()
  const key = await deps.db
    .selectFrom('product_keys')
    .select('id')
    .where('license_id', '=', licenseId)
    .where('product', '=', 'chatbot')
    .executeTakeFirstOrThrow()
  const conversations = Math.ceil(messages / 20)
  // Postgres: on a connection of its own, without the pool's query timeout (a million rows take minutes on a busy box).
  const admin = process.env.DATABASE_URL ? new pg.Client({ connectionString: process.env.DATABASE_URL }) : undefined
  const run = async (text: string, values: unknown[]) => {
    if (admin) await admin.query(text, values)
    else await deps.db.executeQuery(CompiledQuery.raw(text, values))
  }
  if (admin) {
    await admin.connect()
    await admin.query(`set search_path to ${schema}, public`)
  }
  await run(
    `with v as (
      insert into visitors (license_id, secret_hash) select $1, md5(g::text) from generate_series(1, $3::int) g returning id
    )
    insert into conversations (license_id, product, product_key_id, visitor_id, last_seq, created_at, updated_at)
    select $1, 'chatbot', $2, v.id, 20, now() - interval '31 days', now() - random() * interval '30 days' from v`,
    [licenseId, key.id, conversations],
  )
  await run(
    `insert into messages (license_id, conversation_id, seq, role, text, created_at)
    select c.license_id, c.id, s, case when s % 2 = 1 then 'visitor' else 'assistant' end, 'message ' || s, c.updated_at - (20 - s) * interval '1 minute'
    from conversations c cross join generate_series(1, 20) s
    where c.license_id = $1 and c.last_seq = 20 and not exists (select 1 from messages m where m.conversation_id = c.id)`,
    [licenseId],
  )
  // As a live tenant's data is: a conversation idle for a day was closed by the inactivity sweep (the default
  // autoCloseHours, conversations/lifecycle.ts). Seeded open, the sweep would close ~48,000 of them one transaction
  // each the next time its 15-minute slot came round, sometimes in the middle of the timed list requests.
  await run(
    `update conversations set status = 'closed', closed_by = 'inactivity', closed_at = updated_at + interval '24 hours'
    where license_id = $1 and product = 'chatbot' and status <> 'closed' and updated_at < now() - interval '24 hours'`,
    [licenseId],
  )
  // A bulk load leaves every page unvacuumed: vacuum now, or autovacuum does it during the measurement.
  await run('vacuum (analyze) visitors, conversations, messages', [])
  await admin?.end()
  return { conversations, ms: performance.now() - t }
}

async function main(): Promise<void> {
  if (process.env.DATABASE_URL && !shared) await withAdmin((c) => c.query(`create schema ${schema}`))
  const config = loadConfig(env)
  const deps = await createDeps(config, { db: { schema, poolSize: 20 } })
  const demo = await ensureDemo(deps)
  // Enterprise: its widget key may hold 20,000 streams (the SSE memory scenario opens thousands).
  await deps.db.updateTable('licenses').set({ tier: 'enterprise' }).where('id', '=', demo.license.id).execute()
  const intelagent = await createApp(deps, { demo })
  const secret = await createKey(deps.db, config.keyPepper, demo.license.id, 'setup-agent', [])

  // A customer session for /api/auth/me.
  const email = demo.license.email
  const reg = await intelagent.app.request('/api/auth/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'bench-password-123', license_key: demo.license.key }),
  })
  // A joining instance finds the customer registered already; it has no session to offer (the ingest line needs none).
  const { token } = (await reg.json()) as { token: string }

  const bare = new Hono()
  bare.get('/ping', (c) => c.json({ ok: true }))
  // The ceiling of the hot-path lines: bare Hono giving GET /api/auth/me's answer (a secret key's) with none of its
  // work: the same headers (a fresh request id each time, as the edge makes it) and the same JSON, serialized per
  // request. No route that answers this can be faster, however little it does.
  const me = await intelagent.app.request('/api/auth/me', { headers: { authorization: `Bearer ${secret.key}` } })
  const meBody = (await me.json()) as object
  const meHeaders = [...me.headers].filter(([name]) => !['content-type', 'content-length', 'x-request-id'].includes(name))
  bare.get('/ceiling', (c) => {
    const out = (c.env as { outgoing: { setHeader(name: string, value: string): unknown } }).outgoing
    out.setHeader('X-Request-Id', `req_${randomUUID().replaceAll('-', '')}`)
    for (const [name, value] of meHeaders) out.setHeader(name, value)
    return c.json(meBody)
  })
  const a = await listen(attributed(intelagent.app.fetch))
  const b = await listen(bare.fetch)

  process.send?.({
    ready: true,
    appPort: a.port,
    barePort: b.port,
    token,
    secretKey: secret.key,
    chatbotKey: demo.chatbotKey,
    shared: JSON.stringify({ schema, ...secrets }),
    store: `${config.databaseUrl ? 'Postgres' : 'PGlite'} + ${config.redisUrl ? 'Redis' : 'in-process cache'}`,
  })

  process.on('message', async (msg: { stop?: boolean; op?: string; n?: number; ms?: number; concurrency?: number; on?: boolean }) => {
    if (msg.op === 'mem') {
      // Measured after a full collection when --expose-gc is on: what is still held, not what V8 has yet to collect.
      const g = (globalThis as { gc?: () => void }).gc
      if (g) g()
      process.send?.({ rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, streams: intelagent.streams.size })
      return
    }
    if (msg.op === 'seedList') {
      process.send?.(await seedList(deps, demo.license.id, msg.n ?? 0).catch((e: Error) => ({ error: e.message })))
      return
    }
    if (msg.op === 'cpu') {
      const u = process.cpuUsage()
      // With BENCH_CPU_PROF: the moment on the profile's clock (µs), so a profile can be cut to each measured load.
      if (process.env.BENCH_CPU_PROF) console.error(`cpu mark ${process.hrtime.bigint() / 1000n}`)
      if (process.env.BENCH_HEAP_PROF) await heapSampling(process.env.BENCH_HEAP_PROF)
      process.send?.({ cpuUs: u.user + u.system })
      return
    }
    if (msg.op === 'drain') {
      // Waits until the event consumers have handled what the load left queued (jobs idle on this instance).
      const t = performance.now()
      if (intelagent.jobs.enabled) await intelagent.jobs.idle(120_000)
      if (process.env.BENCH_VERBOSE) {
        const { rows } = await sql<{ name: string; status: string; n: number; attempts: number }>`
          select name, status, count(*)::int as n, sum(attempts)::int as attempts from jobs group by 1, 2 order by 3 desc`.execute(deps.db)
        for (const r of rows) console.error(`jobs ${r.name} ${r.status}: ${r.n} (${r.attempts} attempts)`)
      }
      process.send?.({ ms: performance.now() - t })
      return
    }
    if (msg.op === 'attribute') {
      attributing = Boolean(msg.on)
      process.send?.({ attributing })
      return
    }
    if (msg.op === 'countStatements') {
      // Statements sent to Postgres since the last call (pg only; PGlite is not counted).
      process.send?.({ statements: statements.n, inRequests: statements.inRequests, texts: [...statements.texts].sort((a, b) => b[1] - a[1]) })
      statements.n = 0
      statements.inRequests = 0
      statements.texts.clear()
      return
    }
    if (msg.op === 'bareInsert') {
      process.send?.(await bareInsert(deps, msg.ms ?? 5000, msg.concurrency ?? 32))
      return
    }
    if (msg.op === 'handoffs') {
      // Visitor messages stored for a person (past a quota or cap) instead of answered: the ingest line measures the
      // answered path, so any is a fault of the bench's setup.
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from messages where role = 'visitor' and meta ? 'handoff'`.execute(deps.db)
      process.send?.({ handoffs: rows[0]?.n ?? 0 })
      return
    }
    if (msg.op === 'conversations') {
      process.send?.(await widgetConversations(deps, demo.license.id, msg.n ?? 0))
      return
    }
    if (!msg.stop) return
    a.server.close()
    b.server.close()
    await intelagent.close()
    await closeDeps(deps)
    if (process.env.DATABASE_URL && !shared) await withAdmin((c) => c.query(`drop schema if exists ${schema} cascade`))
    if (process.env.REDIS_URL && !shared) await dropKeys(process.env.REDIS_URL, `bench:${schema}:*`)
    process.exit(0)
  })
}

await main()
