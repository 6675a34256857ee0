// The SSE pump on its own: live messages with heartbeats, and no timer left behind by each wake-up.
import { Hono } from 'hono'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MemoryCache } from './cache.js'
import { systemClock } from './clock.js'
import { HEARTBEAT_MS, streamChannel } from './sse.js'

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
})
