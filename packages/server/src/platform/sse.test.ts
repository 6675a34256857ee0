// The SSE pump on its own: live messages with heartbeats, and no timer left behind by each wake-up.
import type { EventEmitter } from 'node:events'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import { Hono } from 'hono'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MemoryCache } from './cache.js'
import { systemClock } from './clock.js'
import { HEARTBEAT_MS, streamChannel } from './sse.js'
import type { StreamLease } from './streams.js'

describe('streamChannel', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('keeps one heartbeat timer however many messages wake it, and still sends the heartbeat', async () => {
    // Only the timer functions are faked: the in-process bus delivers on microtasks, which keep running.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const cache = new MemoryCache(systemClock)
    const app = new Hono()
    app.get('/events', (c) => streamChannel(c, cache, 'ch', { write: (stream, raw) => stream.writeSSE({ event: 'm', data: raw }) }))
    const res = await app.request('/events')
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let text = ''
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`stream ended before ${needle}`)
        text += decoder.decode(value, { stream: true })
      }
    }
    await readUntil('retry:')
    // Lets the pump go back to waiting (setImmediate is real here: it runs after the pending promise jobs).
    const settle = () => new Promise((r) => setImmediate(r))
    // One message per wake-up: each one used to leave its 15-second timer pending.
    for (let i = 1; i <= 20; i++) {
      await cache.publish('ch', `n${i}`)
      await readUntil(`data: n${i}\n`)
      await settle()
    }
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(HEARTBEAT_MS)
    await readUntil(': ping')
    await settle()
    expect(vi.getTimerCount()).toBe(1)
    await reader.cancel()
    await cache.close()
  })

  it('served by Node: writes straight to the socket, frames multi-line data, and unsubscribes when the client goes away', async () => {
    const cache = new MemoryCache(systemClock)
    const app = new Hono()
    let released = 0
    app.get('/events', (c) => {
      c.header('X-Request-Id', 'r1')
      return streamChannel(c, cache, 'ch', {
        lease: { release: () => released++, onClose: () => undefined, reason: undefined } as unknown as StreamLease,
        replay: (stream) => stream.writeSSE({ event: 'ready', id: '7', data: '{}' }),
        write: (stream, raw) => stream.writeSSE({ event: 'm', data: raw }),
      })
    })
    const server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
    })
    const { port } = server.address() as AddressInfo
    const controller = new AbortController()
    const res = await fetch(`http://127.0.0.1:${port}/events`, { signal: controller.signal })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform')
    expect(res.headers.get('x-request-id')).toBe('r1')
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let text = ''
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`stream ended before ${needle}`)
        text += decoder.decode(value, { stream: true })
      }
    }
    await readUntil('event: ready\ndata: {}\nid: 7\n\n')
    expect(text.startsWith('retry: 2000\n\n')).toBe(true)
    await cache.publish('ch', 'line one\nline two')
    await readUntil('event: m\ndata: line one\ndata: line two\n\n')
    controller.abort()
    await vi.waitFor(() => expect(released).toBe(1))
    // Unsubscribed: nothing listens on the channel any more.
    expect((cache as unknown as { bus: EventEmitter }).bus.listenerCount('ch')).toBe(0)
    await new Promise((r) => server.close(r))
    await cache.close()
  })
})
