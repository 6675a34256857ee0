// Login throttling: a stranger guessing against an owner's email slows only their own address; the same
// (address, email) pair waits 1 s, 2 s, 4 s… after five failures; a success resets it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newCustomer, uniqueEmail, uniqueIp } from '../../test/fixtures.js'
import { createTestApp, ManualClock, type TestApp } from '../../test/harness.js'
import { delaySeconds, FREE_FAILURES, MAX_DELAY_SECONDS } from './login-throttle.js'

const PASSWORD = 'correct horse battery'

describe('login throttling', () => {
  let app: TestApp
  const clock = new ManualClock(Date.now())

  // TRUST_PROXY=1: the client address comes from X-Forwarded-For, as behind a reverse proxy.
  beforeAll(async () => {
    app = await createTestApp({ clock, env: { TRUST_PROXY: '1' } })
  })
  afterAll(async () => app.shutdown())

  const login = (email: string, password: string, ip: string) =>
    app.request('/api/auth/login', { method: 'POST', headers: { 'x-forwarded-for': ip }, json: { email, password } })
  const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

  it('lets the owner log in from their address after a stranger failed 50 times against their email', async () => {
    const owner = await newCustomer(app)
    const stranger = uniqueIp()
    const statuses: number[] = []
    for (let i = 0; i < 50; i++) statuses.push((await login(owner.email, `guess number ${i}`, stranger)).status)
    // The clock stands still: five free failures, then every attempt waits.
    expect(statuses.filter((s) => s === 401)).toHaveLength(FREE_FAILURES)
    expect(statuses.filter((s) => s === 429)).toHaveLength(50 - FREE_FAILURES)
    // Even the right password from the stranger's address waits now.
    expect((await login(owner.email, PASSWORD, stranger)).status).toBe(429)
    const ok = await login(owner.email, PASSWORD, uniqueIp())
    expect(ok.status).toBe(200)
  })

  it('makes the same pair wait 1 s, 2 s, 4 s after five failures, and a success resets it', async () => {
    const owner = await newCustomer(app)
    const ip = uniqueIp()
    for (let i = 0; i < FREE_FAILURES; i++) expect((await login(owner.email, 'wrong password', ip)).status).toBe(401)
    for (const wait of [1, 2, 4]) {
      const limited = await login(owner.email, PASSWORD, ip)
      expect(limited.status).toBe(429)
      expect(limited.headers.get('retry-after')).toBe(String(wait))
      expect(limited.headers.get('ratelimit-policy')).toBe(`"login-pair";q=1;w=${wait}`)
      expect(await code(limited)).toBe('rate_limited')
      clock.advance(wait * 1000 - 1)
      expect((await login(owner.email, 'wrong password', ip)).status).toBe(429)
      clock.advance(1)
      expect((await login(owner.email, 'wrong password', ip)).status).toBe(401)
    }
    expect((await login(owner.email, PASSWORD, ip)).headers.get('retry-after')).toBe('8')
    clock.advance(8000)
    expect((await login(owner.email, PASSWORD, ip)).status).toBe(200)
    // Reset: five free failures again, then a 1 s wait.
    for (let i = 0; i < FREE_FAILURES; i++) expect((await login(owner.email, 'wrong password', ip)).status).toBe(401)
    expect((await login(owner.email, PASSWORD, ip)).headers.get('retry-after')).toBe('1')
  })

  it('lets exactly one of many simultaneous guesses through when a wait ends', async () => {
    const owner = await newCustomer(app)
    const ip = uniqueIp()
    for (let i = 0; i < FREE_FAILURES; i++) expect((await login(owner.email, 'wrong password', ip)).status).toBe(401)
    clock.advance(1000)
    const statuses = (await Promise.all(Array.from({ length: 10 }, (_, i) => login(owner.email, `guess ${i}`, ip)))).map((r) => r.status)
    expect(statuses.filter((s) => s === 401)).toHaveLength(1)
    expect(statuses.filter((s) => s === 429)).toHaveLength(9)
  })

  it('caps the wait', () => {
    expect([0, FREE_FAILURES - 1, FREE_FAILURES, FREE_FAILURES + 1, FREE_FAILURES + 2].map(delaySeconds)).toEqual([0, 0, 1, 2, 4])
    expect(delaySeconds(FREE_FAILURES + 40)).toBe(MAX_DELAY_SECONDS)
    expect(delaySeconds(10_000)).toBe(MAX_DELAY_SECONDS)
  })

  it('still limits one address across many emails (30 attempts per 15 minutes)', async () => {
    // Redis windows follow wall-clock quarter hours: keep the burst inside one.
    const left = 900_000 - (Date.now() % 900_000)
    if (left < 10_000) await new Promise((r) => setTimeout(r, left + 100))
    const ip = uniqueIp()
    for (let i = 0; i < 30; i++) expect((await login(uniqueEmail(), 'wrong password', ip)).status).toBe(401)
    const limited = await login(uniqueEmail(), 'wrong password', ip)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('ratelimit-policy')).toMatch(/^"login-ip";/)
  })
})
