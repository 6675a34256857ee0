// Server-Sent Events fed by a pub/sub channel: subscribe first, replay what the client missed, then stream
// live events with heartbeats until the client goes away, the credential it was opened with is revoked, or the
// server shuts down.
import { setMaxListeners } from 'node:events'
import type { ServerResponse } from 'node:http'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { Cache } from './cache.js'
import type { StreamLease } from './streams.js'

export const HEARTBEAT_MS = 15_000
/** Reconnect delay a client is told when this instance shuts down; another instance takes the reconnect. */
export const SHUTDOWN_RETRY_MS = 1000

export interface ChannelStreamOptions {
  /** Runs after subscribing and before live events: replay stored history here. */
  replay?(stream: SSEWriter): Promise<void>
  /** Writes one published message to the client. */
  write(stream: SSEWriter, raw: string): Promise<void>
  /** The stream's admission (StreamHub.open): released when the stream ends; closing it ends the stream. */
  lease?: StreamLease
  /** Aborted when the server shuts down: the stream ends with a final `shutdown` event and a retry hint. */
  draining?: AbortSignal
}

/** What a stream's writers use: Hono's SSEStreamingApi has it, and so does the direct Node writer below. */
export interface SSEWriter {
  writeSSE(message: { data: string; event?: string; id?: string; retry?: number }): Promise<void>
  write(input: string): Promise<unknown>
  onAbort(listener: () => void | Promise<void>): void
}

export function streamChannel(c: Context, cache: Cache, channel: string, options: ChannelStreamOptions): Response {
  c.header('X-Accel-Buffering', 'no')
  c.header('Cache-Control', 'no-cache, no-transform')
  // One listener per open stream on the one process-wide signal: thousands are expected, not a leak.
  if (options.draining) setMaxListeners(0, options.draining)
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing
  if (outgoing) {
    // Served by @hono/node-server: write to the socket's response directly. Hono's streamSSE puts two web streams, a
    // reader, a writer and a TextEncoder between each stream and its socket (~30 KB of heap per open stream).
    const head = c.newResponse(null, 200, { 'Content-Type': 'text/event-stream', Connection: 'keep-alive' })
    for (const [k, v] of head.headers) outgoing.setHeader(k, v)
    outgoing.writeHead(200)
    flattenHead(outgoing)
    const stream = new NodeSSE(outgoing)
    void run(stream, cache, channel, options)
      .catch(() => undefined)
      .finally(() => stream.end())
    return RESPONSE_ALREADY_SENT
  }
  // Elsewhere (app.request in tests, other runtimes): Hono's web-stream SSE helper.
  return streamSSE(c, (stream) => run(stream, cache, channel, options))
}

/**
 * Node keeps a response's head (`_header`) for as long as the response lives, as it built it: one string
 * concatenation per name, separator, value and line end, ≈ 45 rope nodes here (≈ 1.4 KB per open stream, a tenth of
 * its heap). Any read that needs the characters in one piece makes V8 flatten the rope in place, and its pieces go.
 * The head itself is unchanged.
 */
function flattenHead(res: ServerResponse): void {
  const head = (res as unknown as { _header?: unknown })._header
  if (typeof head === 'string') head.charCodeAt(head.length - 1)
}

async function run(stream: SSEWriter, cache: Cache, channel: string, options: ChannelStreamOptions): Promise<void> {
  const lease = options.lease
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
}

/** SSE straight onto a Node response: a write resolves at once unless the socket's buffer is full. */
class NodeSSE implements SSEWriter {
  private aborted = false
  private listeners: (() => void | Promise<void>)[] = []

  constructor(private res: ServerResponse) {
    res.once('close', () => {
      this.aborted = true
      for (const l of this.listeners) void l()
    })
  }

  write(input: string): Promise<void> {
    if (this.aborted || this.res.writableEnded) return Promise.resolve()
    if (this.res.write(input)) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done)
        this.res.off('close', done)
        resolve()
      }
      this.res.on('drain', done)
      this.res.on('close', done)
    })
  }

  writeSSE(m: { data: string; event?: string; id?: string; retry?: number }): Promise<void> {
    // The same framing as Hono's SSEStreamingApi.writeSSE.
    for (const v of [m.event, m.id]) if (v && /[\r\n]/.test(v)) throw new Error('SSE event and id must not contain line breaks')
    let out = m.event ? `event: ${m.event}\n` : ''
    for (const line of m.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`
    if (m.id !== undefined) out += `id: ${m.id}\n`
    if (m.retry !== undefined) out += `retry: ${m.retry}\n`
    return this.write(`${out}\n`)
  }

  onAbort(listener: () => void | Promise<void>): void {
    this.listeners.push(listener)
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end()
  }
}

async function pump(stream: SSEWriter, cache: Cache, channel: string, options: ChannelStreamOptions): Promise<void> {
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
