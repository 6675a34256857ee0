// Prepared statements on real Postgres (DATABASE_URL, or a throwaway cluster this file starts): a parameterised
// statement is parsed once per connection, statements without parameters run as before, the number of texts a
// pool prepares is bounded, and a table altered under a prepared `select *` does not fail the next call.
import { type Kysely, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testEnv } from '../../test/harness.js'
import { type PostgresServer, startPostgres } from '../../test/services.js'
import { loadConfig } from './config.js'
import { createDb, type Database, isDbUnavailable } from './db.js'

const schema = `prep_${Date.now().toString(36)}`
let own: PostgresServer | undefined
let url: string
const admin = async (text: string) => {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    await c.query(text)
  } finally {
    await c.end()
  }
}
// One connection, so pg_prepared_statements (per session) shows what the statements before it prepared.
const open = (preparedStatements: number) => createDb({ databaseUrl: url, dataDir: '', schema, poolSize: 1, preparedStatements })
const prepared = async (db: Kysely<Database>) =>
  (await sql<{ statement: string }>`select statement from pg_prepared_statements order by prepare_time`.execute(db)).rows.map((r) => r.statement)

beforeAll(async () => {
  if (!process.env.DATABASE_URL) own = await startPostgres()
  url = process.env.DATABASE_URL ?? (own as PostgresServer).url
  await admin(`create schema ${schema}`)
  await admin(`create table ${schema}.things (id int primary key, name text not null)`)
  await admin(`insert into ${schema}.things values (1, 'one'), (2, 'two')`)
}, 60_000)
afterAll(async () => {
  await admin(`drop schema if exists ${schema} cascade`)
  await own?.destroy()
})

describe('prepared statements', () => {
  it('prepares a parameterised statement once per connection and answers as before', async () => {
    const db = await open(100)
    try {
      for (const id of [1, 2, 1]) {
        const row = await db
          .selectFrom('things' as never)
          .select(['id', 'name'] as never)
          .where('id' as never, '=', id as never)
          .executeTakeFirst()
        expect(row).toEqual({ id, name: id === 1 ? 'one' : 'two' })
      }
      const statements = await prepared(db)
      expect(statements.filter((s) => s.includes('from "things"'))).toHaveLength(1)
      // Without parameters (transaction control, several statements in one string): never named.
      await db.transaction().execute(async (trx) => sql`select 1`.execute(trx))
      expect((await prepared(db)).some((s) => /^(begin|commit|select 1)$/i.test(s))).toBe(false)
    } finally {
      await db.destroy()
    }
  })

  it('prepares at most the configured number of distinct texts; the rest run unnamed and still answer', async () => {
    const db = await open(2)
    try {
      for (let n = 1; n <= 5; n++) {
        const { rows } = await sql<{ n: number }>`select ${n}::int + ${n === 1 ? 0 : n}::int as n /* text ${sql.raw(String(n))} */`.execute(db)
        expect(rows[0]?.n).toBe(n === 1 ? 1 : 2 * n)
      }
      // The statement listing prepared statements is itself a new text past the limit.
      expect(await prepared(db)).toHaveLength(2)
    } finally {
      await db.destroy()
    }
  })

  it('DB_PREPARED_STATEMENTS sets the bound (1,000 unset), and 0 prepares nothing (a transaction-mode pooler)', async () => {
    expect(loadConfig(testEnv({})).dbPreparedStatements).toBe(1000)
    const off = loadConfig(testEnv({ DB_PREPARED_STATEMENTS: '0' })).dbPreparedStatements
    expect(off).toBe(0)
    const db = await open(off)
    try {
      for (const id of [1, 2])
        expect(
          await db
            .selectFrom('things' as never)
            .select('name' as never)
            .where('id' as never, '=', id as never)
            .executeTakeFirst(),
        ).toBeTruthy()
      expect(await prepared(db)).toEqual([])
    } finally {
      await db.destroy()
    }
  })

  it('a table altered under a prepared select * is read again, not failed (a migration while the instance runs)', async () => {
    const db = await open(100)
    const read = () => sql<Record<string, unknown>>`select * from things where id = ${1}`.execute(db)
    try {
      // Past the first five runs Postgres keeps a generic plan too.
      for (let i = 0; i < 7; i++) expect((await read()).rows).toEqual([{ id: 1, name: 'one' }])
      await admin(`alter table ${schema}.things add column note text not null default 'new'`)
      expect((await read()).rows).toEqual([{ id: 1, name: 'one', note: 'new' }])
      expect((await read()).rows).toEqual([{ id: 1, name: 'one', note: 'new' }])

      // Inside a transaction the failed statement has aborted it: the caller is told to retry (503), and the
      // connection's next statements run on fresh names.
      await admin(`alter table ${schema}.things add column extra int`)
      const failed = await db
        .transaction()
        .execute(async (trx) => sql`select * from things where id = ${1}`.execute(trx))
        .catch((err: unknown) => err)
      expect(failed).toBeInstanceOf(Error)
      expect(isDbUnavailable(failed)).toBe(true)
      expect((await read()).rows).toEqual([{ id: 1, name: 'one', note: 'new', extra: null }])
    } finally {
      await db.destroy()
      await admin(`alter table ${schema}.things drop column if exists note, drop column if exists extra`)
    }
  })
})
