// Wires real dependencies from configuration: Postgres or PGlite, Redis or the in-process cache.
import { type Cache, MemoryCache, RedisCache } from './cache.js'
import { type Clock, systemClock } from './clock.js'
import type { Config } from './config.js'
import type { Deps } from './context.js'
import { createDb, type DbOptions } from './db.js'
import { createLogger, type Logger } from './logger.js'
import { Memo } from './memo.js'
import { createMetrics } from './metrics.js'
import { migrateToLatest } from './migrate.js'
import { createOutbound, type Outbound } from './outbound.js'
import { Tasks } from './tasks.js'

export interface DepsOptions {
  clock?: Clock
  logger?: Logger
  fetch?: typeof fetch
  outbound?: Outbound
  db?: Partial<DbOptions>
  /** Run migrations before returning (the server does; the CLI's migrate command does it itself). */
  migrate?: boolean
  /** Aborted when the process starts shutting down (see Deps.draining). */
  draining?: AbortSignal
}

export function createCache(config: Config, clock: Clock, logger: Logger): Cache {
  if (!config.redisUrl) return new MemoryCache(clock)
  return new RedisCache({ url: config.redisUrl, prefix: config.redisPrefix, clock, logger, instanceCount: config.instanceCount })
}

export async function createDeps(config: Config, options: DepsOptions = {}): Promise<Deps> {
  const clock = options.clock ?? systemClock
  const logger = options.logger ?? createLogger(config.logLevel, undefined, config.logFormat)
  const dbOptions: DbOptions = {
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    queryTimeoutMs: config.dbQueryTimeoutMs,
    preparedStatements: config.dbPreparedStatements,
    onConnectionError: (err) => logger.warn('postgres connection lost', { error: err.message }),
    ...options.db,
  }
  if (options.migrate !== false && dbOptions.databaseUrl) {
    // A migration may rightly run longer than any request should: it gets its own pool without the query timeout.
    const migrations = await createDb({ ...dbOptions, queryTimeoutMs: 0, poolSize: 1, preparedStatements: 0 })
    try {
      await migrateToLatest(migrations)
    } finally {
      await migrations.destroy()
    }
  }
  const db = await createDb(dbOptions)
  if (options.migrate !== false && !dbOptions.databaseUrl) await migrateToLatest(db)
  const outbound = options.outbound ?? createOutbound({ allowHosts: config.outboundAllowHosts })
  return {
    db,
    cache: createCache(config, clock, logger),
    clock,
    config,
    logger,
    fetch: options.fetch ?? globalThis.fetch,
    outbound,
    tasks: new Tasks(logger),
    memo: new Memo(),
    metrics: createMetrics(),
    draining: options.draining ?? new AbortController().signal,
  }
}

export async function closeDeps(deps: Deps): Promise<void> {
  await deps.tasks.idle()
  await deps.cache.close()
  await deps.outbound.close()
  await deps.db.destroy()
}
