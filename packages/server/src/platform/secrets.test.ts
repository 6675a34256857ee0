import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newLicense } from '../../test/fixtures.js'
import { createTestApp, type TestApp } from '../../test/harness.js'
import { AppError } from './errors.js'
import { decryptSecret, encryptSecret, getSecret, keyId, listSecretHints, putSecret, SecretDecryptError, secretHint, storedKeyId } from './secrets.js'

const key = () => randomBytes(32)

/** Flips one bit of the base64url part at `index` of a stored value. */
function flip(stored: string, index: number): string {
  const parts = stored.split('.')
  const bytes = Buffer.from(parts[index] as string, 'base64url')
  bytes[0] = (bytes[0] as number) ^ 1
  parts[index] = bytes.toString('base64url')
  return parts.join('.')
}

describe('encryptSecret / decryptSecret', () => {
  it('round-trips unicode text and never stores the plaintext', () => {
    const keys = [key()]
    const plaintext = 'sk-proj-Ünïcødé-🔑-0123456789'
    const stored = encryptSecret(keys, plaintext, 'ctx')
    expect(stored).not.toContain('sk-proj')
    expect(stored.startsWith(`v1.${keyId(keys[0] as Buffer)}.`)).toBe(true)
    expect(decryptSecret(keys, stored, 'ctx')).toBe(plaintext)
  })

  it('uses a fresh random IV each time', () => {
    const keys = [key()]
    const a = encryptSecret(keys, 'same value')
    const b = encryptSecret(keys, 'same value')
    expect(a.split('.')[2]).not.toBe(b.split('.')[2])
    expect(a).not.toBe(b)
  })

  it('detects tampering with the ciphertext, the tag or the IV', () => {
    const keys = [key()]
    const stored = encryptSecret(keys, 'webhook-signing-secret-value')
    for (const part of [2, 3, 4]) expect(() => decryptSecret(keys, flip(stored, part))).toThrow(SecretDecryptError)
    expect(() => decryptSecret(keys, stored.slice(0, -2))).toThrow(SecretDecryptError)
    expect(() => decryptSecret(keys, 'not-a-secret')).toThrow(SecretDecryptError)
  })

  it('binds the value to its context (a copied row does not decrypt elsewhere)', () => {
    const keys = [key()]
    const stored = encryptSecret(keys, 'value-123456', 'license-a/chatbot/openai_api_key')
    expect(() => decryptSecret(keys, stored, 'license-b/chatbot/openai_api_key')).toThrow(SecretDecryptError)
  })

  it('keeps old values readable after a new key is prepended, and encrypts new ones with the newest key', () => {
    const oldKey = key()
    const stored = encryptSecret([oldKey], 'rotate-me-please')
    const newKey = key()
    const rotated = [newKey, oldKey]
    expect(decryptSecret(rotated, stored)).toBe('rotate-me-please')
    const fresh = encryptSecret(rotated, 'rotate-me-please')
    expect(storedKeyId(fresh)).toBe(keyId(newKey))
    expect(() => decryptSecret([oldKey], fresh)).toThrow(SecretDecryptError)
  })

  it('fails with the wrong key, including a forged key id', () => {
    const stored = encryptSecret([key()], 'secret-value-1234')
    expect(() => decryptSecret([key()], stored)).toThrow(/no longer in ENCRYPTION_KEYS/)
    const wrong = key()
    const forged = stored.replace(/^v1\.[0-9a-f]{8}\./, `v1.${keyId(wrong)}.`)
    expect(() => decryptSecret([wrong], forged)).toThrow(/authentication failed/)
  })

  it('refuses to encrypt without a 32-byte key', () => {
    expect(() => encryptSecret([], 'x')).toThrow(/ENCRYPTION_KEYS/)
    expect(() => encryptSecret([randomBytes(16)], 'x')).toThrow(/ENCRYPTION_KEYS/)
  })
})

describe('secretHint', () => {
  it('shows the last 4 characters, and nothing for short values', () => {
    expect(secretHint('sk-abcdefgh1234')).toBe('1234')
    expect(secretHint('short')).toBe('')
  })
})

