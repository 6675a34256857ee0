// The cache / rate limiter / pub-sub port, with an ioredis implementation and an in-process one.
import { EventEmitter } from 'node:events'
import { Redis } from 'ioredis'
import { perTurnAll } from './batch.js'
import type { Clock } from './clock.js'
import type { Logger } from './logger.js'

export interface RateDecision {
  allowed: boolean
  limit: number
  remaining: number
  /** Milliseconds until the window resets. */
  resetMs: number
}

export interface RateCheck {
  key: string
  limit: number
  windowMs: number
  cost?: number
  /**
   * 'exact' (the default): every unit is charged in Redis when taken. 'granted': for a limit of a few thousand and
   * more, an instance reserves a block of units (a thousandth of the limit, at most 1,000) in one Redis call and
   * admits from it in memory until it is used up; near the limit it falls back to exact charging. Never more than
   * the limit is admitted across instances; while the block of another instance is unused, up to that block may be
   * refused too early (≤ 0.1 % of the limit per other instance). For the per-license request budgets; with `block`
   * for the widget's per-address and per-key limits too.
   */
  share?: 'exact' | 'granted'
  /** For a 'granted' check: the units reserved at once instead of grantSize(limit); below 2, exact charging. */
  block?: number
}

/** Units an instance reserves at once for a 'granted' limit; 0 (exact charging) below 2. */
export function grantSize(limit: number): number {
  const g = Math.min(1000, Math.floor(limit / 1000))
  return g >= 2 ? g : 0
}

/**
 * A block for a small limit shared by `instances`: a tenth of the limit split between them (at most 1,000 units), so
 * the blocks other instances hold unused, all that can be refused too early, stay under a tenth of the limit in all.
 * 0 (exact charging) below 2: a limit of 120 on one instance reserves 12 at a time, on seven or more it stays exact.
 */
export function sharedBlock(limit: number, instances: number): number {
  const g = Math.min(1000, Math.floor(limit / (10 * Math.max(1, instances))))
  return g >= 2 ? g : 0
}

const blockOf = (c: RateCheck): number => {
  const g = c.block ?? grantSize(c.limit)
  return g >= 2 ? g : 0
}

/** One capped set of slots (e.g. the open streams of one license) and how many it may hold. */
export interface SlotCheck {
  key: string
  limit: number
}

/** A slot held in one set: the set's key and the holder's id. */
export interface Slot {
  key: string
  member: string
}

/** One counter a meter step checks and counts (usage quotas, per-visitor caps, daily tallies). */
export interface MeterCheck {
  key: string
  /** Added when admitted; negative gives usage back (never below 0, never refused). */
  cost: number
  /** The counter may not pass this; null counts without a limit. */
  limit: number | null
  /** A counter created by this step expires this long after (a period's counters go once it is over). */
  ttlMs: number
  /** Where a missing counter starts; undefined means only the caller knows (answered `missing`, see meter). */
  seed?: number
}

export type MeterResult =
  /** Every counter had room and was counted; their new totals, in order. */
  | { outcome: 'counted'; totals: number[] }
  /** The dedupe id was seen before: nothing counted again. */
  | { outcome: 'duplicate' }
  /** The counter at `index` has no room for the cost: nothing counted. `total` is its count. */
  | { outcome: 'over'; index: number; total: number }
  /** The counter at `index` does not exist and has no seed (e.g. Redis restarted): call again with its seed. */
  | { outcome: 'missing'; index: number }
  /** The shared store is unreachable: nothing counted, nothing refused. */
  | { outcome: 'unavailable' }

export interface Cache {
  readonly kind: 'redis' | 'memory'
  get(key: string): Promise<string | null>
  set(key: string, value: string, ttlMs: number): Promise<void>
  /** Sets the key only if it does not exist; true when this call set it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>
  del(...keys: string[]): Promise<void>
  /**
   * Adds `by` to a counter and returns the new total (atomic across instances); the key expires `ttlMs` after its
   * first increment. Null when Redis is unreachable: the count is lost, not guessed.
   */
  incrBy(key: string, by: number, ttlMs: number): Promise<number | null>
  /**
   * Checks every counter and counts them all in one atomic step (never check-then-count, which lets parallel
   * callers overshoot), at most once per `dedupe` key (kept `ttlMs`) so a retried event is not counted twice.
   */
  meter(checks: MeterCheck[], dedupe?: { key: string; ttlMs: number }): Promise<MeterResult>
  /** Admits `cost` units if the window still has room; atomic across every instance sharing the store. */
  rateLimit(key: string, limit: number, windowMs: number, cost?: number): Promise<RateDecision>
  /** Several limits in one atomic step: admitted (and counted) only if every one has room. */
  rateLimitAll(checks: RateCheck[]): Promise<RateDecision[]>
  /**
   * Takes a slot named `member` in every set at once if each has room (atomic across instances). Returns -1 when
   * taken, else the index of the first full set. A slot not renewed within `ttlMs` frees itself (crashed holders).
   */
  acquireSlots(checks: SlotCheck[], member: string, ttlMs: number): Promise<number>
  /** Keeps held slots alive for another `ttlMs`. */
  renewSlots(slots: Slot[], ttlMs: number): Promise<void>
  releaseSlots(slots: Slot[]): Promise<void>
  publish(channel: string, message: string): Promise<void>
  subscribe(channel: string, handler: (message: string) => void): Promise<() => void>
  /** True when the shared store answers; the in-process cache always does. */
  healthy(): Promise<boolean>
  close(): Promise<void>
}

