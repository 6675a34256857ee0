// The cache / rate limiter / pub-sub port, with an ioredis implementation and an in-process one.
import { EventEmitter } from 'node:events'
import { Redis } from 'ioredis'
import type { Clock } from './clock.js'
import type { Logger } from './logger.js'

export interface RateDecision {
  allowed: boolean
  limit: number
  remaining: number
  /** Milliseconds until the window resets. */
  resetMs: number
}

export interface Cache {
  readonly kind: 'redis' | 'memory'
  get(key: string): Promise<string | null>
  set(key: string, value: string, ttlMs: number): Promise<void>
  del(...keys: string[]): Promise<void>
  /** Admits `cost` units if the window still has room; atomic across every instance sharing the store. */
  rateLimit(key: string, limit: number, windowMs: number, cost?: number): Promise<RateDecision>
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
    const now = this.clock.now()
    const window = Math.floor(now / windowMs)
    const resetMs = (window + 1) * windowMs - now
    let entry = this.windows.get(key)
    if (!entry || entry.window !== window) {
      entry = { window, count: 0 }
      this.windows.set(key, entry)
      if (this.windows.size > 50_000) this.sweep(now, windowMs)
    }
    if (entry.count + cost > limit) return { allowed: false, limit, remaining: Math.max(0, limit - entry.count), resetMs }
    entry.count += cost
    return { allowed: true, limit, remaining: limit - entry.count, resetMs }
  }

  private sweep(now: number, windowMs: number): void {
    const current = Math.floor(now / windowMs)
    for (const [k, v] of this.windows) if (v.window < current) this.windows.delete(k)
  }
}

export class MemoryCache implements Cache {
  readonly kind = 'memory' as const
  private store = new Map<string, { value: string; expiresAt: number }>()
  private bus = new EventEmitter().setMaxListeners(0)
  private limiter: LocalLimiter

  constructor(private clock: Clock) {
    this.limiter = new LocalLimiter(clock)
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

  async del(...keys: string[]): Promise<void> {
    for (const k of keys) this.store.delete(k)
  }

  async rateLimit(key: string, limit: number, windowMs: number, cost = 1): Promise<RateDecision> {
    return this.limiter.take(key, limit, windowMs, cost)
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

// KEYS[1] window key base; ARGV limit, window ms, cost. Redis server time, so instance clocks do not matter.
const RATE_LIMIT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local win = math.floor(now / windowMs)
local key = KEYS[1] .. ':' .. win
local reset = (win + 1) * windowMs - now
local count = tonumber(redis.call('GET', key) or '0')
if count + cost > limit then
  return {0, limit - count, reset}
end
count = redis.call('INCRBY', key, cost)
if count == cost then redis.call('PEXPIRE', key, windowMs + 1000) end
return {1, limit - count, reset}
`

export interface RedisCacheOptions {
  url: string
  prefix: string
  clock: Clock
  logger: Logger
  /** Instances sharing the limit; the local fallback admits limit ÷ instances. */
  instanceCount: number
}

type RedisWithLimit = Redis & { intlRateLimit(key: string, limit: number, windowMs: number, cost: number): Promise<[number, number, number]> }

export class RedisCache implements Cache {
  readonly kind = 'redis' as const
  private client: RedisWithLimit
  private subscriber: Redis | undefined
  private handlers = new Map<string, Set<(message: string) => void>>()
  private fallback: LocalLimiter
  private degraded = false

  constructor(private options: RedisCacheOptions) {
    const client = new Redis(options.url, {
      keyPrefix: options.prefix,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(times * 200, 2000),
      lazyConnect: false,
    })
    client.defineCommand('intlRateLimit', { numberOfKeys: 1, lua: RATE_LIMIT_LUA })
    client.on('error', (err) => this.markDegraded(err))
    client.on('ready', () => {
      if (this.degraded) options.logger.info('redis reachable again')
      this.degraded = false
    })
    this.client = client as RedisWithLimit
    this.fallback = new LocalLimiter(options.clock)
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

  async del(...keys: string[]): Promise<void> {
    if (keys.length === 0) return
    await this.call(
      async () => void (await this.client.del(...keys)),
      () => undefined,
    )
  }

  rateLimit(key: string, limit: number, windowMs: number, cost = 1): Promise<RateDecision> {
    const local = (): RateDecision => this.fallback.take(key, Math.max(1, Math.floor(limit / this.options.instanceCount)), windowMs, cost)
    return this.call(async () => {
      const [ok, remaining, resetMs] = await this.client.intlRateLimit(`rl:${key}`, limit, windowMs, cost)
      return { allowed: ok === 1, limit, remaining: Math.max(0, remaining), resetMs }
    }, local)
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
    this.client.disconnect()
  }
}
