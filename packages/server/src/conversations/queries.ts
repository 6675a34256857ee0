// SQL of the customer's conversation views; the caller passes `db` (or its transaction).
import { sql } from 'kysely'
import type { Db } from '../platform/db.js'
import type { Cursor } from '../platform/pagination.js'

/**
 * One page of a product's conversations, most recently active first, each with its last message and count, in one
 * statement. A message's seq is its conversation's last_seq at insert (both in one statement, rolled back together,
 * and messages are never deleted), so last_seq is the count and the message with seq = last_seq is the last one:
 * a point lookup on messages (conversation_id, seq) instead of a count and a sort per row.
 *
 * The keyset (updated_at, id) below the cursor walks conversations_list_idx (license_id, product, updated_at desc,
 * id desc) and stops after `limit` rows. Measured on Postgres 15 with 1M messages in 50k conversations, 5k of them in
 * the queried license and product (bench/conversation-list-plan.sql), a page 4,000 rows deep:
 *
 *   Limit  (cost=0.84..277.00 rows=26) (actual time=0.033..0.283 rows=26 loops=1)
 *     ->  Nested Loop Left Join  (actual time=0.032..0.280 rows=26 loops=1)
 *           ->  Index Scan using conversations_list_idx on conversations c  (actual time=0.016..0.081 rows=26 loops=1)
 *                 Index Cond: ((license_id = …) AND (product = 'chatbot') AND (ROW(updated_at, id) < ROW(…, …)))
 *           ->  Index Scan using messages_conversation_seq_unique on messages m  (actual time=0.007..0.007 rows=1 loops=26)
 *                 Index Cond: ((conversation_id = c.id) AND (seq = c.last_seq))
 *   Execution Time: 0.325 ms (the first page: 0.272 ms)
 */
export async function listConversations(db: Db, licenseId: string, product: string, limit: number, after: Cursor | undefined, status?: string) {
  let q = db
    .selectFrom('conversations as c')
    .leftJoin('messages as m', (j) => j.onRef('m.conversation_id', '=', 'c.id').onRef('m.seq', '=', 'c.last_seq'))
    .selectAll('c')
    .select(['m.text as last_text', 'm.role as last_role', 'm.created_at as last_created_at'])
    .where('c.license_id', '=', licenseId)
    .where('c.product', '=', product)
  if (after) q = q.where(sql<boolean>`(c.updated_at, c.id) < (${new Date(after.t)}, ${after.id}::uuid)`)
  // The status filter walks the same index and skips other statuses (waiting ones are few; closed ones recent).
  if (status) q = q.where('c.status', '=', status as 'open' | 'waiting' | 'closed')
  return q.orderBy('c.updated_at', 'desc').orderBy('c.id', 'desc').limit(limit).execute()
}
