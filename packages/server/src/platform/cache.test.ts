// The cache port's contract, run against whatever the environment gives: Redis when REDIS_URL is set,
// the in-process cache otherwise. Plus the local fixed-window limiter on a manual clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { countScriptCalls } from '../../test/fixtures.js'
import { createStore, type TestStore, testEnv } from '../../test/harness.js'
import { type RedisServer, startRedis } from '../../test/services.js'
import { type Cache, LocalLimiter, LocalSlots, type RateCheck, type RateDecision, RedisCache, sharedBlock } from './cache.js'
import { ManualClock, systemClock } from './clock.js'
import { loadConfig } from './config.js'
import { createCache } from './deps.js'
import { createLogger } from './logger.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('cache port', () => {
  let store: TestStore
  let cache: Cache
  let other: Cache

  beforeAll(async () => {
    store = await createStore()
    const config = loadConfig(testEnv({ REDIS_PREFIX: store.prefix }))
    cache = createCache(config, systemClock, createLogger('silent'))
    // A second instance on the same store: with Redis a second connection, in process the same object.
    other = config.redisUrl ? createCache(config, systemClock, createLogger('silent')) : cache
  })
  afterAll(async () => {
    if (other !== cache) await other.close()
    await cache.close()
    await store.drop()
  })

  it('stores, expires and deletes values', async () => {
    await cache.set('a', '1', 60_000)
    await cache.set('short', 'x', 40)
    expect(await other.get('a')).toBe('1')
    expect(await cache.get('short')).toBe('x')
    await sleep(80)
    expect(await cache.get('short')).toBeNull()
    await other.del('a', 'missing')
    expect(await cache.get('a')).toBeNull()
    expect(await cache.healthy()).toBe(true)
  })

  it('counts atomically across instances, and the first increment alone sets the expiry', async () => {
    const key = `count-${Date.now()}`
    const totals = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? cache : other).incrBy(key, 3, 60_000)))
    expect(totals.sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 3))
    const short = `count-short-${Date.now()}`
    expect(await cache.incrBy(short, 2, 300)).toBe(2)
    // A later increment with a long ttl does not push the first expiry back: a counter per period, not a sliding one.
    expect(await other.incrBy(short, 1, 60_000)).toBe(3)
    await sleep(400)
    expect(await cache.incrBy(short, 1, 60_000)).toBe(1)
  })

  it('meters in one atomic step: 50 concurrent at a limit of 10 count exactly 10', async () => {
    const key = `meter-${Date.now()}`
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? cache : other).meter([{ key, cost: 1, limit: 10, ttlMs: 60_000, seed: 0 }])),
    )
    expect(results.filter((r) => r.outcome === 'counted')).toHaveLength(10)
    expect(results.filter((r) => r.outcome === 'over')).toHaveLength(40)
    expect(await cache.get(key)).toBe('10')
    // Every admitted caller saw a distinct total: no two counted the same unit.
    const totals = results.flatMap((r) => (r.outcome === 'counted' ? r.totals : []))
    expect(totals.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  })

  it('meter: several counters at once, all or nothing; give-backs never refused nor below 0', async () => {
    const quota = `meter-q-${Date.now()}`
    const cap = `meter-cap-${Date.now()}`
    const check = (cost = 1) => [
      { key: quota, cost, limit: 5, ttlMs: 60_000, seed: 0 },
      { key: cap, cost, limit: 2, ttlMs: 60_000, seed: 0 },
    ]
    expect(await cache.meter(check())).toEqual({ outcome: 'counted', totals: [1, 1] })
    expect(await other.meter(check())).toEqual({ outcome: 'counted', totals: [2, 2] })
    // The cap is full: the quota is not charged either.
    expect(await cache.meter(check())).toEqual({ outcome: 'over', index: 1, total: 2 })
    expect(await cache.get(quota)).toBe('2')
    expect(await cache.meter(check(-5))).toEqual({ outcome: 'counted', totals: [0, 0] })
  })

  it('meter: a dedupe id counts once; a counter without a seed is reported missing, then seeded', async () => {
    const key = `meter-d-${Date.now()}`
    const dedupe = { key: `dedupe-${key}`, ttlMs: 60_000 }
    expect(await cache.meter([{ key, cost: 1, limit: null, ttlMs: 60_000 }], dedupe)).toEqual({ outcome: 'missing', index: 0 })
    // Missing counts nothing and does not burn the dedupe id.
    expect(await cache.meter([{ key, cost: 1, limit: null, ttlMs: 60_000, seed: 41 }], dedupe)).toEqual({ outcome: 'counted', totals: [42] })
    const again = await Promise.all([1, 2, 3].map(() => other.meter([{ key, cost: 1, limit: null, ttlMs: 60_000 }], dedupe)))
    expect(again).toEqual([{ outcome: 'duplicate' }, { outcome: 'duplicate' }, { outcome: 'duplicate' }])
    // Once it exists, the seed is ignored.
    expect(await cache.meter([{ key, cost: 1, limit: null, ttlMs: 60_000, seed: 0 }])).toEqual({ outcome: 'counted', totals: [43] })
  })

  it('meter steps of one turn share one script call, each with its own outcome, in order', async () => {
    const key = `meter-t-${Date.now()}`
    const fresh = `meter-t-fresh-${Date.now()}`
    const dedupe = { key: `dedupe-${key}`, ttlMs: 60_000 }
    const one = (cost: number) => [{ key, cost, limit: 3, ttlMs: 60_000, seed: 0 }]
    const calls = countScriptCalls(cache, 'intlMeter')
    try {
      const results = await Promise.all([
        cache.meter(one(1), dedupe),
        cache.meter(one(1), dedupe),
        cache.meter([{ key: fresh, cost: 1, limit: null, ttlMs: 60_000 }]),
        cache.meter(one(3)),
        cache.meter([...one(2), { key: fresh, cost: 1, limit: null, ttlMs: 60_000, seed: 7 }]),
      ])
      expect(results).toEqual([
        { outcome: 'counted', totals: [1] },
        { outcome: 'duplicate' },
        { outcome: 'missing', index: 0 },
        { outcome: 'over', index: 0, total: 1 },
        { outcome: 'counted', totals: [3, 8] },
      ])
      // Five dedupe keys (one per step, used or not) and six counters.
      if (calls.counted) expect(calls.keys).toEqual([11])
    } finally {
      calls.restore()
    }
    expect(await cache.get(key)).toBe('3')
  })

  it('admits exactly the limit per window, even under concurrent calls from two instances', async () => {
    // An hour-long window, so the burst cannot straddle two windows.
    const key = `rl-${Date.now()}`
    const decisions = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? cache : other).rateLimit(key, 20, 3_600_000)))
    expect(decisions.filter((d) => d.allowed)).toHaveLength(20)
    const remaining = decisions.filter((d) => d.allowed).map((d) => d.remaining)
    expect(new Set(remaining).size).toBe(20)
    const denied = decisions.filter((d) => !d.allowed)
    expect(denied).toHaveLength(30)
    expect(denied[0]).toMatchObject({ allowed: false, limit: 20, remaining: 0 })
    expect(denied[0]!.resetMs).toBeGreaterThan(0)
    expect(denied[0]!.resetMs).toBeLessThanOrEqual(3_600_000)
    expect((await cache.rateLimit(key, 20, 3_600_000, 1)).allowed).toBe(false)
  })

  it('a granted limit never admits more than the limit across two instances, and at most a block less', async () => {
    const key = `granted-${Date.now()}`
    const limit = 10_000 // blocks of 10 units per instance
    const take = (i: number) => (i % 2 ? cache : other).rateLimitAll([{ key, limit, windowMs: 3_600_000, share: 'granted' }])
    let admitted = 0
    let refused = 0
    for (let sent = 0; sent < limit + 100; sent += 250) {
      const wave = await Promise.all(Array.from({ length: Math.min(250, limit + 100 - sent) }, (_, i) => take(sent + i)))
      admitted += wave.filter(([d]) => d?.allowed).length
      refused += wave.filter(([d]) => !d?.allowed).length
    }
    expect(admitted).toBeLessThanOrEqual(limit)
    // Only a block another instance reserved and did not use can be refused too early.
    expect(admitted).toBeGreaterThanOrEqual(limit - (other === cache ? 0 : 10))
    expect(admitted + refused).toBe(limit + 100)
    // Spent on both: refused with nothing left, on either instance.
    for (const c of [cache, other])
      expect((await c.rateLimitAll([{ key, limit, windowMs: 3_600_000, share: 'granted' }]))[0]).toMatchObject({ allowed: false, remaining: 0 })
  })

  it('one instance alone admits exactly a granted limit, and a refused step takes nothing from its block', async () => {
    const key = `granted-one-${Date.now()}`
    const small = `small-${Date.now()}`
    const limit = 5_000
    const granted = { key, limit, windowMs: 3_600_000, share: 'granted' as const }
    const first = await cache.rateLimitAll([granted, { key: small, limit: 1, windowMs: 3_600_000 }])
    expect(first.map((d) => d.allowed)).toEqual([true, true])
    const before = (first[0] as { remaining: number }).remaining
    expect(before).toBe(limit - 1)
    // The small limit is spent: the step is refused and the granted one is not charged.
    const second = await cache.rateLimitAll([granted, { key: small, limit: 1, windowMs: 3_600_000 }])
    expect(second.map((d) => d.allowed)).toEqual([true, false])
    expect((await cache.rateLimitAll([granted]))[0]).toMatchObject({ allowed: true, remaining: limit - 2 })
    let admitted = 2
    for (let i = 0; i < limit; i += 500) {
      const wave = await Promise.all(Array.from({ length: 500 }, () => cache.rateLimitAll([granted])))
      admitted += wave.filter(([d]) => d?.allowed).length
    }
    expect(admitted).toBe(limit)
  })

  it('admits several limits atomically: all counted when every one has room, none when any is spent', async () => {
    const a = `all-a-${Date.now()}`
    const b = `all-b-${Date.now()}`
    const both = [
      { key: a, limit: 3, windowMs: 3_600_000 },
      { key: b, limit: 1, windowMs: 3_600_000 },
    ]
    const first = await cache.rateLimitAll(both)
    expect(first.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 0],
    ])
    const second = await other.rateLimitAll(both)
    expect(second.map((d) => d.allowed)).toEqual([true, false])
    // The refused call did not spend a's budget: two more fit.
    expect((await cache.rateLimit(a, 3, 3_600_000)).remaining).toBe(1)
    expect((await cache.rateLimit(a, 3, 3_600_000)).remaining).toBe(0)
    expect((await cache.rateLimit(a, 3, 3_600_000)).allowed).toBe(false)
  })

  it('steps asked in one turn share one script call and are still charged in order, each all or nothing', async () => {
    const a = `turn-a-${Date.now()}`
    const b = `turn-b-${Date.now()}`
    const both = [
      { key: a, limit: 3, windowMs: 3_600_000 },
      { key: b, limit: 1, windowMs: 3_600_000 },
    ]
    const alone = [{ key: a, limit: 3, windowMs: 3_600_000 }]
    const calls = countScriptCalls(cache, 'intlRateLimit')
    try {
      const steps = await Promise.all([cache.rateLimitAll(both), cache.rateLimitAll(both), cache.rateLimitAll(alone), cache.rateLimitAll(alone)])
      // The second step found b spent and took nothing from a, so the last two still fit.
      expect(steps.map((s) => s.map((d) => [d.allowed, d.remaining]))).toEqual([
        [
          [true, 2],
          [true, 0],
        ],
        [
          [true, 2],
          [false, 0],
        ],
        [[true, 1]],
        [[true, 0]],
      ])
      // One call holding the six keys of the four steps.
      if (calls.counted) expect(calls.keys).toEqual([6])
    } finally {
      calls.restore()
    }
    expect((await cache.rateLimit(a, 3, 3_600_000)).allowed).toBe(false)
  })

  it('opens a new window once the old one has passed', async () => {
    const key = `rl-short-${Date.now()}`
    let first = await cache.rateLimit(key, 1, 1000)
    // Landing right at a window edge would let the second call through: start again in a fresh window.
    if (first.resetMs < 300) {
      await sleep(first.resetMs + 20)
      first = await cache.rateLimit(key, 1, 1000)
    }
    expect(first.allowed).toBe(true)
    const second = await cache.rateLimit(key, 1, 1000)
    expect(second.allowed).toBe(false)
    await sleep(second.resetMs + 50)
    expect(await cache.rateLimit(key, 1, 1000)).toMatchObject({ allowed: true, remaining: 0 })
  })

  it('holds capped slots across instances: all sets or none, freed on release or when not renewed in time', async () => {
    const a = `slots-a-${Date.now()}`
    const b = `slots-b-${Date.now()}`
    const caps = [
      { key: a, limit: 2 },
      { key: b, limit: 3 },
    ]
    expect(await cache.acquireSlots(caps, 's1', 60_000)).toBe(-1)
    expect(await other.acquireSlots(caps, 's2', 60_000)).toBe(-1)
    // a is full: refused, and b is not charged for the refusal.
    expect(await cache.acquireSlots(caps, 's3', 60_000)).toBe(0)
    expect(await other.acquireSlots([{ key: b, limit: 3 }], 's4', 60_000)).toBe(-1)
    expect(await other.acquireSlots([{ key: b, limit: 3 }], 's5', 60_000)).toBe(0)
    // Taking a slot one already holds is not a second slot.
    expect(await cache.acquireSlots(caps, 's1', 60_000)).toBe(-1)
    await other.releaseSlots([
      { key: a, member: 's1' },
      { key: b, member: 's1' },
    ])
    expect(await cache.acquireSlots(caps, 's3', 60_000)).toBe(-1)
    // A holder that stops renewing (a crashed instance) loses its slot after the TTL; a renewed one keeps it.
    const c = `slots-c-${Date.now()}`
    expect(await cache.acquireSlots([{ key: c, limit: 2 }], 'crashed', 150)).toBe(-1)
    expect(await other.acquireSlots([{ key: c, limit: 2 }], 'alive', 150)).toBe(-1)
    expect(await cache.acquireSlots([{ key: c, limit: 2 }], 'late', 60_000)).toBe(0)
    await sleep(100)
    await other.renewSlots([{ key: c, member: 'alive' }], 60_000)
    await sleep(120)
    expect(await cache.acquireSlots([{ key: c, limit: 2 }], 'late', 60_000)).toBe(-1)
    expect(await cache.acquireSlots([{ key: c, limit: 2 }], 'later', 60_000)).toBe(0)
  })

  it('delivers published messages to every subscriber until it unsubscribes', async () => {
    const got: string[] = []
    const unsubscribe = await other.subscribe('chan', (m) => got.push(m))
    await cache.publish('chan', 'one')
    for (let i = 0; i < 50 && got.length === 0; i++) await sleep(10)
    expect(got).toEqual(['one'])
    unsubscribe()
    await sleep(20)
    await cache.publish('chan', 'two')
    await sleep(50)
    expect(got).toEqual(['one'])
  })
})