/** Fixed-window limiter in memory; also the fallback when Redis is unreachable. */
export class LocalLimiter {
  private windows = new Map<string, { window: number; count: number }>()
  constructor(private clock: Clock) {}

  take(key: string, limit: number, windowMs: number, cost = 1): RateDecision {
    return this.takeAll([{ key, limit, windowMs, cost }])[0] as RateDecision
  }

  takeAll(checks: RateCheck[]): RateDecision[] {
    const now = this.clock.now()
    const entries = checks.map((c) => {
      const window = Math.floor(now / c.windowMs)
      let entry = this.windows.get(c.key)
      if (!entry || entry.window !== window) {
        entry = { window, count: 0 }
        this.windows.set(c.key, entry)
        if (this.windows.size > 50_000) this.sweep(now, c.windowMs)
      }
      return { c, entry, cost: c.cost ?? 1, resetMs: (window + 1) * c.windowMs - now }
    })
    const ok = entries.every((e) => e.entry.count + e.cost <= e.c.limit)
    return entries.map((e) => {
      const allowed = e.entry.count + e.cost <= e.c.limit
      if (ok) e.entry.count += e.cost
      return { allowed: ok || allowed, limit: e.c.limit, remaining: Math.max(0, e.c.limit - e.entry.count), resetMs: e.resetMs }
    })
  }

  private sweep(now: number, windowMs: number): void {
    const current = Math.floor(now / windowMs)
    for (const [k, v] of this.windows) if (v.window < current) this.windows.delete(k)
  }
}

/** Capped slot sets in memory; also the fallback when Redis is unreachable. */
export class LocalSlots {
  private sets = new Map<string, Map<string, number>>()
  constructor(private clock: Clock) {}

  acquire(checks: SlotCheck[], member: string, ttlMs: number): number {
    const now = this.clock.now()
    for (const [i, c] of checks.entries()) {
      const set = this.live(c.key, now)
      if (set && !set.has(member) && set.size >= c.limit) return i
    }
    for (const c of checks) {
      let set = this.sets.get(c.key)
      if (!set) {
        set = new Map()
        this.sets.set(c.key, set)
      }
      set.set(member, now + ttlMs)
    }
    return -1
  }

  renew(slots: Slot[], ttlMs: number): void {
    const until = this.clock.now() + ttlMs
    for (const s of slots) {
      const set = this.sets.get(s.key)
      if (set?.has(s.member)) set.set(s.member, until)
    }
  }

  release(slots: Slot[]): void {
    for (const s of slots) {
      const set = this.sets.get(s.key)
      if (!set) continue
      set.delete(s.member)
      if (set.size === 0) this.sets.delete(s.key)
    }
  }

  /** The set without its expired slots. */
  private live(key: string, now: number): Map<string, number> | undefined {
    const set = this.sets.get(key)
    if (!set) return undefined
    for (const [m, until] of set) if (until <= now) set.delete(m)
    return set
  }
}

export class MemoryCache implements Cache {
  readonly kind = 'memory' as const
  private store = new Map<string, { value: string; expiresAt: number }>()
  private bus = new EventEmitter().setMaxListeners(0)
  private limiter: LocalLimiter
  private slots: LocalSlots

  constructor(private clock: Clock) {
    this.limiter = new LocalLimiter(clock)
    this.slots = new LocalSlots(clock)
  }

  async get(key: string): Promise<string | null> {
    const entry = this.store.get(key)
    if (!entry) return null
    if (entry.expiresAt <= this.clock.now()) {
      this.store.delete(key)
      return null
    }
    return entry.value
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.store.set(key, { value, expiresAt: this.clock.now() + ttlMs })
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    // No await between the check and the write, so of concurrent callers exactly one wins, as with Redis SET NX.
    const now = this.clock.now()
    const entry = this.store.get(key)
    if (entry && entry.expiresAt > now) return false
    this.store.set(key, { value, expiresAt: now + ttlMs })
    return true
  }

