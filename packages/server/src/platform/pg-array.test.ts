// pgArray: the array literals the batched statements send arrive in Postgres (or PGlite) element for element, whatever
// the text holds, for each element type the statements use.
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createStore, createTestApp, type TestApp, type TestStore } from '../../test/harness.js'
import { pgArray } from './db.js'

describe('pgArray', () => {
  let store: TestStore
  let app: TestApp
  beforeAll(async () => {
    store = await createStore()
    app = await createTestApp({ store })
  }, 60_000)
  afterAll(async () => {
    await app.close()
    await store.drop()
  })

  const TEXTS = [
    'plain',
    '',
    'NULL',
    'null',
    'a "quoted" word',
    'back\\slash and \\" both',
    'trailing backslash\\',
    '{braces}, commas, and spaces',
    'line\nbreak\ttab',
    'ünïcödé ✓ 🎉',
    '"',
    '\\',
  ]

  it('sends text elements as they are, null as NULL', async () => {
    const values = [...TEXTS, null]
    const { rows } = await sql<{
      v: string | null
      n: number
    }>`select v, n::int from unnest(${pgArray(values)}::text[]) with ordinality as t(v, n) order by n`.execute(app.deps.db)
    expect(rows.map((r) => r.v)).toEqual(values)
  })

  it('sends JSON documents to jsonb, escapes included', async () => {
    const docs = [
      { text: 'say "hi"', path: 'C:\\dir\\file', nested: { list: [1, 'two', null], empty: {} } },
      { quote: '"', backslash: '\\', unicode: '✓\n' },
    ]
    const { rows } = await sql<{
      v: unknown
    }>`select v from unnest(${pgArray(docs.map((d) => JSON.stringify(d)))}::jsonb[]) with ordinality as t(v, n) order by n`.execute(app.deps.db)
    expect(rows.map((r) => (typeof r.v === 'string' ? JSON.parse(r.v) : r.v))).toEqual(docs)
  })

  it('sends uuids, integers, booleans and instants', async () => {
    const ids = ['6fb0b4d7-b5cf-46c8-89e8-08990dd9c1f5', '47fdb8c4-9b97-4789-8290-e360d7e49dce']
    const at = [new Date('2026-12-01T07:41:15.123Z'), new Date(0)]
    const { rows } = await sql<{ id: string; n: number; b: boolean; at: Date | string; big: string }>`
      select id::text, n, b, at, big::text from unnest(${pgArray(ids)}::uuid[], ${pgArray([-7, 2147483647])}::int[], ${pgArray([true, false])}::bool[],
        ${pgArray(at)}::timestamptz[], ${pgArray([9007199254740993n, 0n])}::bigint[]) as t(id, n, b, at, big)`.execute(app.deps.db)
    expect(rows.map((r) => r.id)).toEqual(ids)
    expect(rows.map((r) => r.n)).toEqual([-7, 2147483647])
    expect(rows.map((r) => r.b)).toEqual([true, false])
    expect(rows.map((r) => new Date(r.at).toISOString())).toEqual(at.map((d) => d.toISOString()))
    expect(rows.map((r) => r.big)).toEqual(['9007199254740993', '0'])
  })

  it('writes an empty array, and refuses a number Postgres cannot read', async () => {
    expect(pgArray([])).toBe('{}')
    const { rows } = await sql<{ n: number }>`select cardinality(${pgArray([])}::text[])::int as n`.execute(app.deps.db)
    expect(rows[0]?.n).toBe(0)
    expect(() => pgArray([Number.NaN])).toThrow(TypeError)
    expect(() => pgArray([Number.POSITIVE_INFINITY])).toThrow(TypeError)
  })
})
