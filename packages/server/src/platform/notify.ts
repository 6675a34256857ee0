// Waking job workers on every instance when work is committed. NOTIFY is sent after the commit, never inside the
// caller's transaction: Postgres makes every transaction that notified take one database-wide lock through its
// commit (fsync included), which would cap the rate of all enqueueing transactions at one per disk flush.
import type { DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely'
import pg from 'pg'

/** A statement whose SQL carries this comment wakes the workers once it (or the transaction holding it) commits. */
export const WAKE_MARKER = '/* wake-workers */'
/** The NOTIFY channel; the payload is the schema, so workers of other schemas in the same database ignore it. */
export const WAKE_CHANNEL = 'intl_jobs'

/** Calls `onPayload` for each NOTIFY on `channel`; resolves to an unlisten. */
export type Listen = (channel: string, onPayload: (payload: string) => void) => Promise<() => Promise<void>>

/** Runs `send` now, or once more after the one in flight: a burst of commits costs two NOTIFYs, not one each. */
export function coalesced(send: () => Promise<unknown>): () => void {
  let inFlight = false
  let again = false
  const loop = async () => {
    do {
      again = false
      // A lost wake-up only delays work until the next poll.
      await send().catch(() => undefined)
    } while (again)
    inFlight = false
  }
  return () => {
    if (inFlight) {
      again = true
      return
    }
    inFlight = true
    void loop()
  }
}

/** Wraps a dialect so that a committed statement carrying WAKE_MARKER calls `wake` (after COMMIT, or at once outside a transaction). */
export function wakingDialect(dialect: Dialect, wake: () => void): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => new WakingDriver(dialect.createDriver(), wake),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
  }
}

class WakingDriver implements Driver {
  private wrappers = new WeakMap<DatabaseConnection, DatabaseConnection>()
  private inner = new WeakMap<DatabaseConnection, DatabaseConnection>()
  private inTransaction = new WeakSet<DatabaseConnection>()
  private pending = new WeakSet<DatabaseConnection>()

  constructor(
    private driver: Driver,
    private wake: () => void,
  ) {}

  private wrap(conn: DatabaseConnection): DatabaseConnection {
    let w = this.wrappers.get(conn)
    if (!w) {
      w = {
        executeQuery: async <R>(query: Parameters<DatabaseConnection['executeQuery']>[0]): Promise<QueryResult<R>> => {
          const result = await conn.executeQuery<R>(query)
          if (query.sql.includes(WAKE_MARKER)) {
            if (this.inTransaction.has(conn)) this.pending.add(conn)
            else this.wake()
          }
          return result
        },
        streamQuery: (query, chunkSize) => conn.streamQuery(query, chunkSize),
      }
      this.wrappers.set(conn, w)
      this.inner.set(w, conn)
    }
    return w
  }

  private unwrap(w: DatabaseConnection): DatabaseConnection {
    return this.inner.get(w) ?? w
  }

  init(...args: Parameters<Driver['init']>) {
    return this.driver.init(...args)
  }
  async acquireConnection(...args: Parameters<Driver['acquireConnection']>) {
    return this.wrap(await this.driver.acquireConnection(...args))
  }
  async beginTransaction(w: DatabaseConnection, settings: TransactionSettings) {
    const conn = this.unwrap(w)
    await this.driver.beginTransaction(conn, settings)
    this.inTransaction.add(conn)
  }
  async commitTransaction(w: DatabaseConnection) {
    const conn = this.unwrap(w)
    try {
      await this.driver.commitTransaction(conn)
    } finally {
      this.inTransaction.delete(conn)
    }
    if (this.pending.has(conn)) {
      this.pending.delete(conn)
      this.wake()
    }
  }
  async rollbackTransaction(w: DatabaseConnection) {
    const conn = this.unwrap(w)
    this.inTransaction.delete(conn)
    this.pending.delete(conn)
    await this.driver.rollbackTransaction(conn)
  }
  savepoint(w: DatabaseConnection, ...rest: Parameters<NonNullable<Driver['savepoint']>> extends [unknown, ...infer R] ? R : never) {
    return this.driver.savepoint?.(this.unwrap(w), ...rest) ?? Promise.resolve()
  }
  rollbackToSavepoint(w: DatabaseConnection, ...rest: Parameters<NonNullable<Driver['rollbackToSavepoint']>> extends [unknown, ...infer R] ? R : never) {
    return this.driver.rollbackToSavepoint?.(this.unwrap(w), ...rest) ?? Promise.resolve()
  }
  releaseSavepoint(w: DatabaseConnection, ...rest: Parameters<NonNullable<Driver['releaseSavepoint']>> extends [unknown, ...infer R] ? R : never) {
    return this.driver.releaseSavepoint?.(this.unwrap(w), ...rest) ?? Promise.resolve()
  }
  releaseConnection(w: DatabaseConnection, ...rest: Parameters<Driver['releaseConnection']> extends [unknown, ...infer R] ? R : never) {
    return this.driver.releaseConnection(this.unwrap(w), ...rest)
  }
  destroy(...args: Parameters<Driver['destroy']>) {
    return this.driver.destroy(...args)
  }
}

/** LISTEN on a connection of its own (a pooled one would be handed to queries), re-established when it drops. */
export function pgListener(connectionString: string): Listen {
  return async (channel, onPayload) => {
    let client: pg.Client | undefined
    let retry: NodeJS.Timeout | undefined
    let closed = false
    // A lost connection only costs wake-ups (the worker keeps polling), so it is re-made quietly, once a second.
    const reconnect = (c: pg.Client) => {
      if (closed || client !== c) return
      client = undefined
      retry ??= setTimeout(() => {
        retry = undefined
        void connect()
      }, 1000)
    }
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString, connectionTimeoutMillis: 5000 })
      client = c
      c.on('notification', (n) => {
        if (n.channel === channel) onPayload(n.payload ?? '')
      })
      c.on('error', () => reconnect(c))
      c.on('end', () => reconnect(c))
      try {
        await c.connect()
        await c.query(`listen ${c.escapeIdentifier(channel)}`)
      } catch {
        reconnect(c)
        await c.end().catch(() => undefined)
      }
    }
    await connect()
    return async () => {
      closed = true
      clearTimeout(retry)
      await client?.end().catch(() => undefined)
    }
  }
}