  async del(...keys: string[]): Promise<void> {
    for (const k of keys) this.store.delete(k)
  }

  async incrBy(key: string, by: number, ttlMs: number): Promise<number | null> {
    const now = this.clock.now()
    const entry = this.store.get(key)
    const live = entry && entry.expiresAt > now ? entry : undefined
    const total = Number(live?.value ?? 0) + by
    this.store.set(key, { value: String(total), expiresAt: live?.expiresAt ?? now + ttlMs })
    return total
  }

  async meter(checks: MeterCheck[], dedupe?: { key: string; ttlMs: number }): Promise<MeterResult> {
    // No await from here to the end: the check and the count are one step, as in the Lua script.
    const now = this.clock.now()
    const live = (key: string) => {
      const e = this.store.get(key)
      return e && e.expiresAt > now ? e : undefined
    }
    if (dedupe && live(dedupe.key)) return { outcome: 'duplicate' }
    const current: { total: number; expiresAt: number }[] = []
    for (const [index, c] of checks.entries()) {
      const e = live(c.key)
      if (!e && c.seed === undefined) return { outcome: 'missing', index }
      current.push({ total: e ? Number(e.value) : (c.seed as number), expiresAt: e ? e.expiresAt : now + c.ttlMs })
    }
    for (const [index, c] of checks.entries()) {
      const total = (current[index] as { total: number }).total
      if (c.limit !== null && c.cost > 0 && total + c.cost > c.limit) return { outcome: 'over', index, total }
    }
    const totals = checks.map((c, i) => {
      const cur = current[i] as { total: number; expiresAt: number }
      const total = Math.max(0, cur.total + c.cost)
      this.store.set(c.key, { value: String(total), expiresAt: cur.expiresAt })
      return total
    })
    if (dedupe) this.store.set(dedupe.key, { value: '1', expiresAt: now + dedupe.ttlMs })
    return { outcome: 'counted', totals }
  }

  async rateLimit(key: string, limit: number, windowMs: number, cost = 1): Promise<RateDecision> {
    return this.limiter.take(key, limit, windowMs, cost)
  }

  async rateLimitAll(checks: RateCheck[]): Promise<RateDecision[]> {
    return this.limiter.takeAll(checks)
  }

  async acquireSlots(checks: SlotCheck[], member: string, ttlMs: number): Promise<number> {
    return this.slots.acquire(checks, member, ttlMs)
  }

  async renewSlots(slots: Slot[], ttlMs: number): Promise<void> {
    this.slots.renew(slots, ttlMs)
  }

  async releaseSlots(slots: Slot[]): Promise<void> {
    this.slots.release(slots)
  }

