// Visitor tokens are verified once and remembered until they expire: the memory must never extend a token's life,
// nor let a token verified for one license open another's conversations.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Deps } from '../platform/context.js'
import { AppError } from '../platform/errors.js'
import { Memo } from '../platform/memo.js'
import { signVisitorToken, VISITOR_TOKEN_TTL_MS, verifyVisitorToken } from './visitors.js'

function fakeDeps(start = Date.UTC(2026, 10, 30, 12)) {
  let now = start
  const deps = { config: { jwtSecret: randomBytes(32) }, clock: { now: () => now }, memo: new Memo() } as unknown as Deps
  return { deps, advance: (ms: number) => (now += ms) }
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: unknown) => (e instanceof AppError ? e.code : String(e)),
  )

describe('visitor tokens', () => {
  it('a token verified earlier still expires on time', async () => {
    const { deps, advance } = fakeDeps()
    const { token } = await signVisitorToken(deps, 'lic-a', 'visitor-1')
    expect(await verifyVisitorToken(deps, 'lic-a', token)).toBe('visitor-1')
    advance(VISITOR_TOKEN_TTL_MS - 60_000)
    expect(await verifyVisitorToken(deps, 'lic-a', token)).toBe('visitor-1')
    advance(61_000)
    expect(await refusal(verifyVisitorToken(deps, 'lic-a', token))).toBe('visitor_token_invalid')
  })

  it('a token verified for its own license is still refused for another one', async () => {
    const { deps } = fakeDeps()
    const { token } = await signVisitorToken(deps, 'lic-a', 'visitor-1')
    expect(await verifyVisitorToken(deps, 'lic-a', token)).toBe('visitor-1')
    expect(await refusal(verifyVisitorToken(deps, 'lic-b', token))).toBe('visitor_token_invalid')
  })

  it('a forged token is refused, also after the real one was verified', async () => {
    const { deps } = fakeDeps()
    const { token } = await signVisitorToken(deps, 'lic-a', 'visitor-1')
    await verifyVisitorToken(deps, 'lic-a', token)
    const [head, body] = token.split('.')
    const forged = `${head}.${body}.${Buffer.from(randomBytes(32)).toString('base64url')}`
    expect(await refusal(verifyVisitorToken(deps, 'lic-a', forged))).toBe('visitor_token_invalid')
  })
})
