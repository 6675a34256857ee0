// Bench child process: our Redis rate limiter (platform/cache.ts) and rate-limiter-flexible on the same Redis,
// driven over IPC by bench/run.ts. Two of these run at once for the accuracy check (one limit, two processes).
import { Redis } from 'ioredis'
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { built } from './built.js'

const { RedisCache } = await built<typeof import('../src/platform/cache.js')>('platform/cache')
const { systemClock } = await built<typeof import('../src/platform/clock.js')>('platform/clock')
const { createLogger } = await built<typeof import('../src/platform/logger.js')>('platform/logger')

export type LimiterName = 'ours' | 'rlf'
export type LimiterOp =
  | { op: 'throughput'; which: LimiterName; ms: number; concurrency: number; tag: string }
  | { op: 'burst'; which: LimiterName; key: string; limit: number; n: number }
  | { op: 'stop' }

const url = process.env.REDIS_URL as string
const prefix = `bench:limiter:${process.pid}:`
const ours = new RedisCache({ url, prefix: 'bench:limiter:', clock: systemClock, logger: createLogger('silent'), instanceCount: 2 })
// rate-limiter-flexible's recommended setup: a plain ioredis client, its own Lua script (EVALSHA per call).
const rlfClient = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
const rlfs = new Map<number, RateLimiterRedis>()
const rlf = (limit: number): RateLimiterRedis => {
  let l = rlfs.get(limit)
  if (!l) {
    l = new RateLimiterRedis({ storeClient: rlfClient, keyPrefix: 'bench:rlf', points: limit, duration: 60 })
    rlfs.set(limit, l)
  }
  return l
}

/** One admission decision: true when admitted. */
async function take(which: LimiterName, key: string, limit: number): Promise<boolean> {
  if (which === 'ours') return (await ours.rateLimit(key, limit, 60_000)).allowed
  try {
    await rlf(limit).consume(key)
    return true
  } catch (e) {
    if (e instanceof RateLimiterRes) return false
    throw e
  }
}

async function throughput(which: LimiterName, ms: number, concurrency: number, tag: string) {
  const latencies: number[] = []
  const end = performance.now() + ms
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      const key = `tp:${tag}:${which}:${prefix}${w}`
      while (performance.now() < end) {
        const t = performance.now()
        await take(which, key, 1_000_000_000)
        latencies.push(performance.now() - t)
      }
    }),
  )
  latencies.sort((a, b) => a - b)
  return { ops: latencies.length / (ms / 1000), p99: latencies[Math.floor(latencies.length * 0.99)] ?? Number.NaN }
}

async function burst(which: LimiterName, key: string, limit: number, n: number) {
  const results = await Promise.all(Array.from({ length: n }, () => take(which, key, limit)))
  return { admitted: results.filter(Boolean).length }
}

await new Promise<void>((resolve) => rlfClient.once('ready', () => resolve()))
process.on('message', async (m: LimiterOp) => {
  if (m.op === 'stop') {
    await ours.close()
    rlfClient.disconnect()
    process.exit(0)
  }
  const out = m.op === 'throughput' ? await throughput(m.which, m.ms, m.concurrency, m.tag) : await burst(m.which, m.key, m.limit, m.n)
  process.send?.(out)
})
process.send?.({ ready: true })
