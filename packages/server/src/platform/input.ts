// Input rules every route shares, applied by the machinery (route validation, raw-body parsing, one middleware)
// rather than per route: only strings Postgres can store, and integers that fit the integer columns they meet.

import { z } from '@hono/zod-openapi'
import { AppError } from './errors.js'

/** The largest value of a Postgres `integer` column (message seq, conversation last_seq). */
export const INT32_MAX = 2_147_483_647

/**
 * A non-negative position in an integer column (a message seq), from a query string or a JSON number.
 * Unbounded, a larger value reaches Postgres, which refuses to compare it with an int4 and fails the query.
 */
export const seqSchema = z.coerce.number().int().min(0).max(INT32_MAX)

// With the u flag a surrogate pair is one code point, so this matches only a surrogate standing alone.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

/** Why a string cannot be stored as text or jsonb, if it cannot. */
function unstorable(s: string): string | undefined {
  if (s.includes('\0')) return 'must not contain NUL characters'
  if (LONE_SURROGATE.test(s)) return 'must be well-formed Unicode (it has an unpaired surrogate)'
  return undefined
}

/** The path (`a.b.0`) of the first string or object key in `value` that Postgres cannot store, and why. */
export function findUnstorable(value: unknown, path: string[] = [], depth = 0): { path: string; reason: string } | undefined {
  if (typeof value === 'string') {
    const reason = unstorable(value)
    return reason ? { path: path.join('.') || '(value)', reason } : undefined
  }
  // Parsed JSON cannot be deeper than the body limit allows, but a cap keeps this walk from ever overflowing the stack.
  if (value === null || typeof value !== 'object' || depth > 256) return undefined
  for (const [k, v] of Object.entries(value)) {
    const reason = unstorable(k)
    if (reason) return { path: [...path, JSON.stringify(k).slice(1, -1)].join('.'), reason: `key ${reason}` }
    const found = findUnstorable(v, [...path, k], depth + 1)
    if (found) return found
  }
  return undefined
}

/**
 * Strings Postgres cannot store — a NUL character, an unpaired UTF-16 surrogate (refused by jsonb) — are refused
 * with 400 invalid_request, not stripped or replaced: no honest client sends them, and silently changing a value
 * would also change what a signature or an Idempotency-Key was computed over.
 */
export function assertStorable(value: unknown, where: string): void {
  const found = findUnstorable(value)
  if (found) throw new AppError('invalid_request', `${where === 'json' ? '' : `${where} `}${found.path}: ${found.reason}`)
}

/**
 * The same rule for the URL of every request, including routes that read their path or query by hand
 * (the SSE streams, static files): an encoded NUL (%00) anywhere in it is refused before any route runs
 * (platform/http.ts edge). Returns that refusal, or null.
 */
export function nulInUrl(url: string): AppError | null {
  if (!url.includes('%00')) return null
  let field = 'path'
  for (const [name, value] of new URL(url, 'http://x').searchParams) {
    if (name.includes('\0') || value.includes('\0')) {
      field = `query ${name.replaceAll('\0', '\\0')}`
      break
    }
  }
  return new AppError('invalid_request', `${field}: must not contain NUL characters`)
}