// Small limits in reserved blocks (the widget's address and key limits): always on a real Redis, the CI's or one
// this file starts, since the in-process cache has no blocks to reserve.
describe('small limits in shared blocks (Redis)', () => {
  let redis: RedisServer | undefined
  let url: string
  const opened: RedisCache[] = []
  const prefix = `blocks-${Date.now()}:`
  const open = (instanceCount: number, maxGrants?: number) => {
    const c = new RedisCache({ url, prefix, clock: systemClock, logger: createLogger('silent'), instanceCount, ...(maxGrants ? { maxGrants } : {}) })
    opened.push(c)
    return c
  }
  const small = (key: string, instances: number): RateCheck => ({ key, limit: 120, windowMs: 3_600_000, share: 'granted', block: sharedBlock(120, instances) })

  beforeAll(async () => {
    if (!process.env.REDIS_URL) redis = await startRedis()
    url = process.env.REDIS_URL ?? (redis as RedisServer).url
  })
  afterAll(async () => {
    for (const c of opened) await c.close()
    await redis?.stop()
  })

  it('sizes a block as a tenth of the limit split between the instances, exact below two units', () => {
    expect([sharedBlock(120, 1), sharedBlock(120, 2), sharedBlock(120, 6), sharedBlock(120, 7), sharedBlock(1_200, 2)]).toEqual([12, 6, 2, 0, 60])
    expect(sharedBlock(12_000_000, 1)).toBe(1000)
  })

  it('one instance admits exactly the limit, counting down by one, with a Redis call per block', async () => {
    const cache = open(1)
    const check = small(`one-${Date.now()}`, 1)
    const calls = countScriptCalls(cache, 'intlRateLimit')
    const decisions = []
    try {
      for (let i = 0; i < 130; i++) decisions.push(((await cache.rateLimitAll([check])) as [RateDecision])[0])
    } finally {
      calls.restore()
    }
    expect(decisions.filter((d) => d.allowed).map((d) => d.remaining)).toEqual(Array.from({ length: 120 }, (_, i) => 119 - i))
    expect(decisions.slice(120).every((d) => !d.allowed && d.remaining === 0)).toBe(true)
    // Nine calls each charging one unit and reserving 12 (117), two for each of the last three units (the block
    // refused, then charged exactly) and one per refusal: 25 calls for 130 requests, not one each.
    expect(calls.counted).toBe(true)
    expect(calls.keys.length).toBe(9 + 2 * 3 + 10)
  })

  it('two instances never admit more than the limit, and at most a block less each', async () => {
    const [a, b] = [open(2), open(2)]
    const check = small(`two-${Date.now()}`, 2)
    let admitted = 0
    for (let sent = 0; sent < 250; sent += 10) {
      const wave = await Promise.all(Array.from({ length: 10 }, (_, i) => ((sent + i) % 2 ? a : b).rateLimitAll([check])))
      admitted += wave.filter(([d]) => d?.allowed).length
    }
    expect(admitted).toBeLessThanOrEqual(120)
    expect(admitted).toBeGreaterThanOrEqual(120 - 6)
  })

  it('keeps at most maxGrants blocks, and a block dropped early never lets a limit be passed', async () => {
    const cache = open(1, 100)
    const first = small(`evicted-${Date.now()}`, 1)
    expect((await cache.rateLimitAll([first]))[0]?.allowed).toBe(true)
    for (let i = 0; i < 150; i++) await cache.rateLimitAll([small(`flood-${Date.now()}-${i}`, 1)])
    expect(cache.heldBlocks).toBeLessThanOrEqual(100)
    // The first counter's block (its 12 reserved units, unused) went with the oldest: those units are lost to this
    // window, none is admitted twice.
    let admitted = 1
    for (let i = 0; i < 130; i++) if ((await cache.rateLimitAll([first]))[0]?.allowed) admitted++
    expect(admitted).toBe(120 - 12)
  })
})

