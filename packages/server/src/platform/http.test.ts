import { type AddressInfo, connect } from 'node:net'
import { serve } from '@hono/node-server'
import { createRoute, z } from '@hono/zod-openapi'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { TrieRouter } from 'hono/router/trie-router'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { AppEnv } from './context.js'
import { isDbUnavailable } from './db.js'
import { AppError } from './errors.js'
import { AppRouter, createRouter, errorHandler, jsonBody, limitBody, presetHeader, resolveClientIp } from './http.js'
import { createLogger } from './logger.js'

describe('AppRouter', () => {
  afterEach(() => vi.restoreAllMocks())
  const router = () => {
    const r = new AppRouter<string>()
    for (const [method, path, name] of [
      ['ALL', '*', 'edge'],
      ['POST', '/api/*', 'body-limit'],
      ['GET', '/api/auth/me', 'me'],
      ['GET', '/api/products/keys', 'keys'],
      ['POST', '/api/products/keys/:id/rotate', 'rotate'],
      ['GET', '/api/products/:product/settings', 'settings'],
    ])
      r.add(method as string, path as string, name as string)
    return r
  }
  const names = (r: ReturnType<AppRouter<string>['match']>) => r[0].map(([name]) => name)

  it('searches a path no route parameterises once, and gives what the trie gives', () => {
    const r = router()
    const search = vi.spyOn(TrieRouter.prototype, 'match')
    const first = r.match('GET', '/api/auth/me')
    expect(names(first)).toEqual(['edge', 'me'])
    expect(r.match('GET', '/api/auth/me')).toBe(first)
    expect(search).toHaveBeenCalledTimes(1)
    // Per method: a POST to the same path is its own search, with its own handlers.
    expect(names(r.match('POST', '/api/auth/me'))).toEqual(['edge', 'body-limit'])
    expect(search).toHaveBeenCalledTimes(2)
  })

  it('searches parameterised and unknown paths every time, so neither is kept', () => {
    const r = router()
    const search = vi.spyOn(TrieRouter.prototype, 'match')
    for (const product of ['chatbot', 'sales-agent']) {
      const [handlers] = r.match('GET', `/api/products/${product}/settings`) as [[string, Record<string, string>][]]
      expect(handlers.map(([name, params]) => [name, { ...params }])).toEqual([
        ['edge', {}],
        ['settings', { product }],
      ])
    }
    expect(names(r.match('POST', '/api/products/keys/k1/rotate'))).toEqual(['edge', 'body-limit', 'rotate'])
    r.match('GET', '/nowhere')
    r.match('GET', '/nowhere')
    expect(search).toHaveBeenCalledTimes(5)
  })

  it('forgets what it kept when a route is added after a match', () => {
    const r = router()
    expect(names(r.match('GET', '/api/auth/me'))).toEqual(['edge', 'me'])
    r.add('GET', '/api/auth/me', 'late')
    expect(names(r.match('GET', '/api/auth/me'))).toEqual(['edge', 'me', 'late'])
  })

  it('routes the app: createRouter uses it', async () => {
    const app = createRouter()
      .get('/fixed', (c) => c.text('fixed'))
      .get('/items/:id', (c) => c.text(c.req.param('id')))
    expect(app.router.name).toBe('AppRouter')
    expect(await (await app.request('/fixed')).text()).toBe('fixed')
    expect(await (await app.request('/fixed')).text()).toBe('fixed')
    expect(await (await app.request('/items/a')).text()).toBe('a')
    expect(await (await app.request('/items/b')).text()).toBe('b')
  })
})

describe('client address', () => {
  const app = (trustProxy: boolean) => new Hono().get('/', (c) => c.text(resolveClientIp(c, trustProxy)))
  const socket = (ip: string) => ({ incoming: { socket: { remoteAddress: ip } } })
  const ask = async (trustProxy: boolean, xff: string | undefined, env?: unknown) =>
    (await app(trustProxy).request('/', { headers: xff ? { 'x-forwarded-for': xff } : {} }, env)).text()

  it('uses the socket and ignores a forged X-Forwarded-For unless a proxy is trusted', async () => {
    expect(await ask(false, '6.6.6.6', socket('10.0.0.9'))).toBe('10.0.0.9')
    expect(await ask(true, '6.6.6.6, 203.0.113.7', socket('10.0.0.9'))).toBe('203.0.113.7')
    expect(await ask(true, undefined, socket('10.0.0.9'))).toBe('10.0.0.9')
  })

  it('falls back to X-Forwarded-For only without a socket (in-process requests)', async () => {
    expect(await ask(false, '198.51.100.4')).toBe('198.51.100.4')
    expect(await ask(false, undefined)).toBe('unknown')
  })
})

