// Server-Sent Events fed by a pub/sub channel: subscribe first, replay what the client missed, then stream
// live events with heartbeats until the client goes away, the credential it was opened with is revoked, or the
// server shuts down.
import type { Context } from 'hono'
import { type SSEStreamingApi, streamSSE } from 'hono/streaming'
import type { Cache } from './cache.js'
import type { StreamLease } from './streams.js'

export const HEARTBEAT_MS = 15_000
/** Reconnect delay a client is told when this instance shuts down; another instance takes the reconnect. */
export const SHUTDOWN_RETRY_MS = 1000

export interface ChannelStreamOptions {
  /** Runs after subscribing and before live events: replay stored history here. */
  replay?(stream: SSEStreamingApi): Promise<void>
  /** Writes one published message to the client. */
  write(stream: SSEStreamingApi, raw: string): Promise<void>
  /** The stream's admission (StreamHub.open): released when the stream ends; closing it ends the stream. */
  lease?: StreamLease
  /** Aborted when the server shuts down: the stream ends with a final `shutdown` event and a retry hint. */
  draining?: AbortSignal
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
      // Ending the response makes EventSource reconnect after `retry`, to an instance still serving;
      // Last-Event-ID resumes it where it stopped.
      else if (options.draining?.aborted)
        await stream.writeSSE({ event: 'shutdown', data: JSON.stringify({ reason: 'server_shutdown' }), retry: SHUTDOWN_RETRY_MS })
    } finally {
      lease?.release()
    }
  })
}

async function pump(stream: SSEStreamingApi, cache: Cache, channel: string, options: ChannelStreamOptions): Promise<void> {
  const { lease, draining } = options
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
  const drain = () => wake?.()
  draining?.addEventListener('abort', drain)
  const open = () => !closed && !lease?.reason && !draining?.aborted
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
    draining?.removeEventListener('abort', drain)
    unsubscribe()
  }
}
