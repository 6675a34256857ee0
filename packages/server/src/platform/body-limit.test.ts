// A body over BODY_LIMIT_BYTES, over a real socket: 413 with Connection: close, and the client's next request on
// its keep-alive agent gets a proper answer instead of a connection the server has already dropped.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../test/harness.js'

interface Answer {
  status: number
  connection: string | undefined
  body: string
  socket: unknown
}

/** One request through `agent`; `chunked` sends no Content-Length, so the server finds out mid-read. */
function send(agent: http.Agent, port: number, body: string, chunked: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json' }
    if (!chunked) headers['content-length'] = Buffer.byteLength(body)
    const req = http.request({ host: '127.0.0.1', port, path: '/api/widget/conversations', method: 'POST', agent, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => {
        text += d
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text, socket: res.socket }))
    })
    req.on('error', reject)
    if (chunked) {
      for (let i = 0; i < body.length; i += 16_384) req.write(body.slice(i, i + 16_384))
      req.end()
    } else req.end(body)
  })
}

describe('a body over the limit on a keep-alive connection', () => {
  let app: TestApp
  let server: ServerType
  let port: number

  beforeAll(async () => {
    app = await createTestApp()
    server = serve({ fetch: app.app.fetch, port: 0, hostname: '127.0.0.1' })
    await new Promise<void>((resolve) => server.once('listening', () => resolve()))
    port = (server.address() as AddressInfo).port
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await app.shutdown()
  })

  for (const chunked of [true, false]) {
    it(`answers 413 with Connection: close and the next request on the agent succeeds (${chunked ? 'chunked' : 'Content-Length'})`, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
      try {
        const oversize = JSON.stringify({ pageUrl: 'x'.repeat(app.config.bodyLimitBytes * 3) })
        const first = await send(agent, port, oversize, chunked)
        // Told keep-alive, the agent reuses a socket the server then drops: ECONNRESET ("socket hang up").
        const second = await send(agent, port, '{}', false).catch((err: Error) => err)
        expect(first.status).toBe(413)
        expect(JSON.parse(first.body).error.code).toBe('payload_too_large')
        if (second instanceof Error) throw second
        // Without a product key the widget route answers 401: a real answer, on a fresh connection.
        expect(second.status).toBe(401)
        expect(JSON.parse(second.body).error.code).toBe('invalid_key')
        expect(first.connection).toBe('close')
        expect(second.socket).not.toBe(first.socket)
      } finally {
        agent.destroy()
      }
    })
  }
})
