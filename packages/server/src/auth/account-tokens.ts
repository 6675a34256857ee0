// Single-use account tokens sent by email (password reset, email change): 32 random bytes, stored only as a keyed
// hash, valid for an hour, spent by a conditional update so that of two uses exactly one wins.
import type { Kysely } from 'kysely'
import { hmacHex, randomToken } from '../platform/crypto.js'
import type { Database } from '../platform/db.js'

export const ACCOUNT_TOKEN_TTL_MS = 3600_000
export type AccountTokenKind = 'password_reset' | 'email_change'

const hashToken = (pepper: Buffer, token: string) => hmacHex(pepper, `account-token:${token}`)

/** A fresh token for the user; earlier unspent tokens of the same kind stop working. */
export async function issueAccountToken(
  db: Kysely<Database>,
  pepper: Buffer,
  input: { userId: string; kind: AccountTokenKind; newEmail?: string; now: Date },
): Promise<string> {
  const token = randomToken(32)
  await db
    .updateTable('account_tokens')
    .set({ used_at: input.now })
    .where('user_id', '=', input.userId)
    .where('kind', '=', input.kind)
    .where('used_at', 'is', null)
    .execute()
  await db
    .insertInto('account_tokens')
    .values({
      user_id: input.userId,
      kind: input.kind,
      token_hash: hashToken(pepper, token),
      new_email: input.newEmail ?? null,
      expires_at: new Date(input.now.getTime() + ACCOUNT_TOKEN_TTL_MS),
    })
    .execute()
  return token
}

/** Spends a token: resolves to its row when it was valid (unspent, unexpired, of this kind), once. */
export async function spendAccountToken(db: Kysely<Database>, pepper: Buffer, input: { token: string; kind: AccountTokenKind; now: Date }) {
  return db
    .updateTable('account_tokens')
    .set({ used_at: input.now })
    .where('token_hash', '=', hashToken(pepper, input.token))
    .where('kind', '=', input.kind)
    .where('used_at', 'is', null)
    .where('expires_at', '>', input.now)
    .returning(['id', 'user_id', 'new_email'])
    .executeTakeFirst()
}