describe('x-should-retry on errors', () => {
  const answer = async (err: Error) => {
    const app = new Hono<AppEnv>().get('/', () => {
      throw err
    })
    app.onError(errorHandler(createLogger('silent')))
    const res = await app.request('/')
    return { status: res.status, retry: res.headers.get('x-should-retry') }
  }

  it('says false for a 4xx that the same request will meet again, true for 408/429/5xx and a request still running', async () => {
    expect(await answer(new AppError('license_already_claimed', 'x'))).toEqual({ status: 409, retry: 'false' })
    expect(await answer(new AppError('email_taken', 'x'))).toEqual({ status: 409, retry: 'false' })
    expect(await answer(new AppError('idempotency_conflict', 'different body'))).toEqual({ status: 409, retry: 'false' })
    expect(await answer(new AppError('idempotency_conflict', 'in progress', { retry: true }))).toEqual({ status: 409, retry: 'true' })
    expect(await answer(new AppError('validation_failed', 'x'))).toEqual({ status: 422, retry: 'false' })
    expect(await answer(new AppError('token_expired', 'x'))).toEqual({ status: 401, retry: 'false' })
    expect(await answer(new AppError('not_configured', 'x'))).toEqual({ status: 503, retry: 'false' })
    expect(await answer(new AppError('rate_limited', 'x'))).toEqual({ status: 429, retry: 'true' })
    expect(await answer(new AppError('unavailable', 'x'))).toEqual({ status: 503, retry: 'true' })
    expect(await answer(new AppError('upstream_failed', 'x'))).toEqual({ status: 502, retry: 'true' })
    expect(await answer(new HTTPException(400, { message: 'Malformed JSON in request body' }))).toEqual({ status: 400, retry: 'false' })
    expect(await answer(new Error('bug'))).toEqual({ status: 500, retry: 'true' })
  })
})

