// The bench's own HTTP client (bench/client.ts): what it counts as an answer decides every throughput it prints.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Connection, encodeRequest, parseAnswer } from '../bench/client.js'

describe('bench client', () => {
  let server: http.Server
  let port = 0
  const seen: { method: string; url: string; body: string; length: string | undefined }[] = []

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = ''
      req.on('data', (d) => {
        body += d
      })
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', body, length: req.headers['content-length'] })
        if (req.url === '/chunked') {
          res.writeHead(201, { 'content-type': 'text/plain' })
          res.write('first part, ')
          setTimeout(() => res.end('second part'), 5)
        } else if (req.url === '/empty') {
          res.writeHead(204).end()
        } else if (req.url === '/hang-up') {
          req.socket.destroy()
        } else {
          res.writeHead(req.method === 'POST' ? 429 : 200, { 'content-type': 'application/json' }).end(JSON.stringify({ echo: body }))
        }
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => new Promise<void>((r) => server.close(() => r())))

  it('sends bodies with Content-Length and reads each kind of answer on one connection', async () => {
    const c = new Connection(port)
    const body = JSON.stringify({ text: 'héllo' })
    expect(await c.send(encodeRequest({ method: 'POST', path: '/messages', headers: { 'content-type': 'application/json' }, body }))).toBe(429)
    expect(await c.send(encodeRequest({ method: 'GET', path: '/chunked' }))).toBe(201)
    expect(await c.send(encodeRequest({ method: 'GET', path: '/empty' }))).toBe(204)
    expect(await c.send(encodeRequest({ method: 'GET', path: '/again' }))).toBe(200)
    // A connection the server drops answers 599, and the next request opens a new one.
    expect(await c.send(encodeRequest({ method: 'GET', path: '/hang-up' }))).toBe(599)
    expect(await c.send(encodeRequest({ method: 'GET', path: '/after' }))).toBe(200)
    c.close()
    expect(seen.map((s) => s.url)).toEqual(['/messages', '/chunked', '/empty', '/again', '/hang-up', '/after'])
    expect(seen[0]).toMatchObject({ method: 'POST', body, length: String(Buffer.byteLength(body)) })
  })

  it('waits for the whole answer, however it arrives', () => {
    const first = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello')
    const second = Buffer.from('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n')
    const whole = Buffer.concat([first, second])
    for (let cut = 0; cut < first.length; cut++) expect(parseAnswer(whole.subarray(0, cut))).toEqual({ status: 0, used: 0 })
    expect(parseAnswer(whole)).toEqual({ status: 200, used: first.length })
    expect(parseAnswer(whole.subarray(first.length))).toEqual({ status: 404, used: second.length })
    const chunked = Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n')
    expect(parseAnswer(chunked.subarray(0, chunked.length - 1))).toEqual({ status: 0, used: 0 })
    expect(parseAnswer(chunked)).toEqual({ status: 200, used: chunked.length })
  })
})