describe('putSecret / getSecret', () => {
  let app: TestApp
  let licenseA: string
  let licenseB: string
  beforeAll(async () => {
    app = await createTestApp()
    licenseA = (await newLicense(app)).id
    licenseB = (await newLicense(app)).id
  })
  afterAll(async () => app.shutdown())

  it('stores only ciphertext and a hint, and reads back the plaintext', async () => {
    const hint = await putSecret(app.deps, licenseA, 'chatbot', 'openai_api_key', 'sk-test-abcdefghijklmnop-wxyz')
    expect(hint).toBe('wxyz')
    const row = await app.deps.db.selectFrom('integration_secrets').selectAll().where('license_id', '=', licenseA).executeTakeFirstOrThrow()
    expect(row.ciphertext).not.toContain('sk-test')
    expect(row.hint).toBe('wxyz')
    expect(await getSecret(app.deps, licenseA, 'chatbot', 'openai_api_key')).toBe('sk-test-abcdefghijklmnop-wxyz')
    expect(await listSecretHints(app.deps.db, licenseA, 'chatbot')).toEqual([{ name: 'openai_api_key', hint: 'wxyz', updatedAt: expect.any(Date) }])
  })

  it('replaces a value on the same license, product and name', async () => {
    await putSecret(app.deps, licenseA, 'chatbot', 'webhook_signing_secret', 'first-secret-1111')
    await putSecret(app.deps, licenseA, 'chatbot', 'webhook_signing_secret', 'second-secret-2222')
    expect(await getSecret(app.deps, licenseA, 'chatbot', 'webhook_signing_secret')).toBe('second-secret-2222')
    const rows = await app.deps.db
      .selectFrom('integration_secrets')
      .select('hint')
      .where('license_id', '=', licenseA)
      .where('name', '=', 'webhook_signing_secret')
      .execute()
    expect(rows).toEqual([{ hint: '2222' }])
  })

  it('returns null for another license, another product or an unknown name', async () => {
    await putSecret(app.deps, licenseA, 'chatbot', 'openai_api_key', 'sk-only-for-license-a')
    expect(await getSecret(app.deps, licenseB, 'chatbot', 'openai_api_key')).toBeNull()
    expect(await getSecret(app.deps, licenseA, 'sales-agent', 'openai_api_key')).toBeNull()
    expect(await getSecret(app.deps, licenseA, 'chatbot', 'nope')).toBeNull()
  })

  it('refuses a ciphertext copied into another license’s row', async () => {
    await putSecret(app.deps, licenseA, 'sales-agent', 'openai_api_key', 'sk-copied-value-9999')
    const row = await app.deps.db
      .selectFrom('integration_secrets')
      .select('ciphertext')
      .where('license_id', '=', licenseA)
      .where('product', '=', 'sales-agent')
      .executeTakeFirstOrThrow()
    await app.deps.db
      .insertInto('integration_secrets')
      .values({ license_id: licenseB, product: 'sales-agent', name: 'openai_api_key', ciphertext: row.ciphertext, hint: '9999' })
      .execute()
    await expect(getSecret(app.deps, licenseB, 'sales-agent', 'openai_api_key')).rejects.toThrow(AppError)
  })

  it('reads a value written with an old key after rotation and re-encrypts it with the newest key', async () => {
    const oldKey = key()
    const before = { db: app.deps.db, config: { encryptionKeys: [oldKey] } }
    await putSecret(before, licenseB, 'chatbot', 'webhook_signing_secret', 'rotating-secret-abcd')
    const newKey = key()
    const after = { db: app.deps.db, config: { encryptionKeys: [newKey, oldKey] } }
    expect(await getSecret(after, licenseB, 'chatbot', 'webhook_signing_secret')).toBe('rotating-secret-abcd')
    const row = await app.deps.db
      .selectFrom('integration_secrets')
      .select('ciphertext')
      .where('license_id', '=', licenseB)
      .where('name', '=', 'webhook_signing_secret')
      .executeTakeFirstOrThrow()
    expect(storedKeyId(row.ciphertext)).toBe(keyId(newKey))
    // The old key can now retire.
    expect(await getSecret({ db: app.deps.db, config: { encryptionKeys: [newKey] } }, licenseB, 'chatbot', 'webhook_signing_secret')).toBe(
      'rotating-secret-abcd',
    )
  })

  it('reports not_configured, without the value, when no configured key can decrypt', async () => {
    await putSecret(app.deps, licenseB, 'sales-agent', 'webhook_signing_secret', 'lost-key-secret-zzzz')
    const err = await getSecret({ db: app.deps.db, config: { encryptionKeys: [key()] } }, licenseB, 'sales-agent', 'webhook_signing_secret').catch((e) => e)
    expect(err).toBeInstanceOf(AppError)
    expect((err as AppError).code).toBe('not_configured')
    expect(String((err as Error).message)).not.toContain('lost-key')
  })
})
