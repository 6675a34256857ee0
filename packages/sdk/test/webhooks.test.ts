import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { Intelagent, SignatureVerificationError, sign, verifySignature, webhooks } from '../src/index.js'

const secret = 'n8n-test-secret-0123456789abcdef'
const body = JSON.stringify({ orderId: 'o-1', email: 'a@example.com', products: ['chatbot'], tier: 'starter' })

describe('webhook signatures', () => {
  it('round-trips: a fresh signature verifies', async () => {
    const header = await sign(secret, body)
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
    await expect(verifySignature(secret, header, body)).resolves.toBeUndefined()
    // The same functions hang off the client and off the standalone object.
    const sdk = new Intelagent({ baseUrl: 'https://api.test' })
    await expect(sdk.webhooks.verifySignature(secret, await webhooks.sign(secret, body), body)).resolves.toBeUndefined()
  })

  it('matches the server scheme: hex HMAC-SHA256 of t + "." + body', async () => {
    const t = 1_700_000_000
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')
    expect(await sign(secret, body, t)).toBe(`t=${t},v1=${expected}`)
  })

  it('rejects a tampered body, a wrong secret and a malformed header as invalid_signature', async () => {
    const header = await sign(secret, body)
    const cases = [
      () => verifySignature(secret, header, body.replace('starter', 'enterprise')),
      () => verifySignature('another-secret', header, body),
      () => verifySignature(secret, 'v1=abc', body),
      () => verifySignature(secret, undefined, body),
      () =>
        verifySignature(
          secret,
          header.replace(/v1=./, (m) => (m.endsWith('0') ? 'v1=1' : 'v1=0')),
          body,
        ),
    ]
    for (const verify of cases) await expect(verify()).rejects.toMatchObject({ name: 'SignatureVerificationError', code: 'invalid_signature' })
  })

  it('rejects a signature older (or newer) than the tolerance as stale_signature', async () => {
    const now = Math.floor(Date.now() / 1000)
    const old = await sign(secret, body, now - 301)
    const err = await verifySignature(secret, old, body).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SignatureVerificationError)
    expect(err).toMatchObject({ code: 'stale_signature' })
    await expect(verifySignature(secret, await sign(secret, body, now + 400), body)).rejects.toMatchObject({ code: 'stale_signature' })
    // A wider tolerance accepts it.
    await expect(verifySignature(secret, old, body, 600)).resolves.toBeUndefined()
  })

  it('accepts any of several v1 values (secret rotation)', async () => {
    const t = Math.floor(Date.now() / 1000)
    const fresh = (await sign(secret, body, t)).split(',v1=')[1]
    await expect(verifySignature(secret, `t=${t},v1=${'0'.repeat(64)},v1=${fresh}`, body)).resolves.toBeUndefined()
  })
})
