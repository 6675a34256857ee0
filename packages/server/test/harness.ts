// Test wiring: real Postgres (own schema) and Redis (own key prefix) when DATABASE_URL / REDIS_URL are set,
// PGlite in memory and the in-process cache otherwise. Nothing depends on what an earlier run left behind.
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import pg from 'pg'
import { createApp, type Intelagent } from '../src/app.js'
import type { Cache } from '../src/platform/cache.js'
import { type Clock, ManualClock, systemClock } from '../src/platform/clock.js'
import { type Config, loadConfig } from '../src/platform/config.js'
import type { Deps } from '../src/platform/context.js'
import { createDb } from '../src/platform/db.js'
import { createCache } from '../src/platform/deps.js'
import { createLogger } from '../src/platform/logger.js'
import { Memo } from '../src/platform/memo.js'
import { createMetrics } from '../src/platform/metrics.js'
import { migrateToLatest } from '../src/platform/migrate.js'
import { createOutbound, type Lookup } from '../src/platform/outbound.js'
import { Tasks } from '../src/platform/tasks.js'

export const N8N_SECRET = 'n8n-test-secret-0123456789abcdef'
export const SQUARESPACE_SECRET_HEX = randomBytes(32).toString('hex')
export const SQUARESPACE_API = 'https://api.squarespace.test'

export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    JWT_SECRET: randomBytes(32).toString('base64url'),
    KEY_PEPPER: randomBytes(32).toString('base64url'),
    ENCRYPTION_KEYS: randomBytes(32).toString('base64'),
    N8N_WEBHOOK_SECRET: N8N_SECRET,
    SQUARESPACE_WEBHOOK_SECRET: SQUARESPACE_SECRET_HEX,
    SQUARESPACE_API_URL: SQUARESPACE_API,
    SQUARESPACE_API_KEY: 'sq-test-key',
    // Cheaper scrypt keeps the suite fast; production uses N=2^17 (see README).
    SCRYPT_LOG_N: '12',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'intl-test-')),
    PUBLIC_URL: 'http://intelagent.test',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...extra,
  }
}

export interface TestStore {
  /** Shared by every instance of one test: the schema name (Postgres) or the PGlite-backed db. */
  schema: string
  prefix: string
  /** The secrets every instance on this store shares, as real instances share their configuration. */
  secrets: Record<'JWT_SECRET' | 'KEY_PEPPER' | 'ENCRYPTION_KEYS', string>
  drop(): Promise<void>
}

/** A fresh schema and Redis prefix for one test file. */
export async function createStore(): Promise<TestStore> {
  const id = `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
  if (process.env.DATABASE_URL) {
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
    await client.connect()
    await client.query(`create schema ${id}`)
    await client.end()
  }
  return {
    schema: id,
    secrets: {
      JWT_SECRET: randomBytes(32).toString('base64url'),
      KEY_PEPPER: randomBytes(32).toString('base64url'),
      ENCRYPTION_KEYS: randomBytes(32).toString('base64'),
    },
    prefix: `test:${id}:`,
    async drop() {
      if (process.env.DATABASE_URL) {
        const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
        await client.connect()
        await client.query(`drop schema if exists ${id} cascade`)
        await client.end()
      }
      if (process.env.REDIS_URL) {
        const r = new Redis(process.env.REDIS_URL)
        let cursor = '0'
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', `test:${id}:*`, 'COUNT', 500)
          cursor = next
          if (keys.length) await r.del(...keys)
        } while (cursor !== '0')
        r.disconnect()
      }
    },
  }
}

export interface TestApp extends Intelagent {
  deps: Deps
  config: Config
  clock: Clock
  request(path: string, init?: RequestInit & { json?: unknown; token?: string }): Promise<Response>
  shutdown(): Promise<void>
}

export interface TestAppOptions {
  env?: Record<string, string>
  clock?: Clock
  fetch?: typeof fetch
  /** Name resolution for the outbound client (simulated DNS answers); OUTBOUND_ALLOW_HOSTS comes from `env`. */
  lookup?: Lookup
  /** Reuse another instance's store (a second server on the same Postgres and Redis). */
  store?: TestStore
  /** PGlite only: share another instance's database. */
  sharedDeps?: Deps
  /** Build this instance's cache from its config (e.g. a RedisCache pointed at a dead port). */
  cache?: (config: Config, clock: Clock) => Cache
  /** Receives every log line (JSON) instead of stdout. */
  log?: (line: string) => void
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const ownStore = options.store === undefined
  const store = options.store ?? (await createStore())
  const config = loadConfig(testEnv({ REDIS_PREFIX: store.prefix, ...store.secrets, ...options.env }))
  const clock = options.clock ?? systemClock
  const logger = createLogger(config.logLevel, options.log)
  const outbound = createOutbound({ allowHosts: config.outboundAllowHosts, ...(options.lookup ? { lookup: options.lookup } : {}) })
  let deps: Deps
  if (options.sharedDeps && !config.databaseUrl) {
    deps = {
      ...options.sharedDeps,
      config,
      clock,
      logger,
      fetch: options.fetch ?? globalThis.fetch,
      outbound,
      tasks: new Tasks(logger),
      memo: new Memo(),
      cache: options.sharedDeps.cache,
      metrics: createMetrics(),
      draining: new AbortController().signal,
    }
  } else {
    const db = await createDb({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      schema: store.schema,
      memory: true,
      poolSize: 20,
      preparedStatements: config.dbPreparedStatements,
    })
    await migrateToLatest(db)
    const cache = options.cache ? options.cache(config, clock) : createCache(config, clock, logger)
    deps = {
      db,
      cache,
      clock,
      config,
      logger,
      fetch: options.fetch ?? globalThis.fetch,
      outbound,
      tasks: new Tasks(logger),
      memo: new Memo(),
      metrics: createMetrics(),
      draining: new AbortController().signal,
    }
  }
  const intelagent = await createApp(deps)
  return {
    ...intelagent,
    deps,
    config,
    clock,
    request(path, init = {}) {
      const headers = new Headers(init.headers)
      let body = init.body
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json')
        body = JSON.stringify(init.json)
      }
      if (init.token) headers.set('authorization', `Bearer ${init.token}`)
      return Promise.resolve(intelagent.app.request(path, { ...init, headers, body }))
    },
    async shutdown() {
      await intelagent.close()
      await outbound.close()
      if (!options.sharedDeps) {
        await deps.cache.close()
        await deps.db.destroy()
      }
      if (ownStore) await store.drop()
    },
  }
}

export { ManualClock }