describe('database outages in the error envelope', () => {
  const logger = createLogger('silent')
  const failing = (err: unknown) => {
    const app = new Hono<AppEnv>()
    app.onError(errorHandler(logger))
    app.get('/', () => {
      throw err
    })
    return app.request('/')
  }
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
  const shutdown = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' })

  it('answers 503 unavailable with Retry-After for connection failures, never 500', async () => {
    for (const err of [
      refused,
      shutdown,
      Object.assign(new Error('connection failure'), { code: '08006' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Query read timeout'),
      new AggregateError([refused], ''),
    ]) {
      const res = await failing(err)
      expect(res.status, String(err)).toBe(503)
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unavailable')
    }
  })

  it('leaves other database errors to internal_error', async () => {
    const res = await failing(Object.assign(new Error('syntax error at or near "selec"'), { code: '42601' }))
    expect(res.status).toBe(500)
    expect(isDbUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false)
  })
})

describe('headers set before the answer', () => {
  const app = new Hono<AppEnv>()
  app.use('*', async (c, next) => {
    presetHeader(c, 'X-Request-Id', 'req_preset')
    presetHeader(c, 'Cache-Control', 'private, max-age=60')
    await next()
  })
  app.get('/plain', (c) => c.json({ ok: true }))
  // The answer's own header wins over a preset one of the same name, as with c.header.
  app.get('/own', (c) => c.json({ ok: true }, 200, { 'Cache-Control': 'no-store' }))
  app.get('/refused', () => {
    throw new AppError('rate_limited', 'slow down', { headers: { 'Retry-After': '7' } })
  })
  app.onError(errorHandler(createLogger('silent')))

  const headersOf = (res: Response) => ({
    id: res.headers.get('x-request-id'),
    cache: res.headers.get('cache-control'),
    retry: res.headers.get('retry-after'),
    type: res.headers.get('content-type'),
  })

  it('reach the client through @hono/node-server (on the Node response) and in-process (app.request)', async () => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
    await new Promise((r) => server.once('listening', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      for (const ask of [(p: string) => fetch(base + p), (p: string) => app.request(p)]) {
        expect(headersOf(await ask('/plain'))).toEqual({ id: 'req_preset', cache: 'private, max-age=60', retry: null, type: 'application/json' })
        expect(headersOf(await ask('/own'))).toMatchObject({ id: 'req_preset', cache: 'no-store' })
        const refused = await ask('/refused')
        expect(refused.status).toBe(429)
        expect(headersOf(refused)).toMatchObject({ id: 'req_preset', retry: '7', type: 'application/json' })
      }
    } finally {
      server.close()
    }
  })
})

describe('request bodies over a real socket', () => {
  // The app's body limit in front of a JSON-validated route and a raw-text one (a signed webhook reads its bytes).
  const app = createRouter()
  app.use('*', limitBody(64))
  app.onError(errorHandler(createLogger('silent')))
  app.post('/text', async (c) => c.json({ text: await c.req.text(), json: await c.req.json().catch(() => 'malformed') }))
  app.openapi(
    createRoute({ method: 'post', path: '/validated', request: { body: jsonBody(z.object({ name: z.string() })) }, responses: { 200: { description: 'ok' } } }),
    (c) => c.json({ name: c.req.valid('json').name }, 200),
  )

  /** Sends raw bytes in the given pieces (a slow client splits a character across packets) and reads the answer. */
  const send = (port: number, path: string, pieces: Buffer[], headers: Record<string, string>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', async () => {
        const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`)
        socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${head.join('')}\r\n`)
        for (const p of pieces) {
          socket.write(p)
          await new Promise((r) => setTimeout(r, 20))
        }
      })
      let raw = ''
      socket.on('data', (d) => {
        raw += d.toString('utf8')
      })
      socket.on('error', reject)
      socket.on('end', () => {
        const [head = '', ...rest] = raw.split('\r\n\r\n')
        resolve({ status: Number(head.split(' ')[1]), body: rest.join('\r\n\r\n') })
      })
    })

  it('reads a JSON body of declared length exactly (multibyte split across packets, BOM), refuses malformed and oversized', async () => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
    await new Promise((r) => server.once('listening', r))
    const port = (server.address() as AddressInfo).port
    const json = (body: Buffer, pieces = [body]) =>
      send(port, '/text', pieces, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) })
    try {
      const text = '{"name":"Zoë 👋 Ünïcödé"}'
      const bytes = Buffer.from(text)
      const cut = bytes.indexOf(0xf0) + 2 // inside the emoji's four bytes
      const split = await json(bytes, [bytes.subarray(0, cut), bytes.subarray(cut)])
      expect(split.status).toBe(200)
      expect(JSON.parse(split.body)).toEqual({ text, json: { name: 'Zoë 👋 Ünïcödé' } })

      const bom = await json(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"x"}')]))
      expect(JSON.parse(bom.body)).toEqual({ text: '{"name":"x"}', json: { name: 'x' } })

      const validated = await send(port, '/validated', [Buffer.from('{"name":"ok"}')], { 'content-type': 'application/json', 'content-length': '13' })
      expect(validated).toEqual({ status: 200, body: '{"name":"ok"}' })
      const malformed = await send(port, '/validated', [Buffer.from('{"name":')], { 'content-type': 'application/json', 'content-length': '8' })
      expect(malformed.status).toBe(400)
      const tooLarge = Buffer.from(JSON.stringify({ name: 'x'.repeat(80) }))
      const refused = await send(port, '/validated', [tooLarge], { 'content-type': 'application/json', 'content-length': String(tooLarge.length) })
      expect(refused.status).toBe(413)
      expect(JSON.parse(refused.body).error.code).toBe('payload_too_large')
      // A chunked body (no Content-Length) takes the general path, limit included.
      const chunk = (s: string) => Buffer.from(`${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`)
      const chunked = await send(port, '/validated', [chunk('{"name":'), chunk('"chunked"}'), Buffer.from('0\r\n\r\n')], {
        'content-type': 'application/json',
        'transfer-encoding': 'chunked',
      })
      expect(chunked).toEqual({ status: 200, body: '{"name":"chunked"}' })
      // A client that goes away halfway through its body: nothing hangs or crashes, the next request is answered.
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write('POST /validated HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n{"name":')
          setTimeout(() => socket.destroy(), 20)
        })
        socket.on('close', () => resolve())
      })
      expect(await send(port, '/validated', [Buffer.from('{"name":"after"}')], { 'content-type': 'application/json', 'content-length': '16' })).toEqual({
        status: 200,
        body: '{"name":"after"}',
      })
    } finally {
      server.close()
    }
  })
})
