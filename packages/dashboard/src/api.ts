// The dashboard talks to its own origin with the HttpOnly session cookie; the SDK supplies types, errors and retries.
import { Intelagent, IntelagentError, type MeResponse } from '@intelagent/sdk'

export const api = new Intelagent({
  baseUrl: location.origin,
  fetch: (url, init) => fetch(url, { ...init, credentials: 'same-origin' }),
  maxRetries: 1,
})

/** Signs in and drops the JWT from memory: the HttpOnly cookie set by the same response is the session. */
export async function signIn(call: (client: Intelagent) => Promise<unknown>): Promise<void> {
  try {
    await call(api)
  } finally {
    api.token = undefined
  }
}

/** A sentence for the person in front of the screen, with the request id for support when there is one. */
export function errorText(err: unknown): string {
  if (err instanceof IntelagentError) {
    const hint = err.status === 429 && err.headers.get('retry-after') ? ` Try again in ${err.headers.get('retry-after')} s.` : ''
    return `${err.message}.${hint}${err.requestId ? ` (request ${err.requestId})` : ''}`.replace(/\.\./g, '.')
  }
  return err instanceof Error ? err.message : String(err)
}

/** The signed-in person, as /api/auth/me answers it. */
export type Me = MeResponse['user']
