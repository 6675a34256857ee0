// Server-Sent Events fed by a pub/sub channel: subscribe first, replay what the client missed, then stream
// live events with heartbeats until the client goes away.
import type { Context } from 'hono'
import { type SSEStreamingApi, streamSSE } from 'hono/streaming'
import type { Cache } from './cache.js'

export const HEARTBEAT_MS = 15_000
/** Reconnect delay a client is told when this instance shuts down; another instance takes the reconnect. */
export const SHUTDOWN_RETRY_MS = 1000

export interface ChannelStreamOptions {
  /** Runs after subscribing and before live events: replay stored history here. */
  replay?(stream: SSEStreamingApi): Promise<void>
  /** Writes one published message to the client. */
  write(stream: SSEStreamingApi, raw: string): Promise<void>
  /** Aborted when the server shuts down: the stream ends with a final `shutdown` event and a retry hint. */
  draining?: AbortSignal
}

export function streamChannel(c: Context, cache: Cache, channel: string, options: ChannelStreamOptions): Response {
  c.header('X-Accel-Buffering', 'no')
  c.header('Cache-Control', 'no-cache, no-transform')
  return streamSSE(c, async (stream) => {
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
    const drain = () => wake?.()
    options.draining?.addEventListener('abort', drain)
    try {
      await stream.write('retry: 2000\n\n')
      await options.replay?.(stream)
      while (!closed) {
        if (options.draining?.aborted) {
          // Ending the response makes EventSource reconnect after `retry`, to an instance still serving;
          // Last-Event-ID resumes it where it stopped.
          await stream.writeSSE({ event: 'shutdown', data: JSON.stringify({ reason: 'server_shutdown' }), retry: SHUTDOWN_RETRY_MS })
          break
        }
        const raw = queue.shift()
        if (raw !== undefined) {
          await options.write(stream, raw)
          continue
        }
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, HEARTBEAT_MS)
        })
        wake = undefined
        if (queue.length === 0 && !closed) await stream.write(': ping\n\n')
      }
    } finally {
      options.draining?.removeEventListener('abort', drain)
      unsubscribe()
    }
  })
}
