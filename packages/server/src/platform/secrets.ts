// Integration secrets (n8n signing secret, OpenAI key) encrypted at rest with AES-256-GCM and rotatable keys.
// The plaintext only ever leaves this module as a return value: never in a log line, an error or a response.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import type { Config } from './config.js'
import type { Db } from './db.js'
import { AppError } from './errors.js'

/**
 * Stored form: `v1.<key id>.<iv>.<tag>.<ciphertext>` (base64url parts). The key id is a fingerprint of the
 * key, not its position in ENCRYPTION_KEYS, so prepending a new key never changes which key opens old rows.
 */
const VERSION = 'v1'
const IV_BYTES = 12
const TAG_BYTES = 16

export class SecretDecryptError extends Error {
  constructor(reason: string) {
    super(`Cannot decrypt integration secret: ${reason}`)
    this.name = 'SecretDecryptError'
  }
}

/** Short, non-secret fingerprint of a key (8 hex chars), stored beside each ciphertext. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('intelagent:secrets:kid:').update(key).digest('hex').slice(0, 8)
}

function checkKey(key: Buffer | undefined): Buffer {
  if (key?.length !== 32) throw new Error('ENCRYPTION_KEYS must hold at least one 32-byte key')
  return key
}

/**
 * Encrypts with the newest key (keys[0]). `context` is bound as additional authenticated data, so a ciphertext
 * copied to another row (another license, product or secret name) fails to decrypt there.
 */
export function encryptSecret(keys: readonly Buffer[], plaintext: string, context = ''): string {
  const key = checkKey(keys[0])
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(Buffer.from(context, 'utf8'))
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  const tag = cipher.getAuthTag()
  return [VERSION, keyId(key), iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join('.')
}

/** Decrypts with whichever configured key wrote the value; throws SecretDecryptError on any mismatch or tampering. */
export function decryptSecret(keys: readonly Buffer[], stored: string, context = ''): string {
  const parts = stored.split('.')
  if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretDecryptError('unknown format')
  const [, kid, ivB64, tagB64, ctB64] = parts as [string, string, string, string, string]
  const iv = Buffer.from(ivB64, 'base64url')
  const tag = Buffer.from(tagB64, 'base64url')
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretDecryptError('malformed')
  const candidates = keys.filter((k) => k.length === 32 && keyId(k) === kid)
  if (candidates.length === 0) throw new SecretDecryptError('it was encrypted with a key that is no longer in ENCRYPTION_KEYS')
  // A 32-bit fingerprint can collide; GCM's tag decides which candidate (if any) is the right key.
  for (const key of candidates) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
      decipher.setAAD(Buffer.from(context, 'utf8'))
      decipher.setAuthTag(tag)
      return Buffer.concat([decipher.update(Buffer.from(ctB64, 'base64url')), decipher.final()]).toString('utf8')
    } catch {
      // try the next candidate
    }
  }
  throw new SecretDecryptError('authentication failed (wrong key or tampered value)')
}

/** The key id a stored value was written with, or undefined for an unknown format. */
export function storedKeyId(stored: string): string | undefined {
  const parts = stored.split('.')
  return parts.length === 5 && parts[0] === VERSION ? parts[1] : undefined
}

/** What the dashboard may show: the last 4 characters, and nothing for values too short to spare them. */
export function secretHint(value: string): string {
  return value.length >= 8 ? value.slice(-4) : ''
}

const aad = (licenseId: string, product: string, name: string): string => `${licenseId}/${product}/${name}`

type SecretDeps = { db: Db; config: Pick<Config, 'encryptionKeys'> }

/** Stores (or replaces) a secret encrypted with the newest key; returns its hint. */
export async function putSecret(deps: SecretDeps, licenseId: string, product: string, name: string, value: string): Promise<string> {
  const ciphertext = encryptSecret(deps.config.encryptionKeys, value, aad(licenseId, product, name))
  const hint = secretHint(value)
  await deps.db
    .insertInto('integration_secrets')
    .values({ license_id: licenseId, product, name, ciphertext, hint })
    .onConflict((oc) => oc.columns(['license_id', 'product', 'name']).doUpdateSet({ ciphertext, hint, updated_at: new Date() }))
    .execute()
  return hint
}

/**
 * The plaintext, or null when none is stored. A value no configured key can open is an operator problem
 * (a key was removed too early), reported as not_configured rather than silently treated as absent.
 */
export async function getSecret(deps: SecretDeps, licenseId: string, product: string, name: string): Promise<string | null> {
  const row = await deps.db
    .selectFrom('integration_secrets')
    .select('ciphertext')
    .where('license_id', '=', licenseId)
    .where('product', '=', product)
    .where('name', '=', name)
    .executeTakeFirst()
  if (!row) return null
  const keys = deps.config.encryptionKeys
  let value: string
  try {
    value = decryptSecret(keys, row.ciphertext, aad(licenseId, product, name))
  } catch (err) {
    if (err instanceof SecretDecryptError)
      throw new AppError('not_configured', `The stored ${name} cannot be decrypted with the configured ENCRYPTION_KEYS; set it again`)
    throw err
  }
  // Lazy re-encryption: once read, a value written with an older key moves to the newest one, so old keys can retire.
  const newest = keys[0]
  if (newest && storedKeyId(row.ciphertext) !== keyId(newest)) {
    await deps.db
      .updateTable('integration_secrets')
      .set({ ciphertext: encryptSecret(keys, value, aad(licenseId, product, name)) })
      .where('license_id', '=', licenseId)
      .where('product', '=', product)
      .where('name', '=', name)
      .where('ciphertext', '=', row.ciphertext)
      .execute()
  }
  return value
}

/** Names and hints of a product's stored secrets, for display; never the values. */
export async function listSecretHints(db: Db, licenseId: string, product: string): Promise<{ name: string; hint: string; updatedAt: Date }[]> {
  const rows = await db
    .selectFrom('integration_secrets')
    .select(['name', 'hint', 'updated_at'])
    .where('license_id', '=', licenseId)
    .where('product', '=', product)
    .orderBy('name')
    .execute()
  return rows.map((r) => ({ name: r.name, hint: r.hint, updatedAt: r.updated_at }))
}

/** Removes a stored secret; true when one existed. */
export async function deleteSecret(db: Db, licenseId: string, product: string, name: string): Promise<boolean> {
  const res = await db
    .deleteFrom('integration_secrets')
    .where('license_id', '=', licenseId)
    .where('product', '=', product)
    .where('name', '=', name)
    .executeTakeFirst()
  return Number(res.numDeletedRows) > 0
}