  async publish(channel: string, message: string): Promise<void> {
    // Delivered asynchronously, like Redis, so publishers never run subscriber code inline.
    queueMicrotask(() => this.bus.emit(channel, message))
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => void> {
    this.bus.on(channel, handler)
    return () => {
      this.bus.off(channel, handler)
    }
  }

  async healthy(): Promise<boolean> {
    return true
  }

  async close(): Promise<void> {
    this.bus.removeAllListeners()
  }
}

const NOTHING_RESERVED: readonly number[] = []

// The limit steps of one event-loop turn in one script call (charged in the order asked, each all or nothing, as
// separate calls would be). KEYS: one window key base per limit, every step's in turn; ARGV: then number of steps,
// then per step its number of limits followed by limit, window ms and cost for each. Redis server time, so
// instance clocks do not matter. Returns, per step: 1 if admitted (0 if not), then per limit: has-room flag,
// remaining, ms to reset. Counts first and takes a refused step's counts back: one Redis call per limit on the
// common (admitted) path instead of a GET and an INCRBY; still exact, since a script runs atomically.
export const RATE_LIMIT_LUA = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local out = {}
local a, k = 2, 0
for s = 1, tonumber(ARGV[1]) do
  local n = tonumber(ARGV[a])
  a = a + 1
  local head = #out + 1
  out[head] = 1
  local keys, costs = {}, {}
  for i = 1, n do
    local limit, windowMs, cost = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
    a = a + 3
    local win = math.floor(now / windowMs)
    local key = KEYS[k + i] .. ':' .. win
    keys[i], costs[i] = key, cost
    local count = redis.call('INCRBY', key, cost)
    if count == cost then redis.call('PEXPIRE', key, windowMs + 1000) end
    if count > limit then
      out[head] = 0
      out[head + i * 3 - 2] = 0
    else
      out[head + i * 3 - 2] = 1
    end
    out[head + i * 3 - 1] = limit - count
    out[head + i * 3] = (win + 1) * windowMs - now
  end
  k = k + n
  if out[head] == 0 then
    for i = 1, n do
      redis.call('DECRBY', keys[i], costs[i])
      out[head + i * 3 - 1] = out[head + i * 3 - 1] + costs[i]
    end
  end
end
return out
`

// The meter steps of one event-loop turn in one script call, in the order asked. KEYS: per step its dedupe key, then
// one counter per check. ARGV[1]: number of steps; then per step: number of checks, dedupe ttl ms (0 = no dedupe),
// then per check: cost, limit (-1 = none), ttl ms, seed ('' = none). Returns per step its answer's length, then the
// answer: {0, totals…} counted, {-1} duplicate, {-2, index} missing without a seed, {-3, index, total} over the
// limit (0-based index).
const METER_LUA = `
local function step(k, a, n, dttl)
  if dttl > 0 and redis.call('EXISTS', KEYS[k]) == 1 then return {-1} end
  local totals, exists = {}, {}
  for i = 1, n do
    local v = redis.call('GET', KEYS[k + i])
    exists[i] = v ~= false
    if not exists[i] then
      local seed = ARGV[a + i * 4 - 1]
      if seed == '' then return {-2, i - 1} end
      v = seed
    end
    totals[i] = tonumber(v)
  end
  for i = 1, n do
    local cost = tonumber(ARGV[a + i * 4 - 4])
    local limit = tonumber(ARGV[a + i * 4 - 3])
    if limit >= 0 and cost > 0 and totals[i] + cost > limit then return {-3, i - 1, totals[i]} end
  end
  local out = {0}
  for i = 1, n do
    local total = math.max(0, totals[i] + tonumber(ARGV[a + i * 4 - 4]))
    if exists[i] then
      redis.call('SET', KEYS[k + i], total, 'KEEPTTL')
    else
      redis.call('SET', KEYS[k + i], total, 'PX', ARGV[a + i * 4 - 2])
    end
    out[#out + 1] = total
  end
  if dttl > 0 then redis.call('SET', KEYS[k], '1', 'PX', dttl) end
  return out
end
local all = {}
local a, k = 2, 1
for s = 1, tonumber(ARGV[1]) do
  local n, dttl = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local r = step(k, a + 2, n, dttl)
  all[#all + 1] = #r
  for _, v in ipairs(r) do all[#all + 1] = v end
  a = a + 2 + n * 4
  k = k + 1 + n
end
return all
`

// Slot sets are sorted sets: member = holder id, score = when the slot expires unless renewed. KEYS: the sets;
// ARGV: ttl ms, member, then each set's limit. Returns -1 when taken, else the 0-based index of the first full set.
const ACQUIRE_SLOTS_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local member = ARGV[2]
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if not redis.call('ZSCORE', KEYS[i], member) and redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[i + 2]) then return i - 1 end
end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now + ttl, member)
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return -1
`

// KEYS: the sets; ARGV: ttl ms, then each set's member. Adds the slot back if it is missing (Redis restarted empty),
// so the shared count again includes every stream still open.
const RENEW_SLOTS_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now + ttl, ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return 1
`

export interface RedisCacheOptions {
  url: string
  prefix: string
  clock: Clock
  logger: Logger
  /** Instances sharing the limit; the local fallback admits limit ÷ instances. */
  instanceCount: number
  /** Reserved blocks kept in memory at most (one per counter in its window; 50,000 unless said). */
  maxGrants?: number
}

/** One rate-limit step: its checks and the extra units (a block to reserve) each is charged. */
interface ChargeStep {
  checks: RateCheck[]
  extra: readonly number[]
}

/** One meter step: its counters and the dedupe key that makes it count once. */
interface MeterStep {
  checks: MeterCheck[]
  dedupe: { key: string; ttlMs: number } | undefined
}

type RedisWithLimit = Redis & {
  intlRateLimit(numKeys: number, ...args: (string | number)[]): Promise<number[]>
  intlMeter(numKeys: number, ...args: (string | number)[]): Promise<number[]>
  intlAcquireSlots(numKeys: number, ...args: (string | number)[]): Promise<number>
  intlRenewSlots(numKeys: number, ...args: (string | number)[]): Promise<number>
}

export class RedisCache implements Cache {
  readonly kind = 'redis' as const
  private client: RedisWithLimit
  private limiter: RedisWithLimit
  private subscriber: Redis | undefined
  private handlers = new Map<string, Set<(message: string) => void>>()
  private fallback: LocalLimiter
  private fallbackSlots: LocalSlots
  /** Units of 'granted' limits this instance reserved in Redis and has not used yet, per counter (see RateCheck.share). */
  private grants = new Map<string, { left: number; total: number; limit: number; until: number }>()
  private reserving = new Map<string, Promise<void>>()
  private degraded = false
  /** Limit steps asked in one event-loop turn share one script call (as the message route's reads share a statement). */
  private chargeInTurn = perTurnAll((steps: ChargeStep[]) => this.chargeSteps(steps))
  private meterInTurn = perTurnAll((steps: MeterStep[]) => this.meterSteps(steps))

  constructor(private options: RedisCacheOptions) {
    const common = {
      keyPrefix: options.prefix,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 2000,
      retryStrategy: (times: number) => Math.min(times * 200, 2000),
      lazyConnect: false,
    }
    // Concurrent requests' commands share one write: ioredis's auto-pipelining sends a turn's commands together
    // (it defers them with setImmediate), fewer syscalls on the hot path.
    const client = new Redis(options.url, { ...common, enableAutoPipelining: true })
    client.defineCommand('intlAcquireSlots', { lua: ACQUIRE_SLOTS_LUA })
    client.defineCommand('intlRenewSlots', { lua: RENEW_SLOTS_LUA })
    client.on('error', (err) => this.markDegraded(err))
    client.on('ready', () => {
      if (this.degraded) options.logger.info('redis reachable again')
      this.degraded = false
    })
    this.client = client as RedisWithLimit
    // The limiter runs on its own connection without auto-pipelining: the limit (and meter) steps of one turn go as
    // one script call (chargeInTurn, meterInTurn), which Redis runs once instead of once per request: the limiter
    // went from 0.95–1.05× rate-limiter-flexible's throughput to 1.7× and widget calls from ~115 to ~80 µs of CPU.
    // Tried before and not kept: corking the socket while a call was unanswered (one write, but still a script per
    // request: the limiter lost 5–15 %), and auto-pipelining (every command deferred and mixed with unrelated
    // traffic, still a script per request: ~40 % less throughput, triple the p99).
    // No keyPrefix either (keys are prefixed here), which spares ioredis a pass over every command's arguments.
    const limiter = new Redis(options.url, { ...common, keyPrefix: undefined, enableAutoPipelining: false })
    limiter.defineCommand('intlRateLimit', { lua: RATE_LIMIT_LUA })
    // Usage metering (a secret key's every call counts against its plan) is on the same hot path: same connection.
    limiter.defineCommand('intlMeter', { lua: METER_LUA })
    limiter.on('error', (err) => this.markDegraded(err))
    this.limiter = limiter as RedisWithLimit
    this.fallback = new LocalLimiter(options.clock)
    this.fallbackSlots = new LocalSlots(options.clock)
  }

  private markDegraded(err: unknown): void {
    if (!this.degraded) this.options.logger.warn('redis unreachable, serving with local fallbacks', { error: String((err as Error)?.message ?? err) })
    this.degraded = true
  }

  /** Runs a Redis call; when Redis is down, fails fast instead of queueing behind a dead socket. */
  private async call<T>(fn: () => Promise<T>, fallback: () => T): Promise<T> {
    if (this.degraded && this.client.status !== 'ready') return fallback()
    try {
      return await fn()
    } catch (err) {
      this.markDegraded(err)
      return fallback()
    }
  }

  get(key: string): Promise<string | null> {
    return this.call(
      () => this.client.get(key),
      () => null,
    )
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.call(
      async () => void (await this.client.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)))),
      () => undefined,
    )
  }

  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    // Without Redis there is no shared truth; admitting the request is the available choice.
    return this.call(
      async () => (await this.client.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK',
      () => true,
    )
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length === 0) return
    await this.call(
      async () => void (await this.client.del(...keys)),
      () => undefined,
    )
  }

  incrBy(key: string, by: number, ttlMs: number): Promise<number | null> {
    return this.call(
      async () => {
        // PEXPIRE NX: the first increment sets the expiry, later ones leave it (a counter per period, not a sliding one).
        const out = await this.client
          .multi()
          .incrby(key, by)
          .pexpire(key, Math.max(1, Math.round(ttlMs)), 'NX')
          .exec()
        const total = out?.[0]?.[1]
        return typeof total === 'number' ? total : null
      },
      () => null,
    )
  }

  async meter(checks: MeterCheck[], dedupe?: { key: string; ttlMs: number }): Promise<MeterResult> {
    // Without Redis there is no shared count: counting locally would be lost and refusing would stop every
    // tenant, so the step admits and counts nothing (the caller logs it).
    if (this.degraded && this.limiter.status !== 'ready') return { outcome: 'unavailable' }
    try {
      return await this.meterInTurn({ checks, dedupe })
    } catch (err) {
      this.markDegraded(err)
      return { outcome: 'unavailable' }
    }
  }

  /** The meter steps of one turn in one script call (METER_LUA), each answered its own result. */
  private async meterSteps(steps: MeterStep[]): Promise<MeterResult[]> {
    const p = this.options.prefix
    const keys: string[] = []
    const args: (string | number)[] = [steps.length]
    for (const { checks, dedupe } of steps) {
      keys.push(`${p}${dedupe?.key ?? 'meter:none'}`)
      args.push(checks.length, dedupe ? Math.max(1, Math.round(dedupe.ttlMs)) : 0)
      for (const c of checks) {
        keys.push(`${p}${c.key}`)
        args.push(c.cost, c.limit ?? -1, Math.max(1, Math.round(c.ttlMs)), c.seed === undefined ? '' : c.seed)
      }
    }
    const out = await this.limiter.intlMeter(keys.length, ...keys, ...args)
    let at = 0
    return steps.map(() => {
      const r = out.slice(at + 1, at + 1 + (out[at] as number))
      at += 1 + (out[at] as number)
      const code = r[0]
      if (code === -1) return { outcome: 'duplicate' }
      if (code === -2) return { outcome: 'missing', index: r[1] as number }
      if (code === -3) return { outcome: 'over', index: r[1] as number, total: r[2] as number }
      return { outcome: 'counted', totals: r.slice(1) }
    })
  }

  async rateLimit(key: string, limit: number, windowMs: number, cost = 1): Promise<RateDecision> {
    return (await this.rateLimitAll([{ key, limit, windowMs, cost }]))[0] as RateDecision
  }

  async rateLimitAll(checks: RateCheck[]): Promise<RateDecision[]> {
    if (checks.length === 0) return []
    const local = (): RateDecision[] =>
      this.fallback.takeAll(checks.map((c) => ({ ...c, limit: Math.max(1, Math.floor(c.limit / this.options.instanceCount)) })))
    // The hot path of every request: no wrapper closures, at most one script call on the limiter's own connection.
    if (this.degraded && this.limiter.status !== 'ready') return local()
    // Exact counts only (no check 'granted', e.g. the login throttle): one script call, nothing reserved.
    if (!checks.some((c) => c.share === 'granted')) {
      try {
        return await this.charge(checks, NOTHING_RESERVED)
      } catch (err) {
        this.markDegraded(err)
        return local()
      }
    }
    // Every check served by a block this instance holds (the common case under load): answered from memory.
    const held = this.fromBlocks(checks)
    if (held) return held
    // One reservation per counter at a time on this instance: a caller its block does not cover waits for the one in
    // flight and looks again (its block may cover it), instead of reserving another block itself.
    for (;;) {
      const t = this.options.clock.now()
      const busy = checks.find((c) => c.share === 'granted' && !this.covers(c, t) && this.reserving.has(this.grantKey(c)))
      if (!busy) break
      await this.reserving.get(this.grantKey(busy))
    }
    const now = this.options.clock.now()
    // Checks that units reserved earlier cover are taken from their block at once (given back if the step is
    // refused), the others are charged in Redis, with a block reserved for 'granted' ones: all or nothing.
    const taken: ({ left: number; total: number; until: number } | undefined)[] = []
    const asked: RateCheck[] = []
    let reserved: number[] = []
    for (const c of checks) {
      const g = c.share === 'granted' && this.covers(c, now) ? this.liveGrant(c, now) : undefined
      if (g) g.left -= c.cost ?? 1
      taken.push(g)
      if (!g) {
        asked.push(c)
        reserved.push(c.share === 'granted' ? blockOf(c) : 0)
      }
    }
    const giveBack = () => {
      checks.forEach((c, i) => {
        const g = taken[i]
        if (g) g.left += c.cost ?? 1
      })
    }
    let fromRedis: RateDecision[] = []
    if (asked.length > 0) {
      const blocks = asked.filter((_, i) => (reserved[i] ?? 0) > 0).map((c) => this.grantKey(c))
      let done = () => {}
      const flight = new Promise<void>((r) => {
        done = r
      })
      for (const k of blocks) this.reserving.set(k, flight)
      try {
        fromRedis = await this.charge(asked, reserved)
        // No room for a block: charge exactly what is asked (the last units of a window). A refused step reports
        // each counter's units left; when one has not even its own cost left, charging exactly would be refused
        // too, and is answered as it would be without asking again (one call per refusal past a limit, not two).
        if (fromRedis.some((d) => !d.allowed) && reserved.some((m) => m > 0)) {
          const decided = fromRedis
          if (asked.every((c, i) => (decided[i] as RateDecision).remaining >= (c.cost ?? 1))) {
            reserved = reserved.map(() => 0)
            fromRedis = await this.charge(asked, reserved)
          } else fromRedis = decided.map((d, i) => ({ ...d, allowed: d.remaining >= ((asked[i] as RateCheck).cost ?? 1) }))
        }
      } catch (err) {
        giveBack()
        this.markDegraded(err)
        return local()
      } finally {
        for (const k of blocks) if (this.reserving.get(k) === flight) this.reserving.delete(k)
        done()
      }
    }
    if (fromRedis.some((d) => !d.allowed)) {
      giveBack()
      // Refused in Redis (which took nothing back then) while a block reserved meanwhile by a concurrent call now
      // covers what was refused: look again, from that block.
      const later = this.options.clock.now()
      if (asked.every((c, i) => (fromRedis[i] as RateDecision).allowed || (c.share === 'granted' && this.covers(c, later)))) return this.rateLimitAll(checks)
      let j = 0
      return checks.map((c, i) => (taken[i] ? this.describeGrant(c, taken[i], now) : (fromRedis[j++] as RateDecision)))
    }
    let j = 0
    return checks.map((c, i) => {
      const g = taken[i]
      if (g) return this.describeGrant(c, g, now)
      const d = fromRedis[j] as RateDecision
      const added = reserved[j] ?? 0
      j++
      if (c.share !== 'granted') return d
      // The block reserved by this call (if any) joins what is left of the previous one.
      const left = (this.liveGrant(c, now)?.left ?? 0) + added
      const total = c.limit - d.remaining
      this.keepGrant(this.grantKey(c), { left, total, limit: c.limit, until: now + d.resetMs }, now)
      return { ...d, remaining: Math.max(0, c.limit - total) + left }
    })
  }

  /**
   * Keeps a counter's block, at most maxGrants of them: past that, the blocks whose window is over go, then the oldest
   * kept (a Map iterates in insertion order) down to nine tenths, so a flood of new counters (addresses) costs one pass
   * per tenth of the bound, not one per counter. A block dropped early only makes its unused units unusable here:
   * refused too early, never admitted twice.
   */
  private keepGrant(key: string, grant: { left: number; total: number; limit: number; until: number }, now: number): void {
    this.grants.delete(key)
    this.grants.set(key, grant)
    const max = this.options.maxGrants ?? 50_000
    if (this.grants.size <= max) return
    for (const [k, old] of this.grants) if (old.until <= now) this.grants.delete(k)
    for (const k of this.grants.keys()) {
      if (this.grants.size <= Math.floor(max * 0.9)) break
      this.grants.delete(k)
    }
  }

  /** Blocks this instance holds (tests: the bound above). */
  get heldBlocks(): number {
    return this.grants.size
  }

  private grantKey(c: RateCheck): string {
    return `${c.key}|${c.windowMs}`
  }

  /** Decisions for checks that are all 'granted' and all covered by their blocks, units taken; else undefined. */
  private fromBlocks(checks: RateCheck[]): RateDecision[] | undefined {
    const now = this.options.clock.now()
    const blocks: { left: number; total: number; limit: number; until: number }[] = []
    for (const c of checks) {
      const g = c.share === 'granted' ? this.grants.get(this.grantKey(c)) : undefined
      if (!g || g.until <= now || g.limit !== c.limit || g.left < (c.cost ?? 1)) return undefined
      blocks.push(g)
    }
    return checks.map((c, i) => {
      const g = blocks[i] as (typeof blocks)[number]
      g.left -= c.cost ?? 1
      return this.describeGrant(c, g, now)
    })
  }

  private covers(c: RateCheck, now: number): boolean {
    return (this.liveGrant(c, now)?.left ?? 0) >= (c.cost ?? 1)
  }

  /** The check's reserved block, if it is still in its window (and for the same limit: a plan change starts afresh). */
  private liveGrant(c: RateCheck, now: number) {
    const g = this.grants.get(this.grantKey(c))
    return g && g.until > now && g.limit === c.limit ? g : undefined
  }

  /** A decision for a check served from its block: what is left is what Redis has not handed out plus the block. */
  private describeGrant(c: RateCheck, g: { left: number; total: number; until: number }, now: number): RateDecision {
    return { allowed: true, limit: c.limit, remaining: Math.max(0, c.limit - g.total) + Math.max(0, g.left), resetMs: Math.max(0, g.until - now) }
  }

  /** Each check charged its cost plus `extra` units (a reserved block), all or nothing: one step of the turn's call. */
  private charge(checks: RateCheck[], extra: readonly number[]): Promise<RateDecision[]> {
    return this.chargeInTurn({ checks, extra })
  }

  /** The steps of one turn in one script call (RATE_LIMIT_LUA), each answered its own decisions. */
  private async chargeSteps(steps: ChargeStep[]): Promise<RateDecision[][]> {
    const keys: string[] = []
    const args: (string | number)[] = [steps.length]
    for (const { checks, extra } of steps) {
      args.push(checks.length)
      checks.forEach((c, i) => {
        keys.push(`${this.options.prefix}rl:${c.key}`)
        args.push(c.limit, c.windowMs, (c.cost ?? 1) + (extra[i] ?? 0))
      })
    }
    const out = await this.limiter.intlRateLimit(keys.length, ...keys, ...args)
    let at = 0
    return steps.map(({ checks }) => {
      const admitted = out[at] === 1
      const decisions: RateDecision[] = []
      for (let i = 0; i < checks.length; i++)
        decisions.push({
          allowed: admitted || out[at + 1 + i * 3] === 1,
          limit: (checks[i] as RateCheck).limit,
          remaining: Math.max(0, out[at + 2 + i * 3] as number),
          resetMs: out[at + 3 + i * 3] as number,
        })
      at += 1 + checks.length * 3
      return decisions
    })
  }

  acquireSlots(checks: SlotCheck[], member: string, ttlMs: number): Promise<number> {
    if (checks.length === 0) return Promise.resolve(-1)
    const ttl = Math.max(1, Math.round(ttlMs))
    // Without Redis each instance admits its share, like the rate limiter's fallback.
    const local = (): number =>
      this.fallbackSlots.acquire(
        checks.map((c) => ({ key: c.key, limit: Math.max(1, Math.floor(c.limit / this.options.instanceCount)) })),
        member,
        ttl,
      )
    return this.call(
      async () => Number(await this.client.intlAcquireSlots(checks.length, ...checks.map((c) => `slots:${c.key}`), ttl, member, ...checks.map((c) => c.limit))),
      local,
    )
  }

  async renewSlots(slots: Slot[], ttlMs: number): Promise<void> {
    const ttl = Math.max(1, Math.round(ttlMs))
    this.fallbackSlots.renew(slots, ttl)
    // Chunked so thousands of streams do not make one giant script call; all chunks are queued at once, so a
    // release issued after this call reaches Redis after the renewal and cannot be undone by it.
    const chunks: Slot[][] = []
    for (let i = 0; i < slots.length; i += 500) chunks.push(slots.slice(i, i + 500))
    await Promise.all(
      chunks.map((chunk) =>
        this.call(
          async () => void (await this.client.intlRenewSlots(chunk.length, ...chunk.map((s) => `slots:${s.key}`), ttl, ...chunk.map((s) => s.member))),
          () => undefined,
        ),
      ),
    )
  }

  async releaseSlots(slots: Slot[]): Promise<void> {
    // A slot may have been taken in either place (Redis, or locally while Redis was down): free both.
    this.fallbackSlots.release(slots)
    if (slots.length === 0) return
    await this.call(
      async () => void (await Promise.all(slots.map((s) => this.client.zrem(`slots:${s.key}`, s.member)))),
      () => undefined,
    )
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.call(
      async () => void (await this.client.publish(this.options.prefix + channel, message)),
      () => {
        // Without Redis, at least this instance's subscribers hear it.
        for (const h of this.handlers.get(channel) ?? []) queueMicrotask(() => h(message))
      },
    )
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => void> {
    if (!this.subscriber) {
      this.subscriber = this.client.duplicate({ keyPrefix: '' })
      this.subscriber.on('error', (err) => this.markDegraded(err))
      // A SUBSCRIBE that failed while Redis was down is not retried by ioredis: renew every channel on (re)connect.
      this.subscriber.on('ready', () => {
        const channels = [...this.handlers.keys()].map((ch) => this.options.prefix + ch)
        if (channels.length > 0) this.subscriber?.subscribe(...channels).catch((err) => this.markDegraded(err))
      })
      this.subscriber.on('message', (ch: string, message: string) => {
        for (const h of this.handlers.get(ch.slice(this.options.prefix.length)) ?? []) h(message)
      })
    }
    let set = this.handlers.get(channel)
    if (!set) {
      set = new Set()
      this.handlers.set(channel, set)
      await this.subscriber.subscribe(this.options.prefix + channel).catch((err) => this.markDegraded(err))
    }
    set.add(handler)
    return () => {
      const s = this.handlers.get(channel)
      if (!s) return
      s.delete(handler)
      if (s.size === 0) {
        this.handlers.delete(channel)
        this.subscriber?.unsubscribe(this.options.prefix + channel).catch(() => undefined)
      }
    }
  }

  async healthy(): Promise<boolean> {
    try {
      return (await Promise.race([this.client.ping(), new Promise<string>((r) => setTimeout(() => r('timeout'), 500))])) === 'PONG'
    } catch {
      return false
    }
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect()
    this.limiter.disconnect()
    this.client.disconnect()
  }
}
