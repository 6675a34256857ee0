// Bench child process: the real server (configured Postgres/Redis or embedded defaults) and a bare Hono route,
// both listening on loopback, plus the fixtures the load needs. Talks to bench/run.ts over IPC.
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ServerType, serve } from '@hono/node-server'
import { Hono } from 'hono'
import pg from 'pg'
import { createApp } from '../src/app.js'
import { ensureDemo } from '../src/demo.js'
import { createKey } from '../src/keys/queries.js'
import { loadConfig } from '../src/platform/config.js'
import { closeDeps, createDeps } from '../src/platform/deps.js'

const schema = `bench_${Date.now().toString(36)}`
const env = {
  ...process.env,
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  RATE_LIMIT_SCALE: '10000',
  SCRYPT_LOG_N: '14',
  REDIS_PREFIX: `bench:${schema}:`,
  PUBLIC_URL: 'http://127.0.0.1',
  DATA_DIR: mkdtempSync(join(tmpdir(), 'intl-bench-')),
  JWT_SECRET: randomBytes(32).toString('base64url'),
  KEY_PEPPER: randomBytes(32).toString('base64url'),
  ENCRYPTION_KEYS: randomBytes(32).toString('base64'),
}

async function withAdmin(fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
  await client.connect()
  await fn(client)
  await client.end()
}

function listen(fetch: (req: Request) => Response | Promise<Response>): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve({ server, port: info.port }))
  })
}

async function main(): Promise<void> {
  if (process.env.DATABASE_URL) await withAdmin((c) => c.query(`create schema ${schema}`))
  const config = loadConfig(env)
  const deps = await createDeps(config, { db: { schema, poolSize: 20 } })
  const demo = await ensureDemo(deps)
  const intelagent = await createApp(deps, { demo })
  const secret = await createKey(deps.db, config.keyPepper, demo.license.id, 'setup-agent', [])

  // A customer session for /api/auth/me.
  const email = demo.license.email
  const reg = await intelagent.app.request('/api/auth/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'bench-password-123', license_key: demo.license.key }),
  })
  const { token } = (await reg.json()) as { token: string }

  const bare = new Hono()
  bare.get('/ping', (c) => c.json({ ok: true }))
  const a = await listen(intelagent.app.fetch)
  const b = await listen(bare.fetch)

  process.send?.({
    ready: true,
    appPort: a.port,
    barePort: b.port,
    token,
    secretKey: secret.key,
    chatbotKey: demo.chatbotKey,
    store: `${config.databaseUrl ? 'Postgres' : 'PGlite'} + ${config.redisUrl ? 'Redis' : 'in-process cache'}`,
  })

  process.on('message', async (msg: { stop?: boolean }) => {
    if (!msg.stop) return
    a.server.close()
    b.server.close()
    await intelagent.close()
    await closeDeps(deps)
    if (process.env.DATABASE_URL) await withAdmin((c) => c.query(`drop schema if exists ${schema} cascade`))
    process.exit(0)
  })
}

await main()
