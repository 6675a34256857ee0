// What a secret API key may do: one scope per capability and direction, derived from the route it calls.
import type { Principal } from '../platform/context.js'
import { AppError } from '../platform/errors.js'

export const SCOPES = [
  'keys:read',
  'keys:write',
  'settings:read',
  'settings:write',
  'conversations:read',
  'conversations:write',
  'leads:read',
  'audit:read',
] as const
export type Scope = (typeof SCOPES)[number]

/** The scope a route needs, 'session' for routes only a logged-in person may use, null for any caller. */
export function requiredScope(method: string, path: string): Scope | 'session' | null {
  const write = method !== 'GET' && method !== 'HEAD'
  const rw = (area: string) => `${area}:${write ? 'write' : 'read'}` as Scope
  if (path === '/api/auth/me') return null
  if (path.startsWith('/api/auth/') || path.startsWith('/api/api-keys')) return 'session'
  if (path.startsWith('/api/products/keys') || /^\/api\/products\/[^/]+\/configure$/.test(path)) return rw('keys')
  if (/^\/api\/products\/[^/]+\/(settings|knowledge|secrets)(\/|$)/.test(path)) return rw('settings')
  if (/^\/api\/products\/[^/]+\/conversations$/.test(path) || path.startsWith('/api/conversations/') || path === '/api/events') return rw('conversations')
  if (/^\/api\/products\/[^/]+\/leads$/.test(path)) return 'leads:read'
  if (path === '/api/audit') return 'audit:read'
  // Anything not listed is for people, not keys: a new route must opt in here.
  return 'session'
}

export function checkScope(p: Principal, method: string, path: string): void {
  const needed = requiredScope(method, path)
  if (needed === null || p.kind === 'session') return
  if (needed === 'session') throw new AppError('forbidden', 'This route needs a logged-in session, not a key')
  if (p.scopes !== null && !p.scopes.includes(needed)) throw new AppError('insufficient_scope', `This API key lacks the ${needed} scope`)
}
