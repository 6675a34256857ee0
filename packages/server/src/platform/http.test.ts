import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { resolveClientIp } from './http.js'

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
