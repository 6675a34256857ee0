import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { describe, expect, it } from 'vitest'
import type { AppEnv } from './context.js'
import { isDbUnavailable } from './db.js'
import { AppError } from './errors.js'
import { errorHandler, presetHeader, resolveClientIp } from './http.js'
import { createLogger } from './logger.js'

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
