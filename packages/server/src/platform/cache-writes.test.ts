// The Redis limiter's writes under load (real Redis: REDIS_URL, or a redis-server this file starts): the script calls
// one event-loop turn makes while another is unanswered leave in one write, and each still gets its exact answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../../test/services.js'
import { RedisCache } from './cache.js'
import { systemClock } from './clock.js'
import { createLogger } from './logger.js'

let own: RedisServer | undefined
let cache: RedisCache

beforeAll(async () => {
  if (!process.env.REDIS_URL) own = await startRedis()
  const url = process.env.REDIS_URL ?? (own as RedisServer).url
  cache = new RedisCache({ url, prefix: `writes:${Date.now().toString(36)}:`, clock: systemClock, logger: createLogger('silent'), instanceCount: 1 })
  // Connected before counting: a call made before that would wait in the client's offline queue instead.
  expect((await cache.rateLimit('warm', 1, 60_000)).allowed).toBe(true)
}, 30_000)
afterAll(async () => {
  await cache?.close()
  await own?.stop()
})

/** Counts the writes a connection's socket hands to the OS (one per _write or _writev, i.e. per syscall). */
function countWrites(connection: 'limiter' | 'client' = 'limiter'): { writes: () => number } {
  type Socket = { _write: (...a: unknown[]) => void; _writev?: (...a: unknown[]) => void }
  const socket = (cache as unknown as Record<string, { stream: Socket }>)[connection]?.stream as Socket
  let n = 0
  for (const name of ['_write', '_writev'] as const) {
    const original = socket[name]
    if (!original) continue
    socket[name] = function (this: unknown, ...args: unknown[]) {
      n++
      return original.apply(this, args)
    }
  }
  return { writes: () => n }
}

describe('Redis limiter writes', () => {
  it('calls made in one turn while another is unanswered share one write, and are counted exactly', async () => {
    const key = `burst:${Math.random()}`
    const counter = countWrites()
    // The first call goes at once; the next 20, made in the same turn while it is unanswered, wait for the turn's end.
    const calls = Array.from({ length: 21 }, () => cache.rateLimit(key, 15, 60_000))
    const decisions = await Promise.all(calls)
    expect(counter.writes()).toBe(2)
    expect(decisions.filter((d) => d.allowed)).toHaveLength(15)
    expect(decisions.map((d) => d.remaining).filter((_, i) => decisions[i]?.allowed)).toEqual([14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0])

    // An idle connection writes a lone call at once (it is not held for anything).
    const before = counter.writes()
    const lone = await cache.rateLimit(`lone:${Math.random()}`, 5, 60_000)
    expect(lone).toMatchObject({ allowed: true, remaining: 4 })
    expect(counter.writes()).toBe(before + 1)
  })
})
