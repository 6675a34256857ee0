// Keyset pagination cursors for the newest-first lists (conversations by updated_at, leads by created_at): the
// last row's timestamp and id, base64url JSON, opaque to clients.
import { z } from '@hono/zod-openapi'
import { AppError } from './errors.js'

export interface Cursor {
  t: string
  id: string
}

const MAX_CURSOR_MS = Date.UTC(10000, 0, 1)

export const encodeCursor = (c: Cursor): string => Buffer.from(JSON.stringify(c)).toString('base64url')

export function decodeCursor(raw: string | undefined): Cursor | undefined {
  if (!raw) return undefined
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString()) as Cursor
    // Years 1970–9999 only: JavaScript dates reach further back than Postgres timestamps, which would fail the query.
    const ms = typeof c.t === 'string' ? Date.parse(c.t) : Number.NaN
    if (!(ms >= 0 && ms < MAX_CURSOR_MS) || typeof c.id !== 'string' || !z.uuid().safeParse(c.id).success) throw new Error('bad')
    return c
  } catch {
    throw new AppError('validation_failed', 'cursor: not a cursor this API returned')
  }
}

/** The query of every newest-first list: a page size and the cursor the previous page returned. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(25).openapi({ description: 'Items per page, 1–100' }),
  cursor: z.string().max(200).optional().openapi({ description: 'The nextCursor of the previous page' }),
})
