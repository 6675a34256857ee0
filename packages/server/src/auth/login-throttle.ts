// Login throttling: per client address, and per (address, email) pair with a progressive delay. Never per email
// alone, so a stranger guessing against an owner's address slows down only their own address.
import { createHash, randomUUID } from 'node:crypto'
import type { Deps } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import type { LimitSpec } from '../platform/ratelimit.js'

/** Failures a pair may make before every further attempt has to wait. */
export const FREE_FAILURES = 5
/** The wait after each further failure doubles from 1 s up to this. */
export const MAX_DELAY_SECONDS = 15 * 60
/** A pair's failures are forgotten after a day without one. */
const STATE_TTL_MS = 24 * 60 * 60_000
/** Frees an attempt's slot if its outcome never arrives (a crash mid-request). */
const CLAIM_TTL_MS = 60_000

/** Every login attempt from one address, whichever email it names. */
export const loginIpLimit = (ip: string): LimitSpec => ({ policy: 'login-ip', key: `login:ip:${ip}`, limit: 30, windowMs: 15 * 60_000 })

/** Seconds a pair must wait after its `failures`-th failure: 0 while free, then 1, 2, 4, … capped. */
export const delaySeconds = (failures: number): number =>
  failures < FREE_FAILURES ? 0 : Math.min(MAX_DELAY_SECONDS, 2 ** Math.min(failures - FREE_FAILURES, 30))

interface PairState {
  failures: number
  lastFailureAt: number
  /** Fresh after every reset, so the one-attempt-per-step claims of an earlier run never block a later one. */
  epoch: string
}

export interface LoginAttempt {
  failed(): Promise<void>
  succeeded(): Promise<void>
}

function waitError(retrySeconds: number, windowSeconds: number): AppError {
  return new AppError('rate_limited', `Too many failed logins for this email from your address; retry in ${retrySeconds}s`, {
    headers: {
      'Retry-After': String(retrySeconds),
      'RateLimit-Policy': `"login-pair";q=1;w=${windowSeconds}`,
      RateLimit: `"login-pair";r=0;t=${retrySeconds}`,
    },
  })
}

/**
 * Admits one login attempt for (ip, email) or throws rate_limited with Retry-After. The caller reports the
 * outcome: a failure lengthens the next wait, a success forgets the pair's failures.
 */
export async function admitLogin(deps: Pick<Deps, 'cache' | 'clock'>, ip: string, email: string): Promise<LoginAttempt> {
  // Hashed: the cache holds no email addresses.
  const pair = createHash('sha256').update(`${ip}\n${email.trim().toLowerCase()}`).digest('hex').slice(0, 32)
  const stateKey = `login:pair:${pair}`
  const raw = await deps.cache.get(stateKey)
  const state = raw ? (JSON.parse(raw) as PairState) : null
  const failures = state?.failures ?? 0
  const wait = delaySeconds(failures)
  if (state && wait > 0) {
    const readyAt = state.lastFailureAt + wait * 1000
    const now = deps.clock.now()
    if (now < readyAt) throw waitError(Math.max(1, Math.ceil((readyAt - now) / 1000)), wait)
    // One attempt per step: guesses fired together the moment a wait ends cannot all get through.
    if (!(await deps.cache.setIfAbsent(`${stateKey}:${state.epoch}:${failures}`, '1', CLAIM_TTL_MS))) throw waitError(1, wait)
  }
  return {
    async failed() {
      const next: PairState = { failures: failures + 1, lastFailureAt: deps.clock.now(), epoch: state?.epoch ?? randomUUID() }
      await deps.cache.set(stateKey, JSON.stringify(next), STATE_TTL_MS)
    },
    async succeeded() {
      if (state) await deps.cache.del(stateKey)
    },
  }
}
