// Server-Sent Events fed by a pub/sub channel: subscribe first, replay what the client missed, then stream
// live events with heartbeats until the client goes away or the credential it was opened with is revoked.
import type { Context } from 'hono'
import { type SSEStreamingApi, streamSSE } from 'hono/streaming'
import type { Cache } from './cache.js'
import type { StreamLease } from './streams.js'

export const HEARTBEAT_MS = 15_000

export interface ChannelStreamOptions {
  /** Runs after subscribing and before live events: replay stored history here. */
  replay?(stream: SSEStreamingApi): Promise<void>
  /** Writes one published message to the client. */
  write(stream: SSEStreamingApi, raw: string): Promise<void>
  /** The stream's admission (StreamHub.open): released when the stream ends; closing it ends the stream. */
  lease?: StreamLease
}

export function streamChannel(c: Context, cache: Cache, channel: string, options: ChannelStreamOptions): Response {
  c.header('X-Accel-Buffering', 'no')
  c.header('Cache-Control', 'no-cache, no-transform')
  const lease = options.lease
  return streamSSE(c, async (stream) => {
    try {
      await pump(stream, cache, channel, options)
      // The last word says why, so a client can tell this from a dropped connection; reconnecting with the
      // same credential is refused with the usual 401/403.
      if (lease?.reason) await stream.writeSSE({ event: 'revoked', data: JSON.stringify({ reason: lease.reason }) })
    } finally {
      lease?.release()
    }
  })
}

async function pump(stream: SSEStreamingApi, cache: Cache, channel: string, options: ChannelStreamOptions): Promise<void> {
  const lease = options.lease
  // Subscribing before the replay means nothing published in between is missed; writers dedup the overlap.
  const queue: string[] = []
  let wake: (() => void) | undefined
  const unsubscribe = await cache.subscribe(channel, (raw) => {
    queue.push(raw)
    wake?.()
  })
  let closed = false
  stream.onAbort(() => {
    closed = true
    wake?.()
  })
  lease?.onClose(() => wake?.())
  const open = () => !closed && !lease?.reason
  try {
    await stream.write('retry: 2000\n\n')
    if (open()) await options.replay?.(stream)
    while (open()) {
      const raw = queue.shift()
      if (raw !== undefined) {
        await options.write(stream, raw)
        continue
      }
      let heartbeat: ReturnType<typeof setTimeout> | undefined
      await new Promise<void>((resolve) => {
        wake = resolve
        heartbeat = setTimeout(resolve, HEARTBEAT_MS)
      })
      // Woken by a message or a close, the heartbeat timer would otherwise live on for its full 15 s, one per wake.
      clearTimeout(heartbeat)
      wake = undefined
      if (queue.length === 0 && open()) await stream.write(': ping\n\n')
    }
  } finally {
    unsubscribe()
  }
}