describe('LocalLimiter', () => {
  it('counts per key in fixed windows of the clock', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0))
    const limiter = new LocalLimiter(clock)
    for (let i = 0; i < 3; i++) expect(limiter.take('k', 3, 60_000).allowed).toBe(true)
    const denied = limiter.take('k', 3, 60_000)
    expect(denied).toEqual({ allowed: false, limit: 3, remaining: 0, resetMs: 60_000 })
    expect(limiter.take('other', 3, 60_000).allowed).toBe(true)
    clock.advance(59_999)
    expect(limiter.take('k', 3, 60_000)).toMatchObject({ allowed: false, resetMs: 1 })
    clock.advance(1)
    expect(limiter.take('k', 3, 60_000)).toMatchObject({ allowed: true, remaining: 2 })
    expect(limiter.take('k', 3, 60_000, 5).allowed).toBe(false)
  })
})

describe('LocalSlots', () => {
  it('caps each set, frees on release and expires slots that are not renewed', () => {
    const clock = new ManualClock()
    const slots = new LocalSlots(clock)
    expect(slots.acquire([{ key: 'k', limit: 2 }], 'a', 1000)).toBe(-1)
    expect(slots.acquire([{ key: 'k', limit: 2 }], 'b', 1000)).toBe(-1)
    expect(slots.acquire([{ key: 'k', limit: 2 }], 'c', 1000)).toBe(0)
    slots.release([{ key: 'k', member: 'a' }])
    expect(slots.acquire([{ key: 'k', limit: 2 }], 'c', 1000)).toBe(-1)
    clock.advance(600)
    slots.renew([{ key: 'k', member: 'b' }], 1000)
    clock.advance(600)
    // c was not renewed and expired; b was.
    expect(slots.acquire([{ key: 'k', limit: 2 }], 'd', 1000)).toBe(-1)
    expect(slots.acquire([{ key: 'k', limit: 2 }], 'e', 1000)).toBe(0)
  })
})
