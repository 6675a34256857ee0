import { readdirSync } from 'node:fs'
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { createStore, type TestStore } from '../../test/harness.js'
import { createDb, type Db } from './db.js'
import { migrateToLatest } from './migrate.js'

// Every file in migrations/ must be registered with the migrator, in name (date) order.
const ALL = readdirSync(new URL('./migrations/', import.meta.url))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort()

describe('migrations', () => {
  const cleanup: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn()
  })

  /** Connections to one fresh database: a new Postgres schema, or one in-memory PGlite shared by every handle. */
  async function freshDatabase(handles: number): Promise<{ dbs: Db[]; store: TestStore }> {
    const store = await createStore()
    cleanup.push(() => store.drop())
    if (process.env.DATABASE_URL) {
      const dbs = await Promise.all(
        Array.from({ length: handles }, () => createDb({ databaseUrl: process.env.DATABASE_URL, dataDir: '.', schema: store.schema })),
      )
      for (const db of dbs) cleanup.push(() => db.destroy())
      return { dbs, store }
    }
    const db = await createDb({ databaseUrl: undefined, dataDir: '.', memory: true })
    cleanup.push(() => db.destroy())
    return { dbs: Array.from({ length: handles }, () => db), store }
  }

  const tables = async (db: Db) => (await db.introspection.getTables()).map((t) => t.name).sort()

  it('lets two instances migrate one fresh database at the same time: both succeed, each migration runs once', async () => {
    const { dbs } = await freshDatabase(2)
    const [a, b] = await Promise.all(dbs.map((db) => migrateToLatest(db)))
    expect([...a!, ...b!].sort()).toEqual(ALL)
    const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(dbs[0]!)
    expect(applied.rows.map((r) => r.name)).toEqual(ALL)
    expect(await tables(dbs[0]!)).toEqual(expect.arrayContaining(['licenses', 'users', 'sessions', 'product_keys', 'audit_log', 'conversations', 'messages']))
    expect(await migrateToLatest(dbs[1]!)).toEqual([])
  })

  it('migrates a second schema of a database whose first schema is already migrated', async () => {
    const { dbs } = await freshDatabase(1)
    const db = dbs[0]!
    expect(await migrateToLatest(db)).toEqual(ALL)
    if (process.env.DATABASE_URL) {
      // Another schema in the same database, as another app or another test run would have.
      const other = await freshDatabase(1)
      expect(await migrateToLatest(other.dbs[0]!)).toEqual(ALL)
      expect(await tables(other.dbs[0]!)).toContain('licenses')
    } else {
      await sql`create schema second`.execute(db)
      await sql`set search_path to second`.execute(db)
      expect(await migrateToLatest(db)).toEqual(ALL)
      const inSecond = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = 'second'`.execute(db)
      expect(inSecond.rows[0]!.n).toBeGreaterThanOrEqual(ALL.length)
    }
  })
})
