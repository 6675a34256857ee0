// SQL of the customer's conversation views; the caller passes `db` (or its transaction).
import { sql } from 'kysely'
import type { Db } from '../platform/db.js'
import type { Cursor } from '../platform/pagination.js'

/** A timestamp as JavaScript's toISOString() writes it: UTC, milliseconds cut (not rounded) from Postgres' microseconds. */
const iso = (column: string) => sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`)

/**
 * One page of a product's conversations, most recently active first, each with its last message and count, in one
 * statement. A message's seq is its conversation's last_seq at insert (both in one statement, rolled back together,
 * and messages are never deleted), so last_seq is the count and the message with seq = last_seq is the last one:
 * a point lookup on messages (conversation_id, seq) instead of a count and a sort per row.
 *
 * Postgres writes the page's JSON itself, each entry exactly as publicConversation() and the list route shape it
 * (list.test.ts compares them field by field): the server passes the text through instead of parsing 20-odd columns
 * of every row (five of them timestamps) and serializing them again, which was most of a list request's CPU. Also
 * returned: whether a row follows the page and the last row's keyset, for the next cursor.
 *
 * The keyset (updated_at, id) below the cursor walks conversations_list_idx (license_id, product, updated_at desc,
 * id desc) and stops after `limit` + 1 rows. Measured on Postgres 15 with 1M messages in 50k conversations, 5k of
 * them in the queried license and product (bench/conversation-list-plan.sql), a page 4,000 rows deep:
 *
 *   Limit  (cost=0.84..277.00 rows=26) (actual time=0.033..0.283 rows=26 loops=1)
 *     ->  Nested Loop Left Join  (actual time=0.032..0.280 rows=26 loops=1)
 *           ->  Index Scan using conversations_list_idx on conversations c  (actual time=0.016..0.081 rows=26 loops=1)
 *                 Index Cond: ((license_id = …) AND (product = 'chatbot') AND (ROW(updated_at, id) < ROW(…, …)))
 *           ->  Index Scan using messages_conversation_seq_unique on messages m  (actual time=0.007..0.007 rows=1 loops=26)
 *                 Index Cond: ((conversation_id = c.id) AND (seq = c.last_seq))
 *   Execution Time: 0.325 ms (the first page: 0.272 ms)
 */
export async function listConversationsPage(
  db: Db,
  licenseId: string,
  product: string,
  limit: number,
  after: Cursor | undefined,
  status?: string,
): Promise<{ conversations: string; next: Cursor | null }> {
  const keyset = after ? sql`and (c.updated_at, c.id) < (${new Date(after.t)}, ${after.id}::uuid)` : sql``
  // The status filter walks the same index and skips other statuses (waiting ones are few; closed ones recent).
  const byStatus = status ? sql`and c.status = ${status}` : sql``
  const { rows } = await sql<{ conversations: string; more: boolean; tail_t: string | null; tail_id: string | null }>`
    with page as (
      select c.*, m.text as last_text, m.role as last_role, m.created_at as last_created_at,
        row_number() over (order by c.updated_at desc, c.id desc) as n
      from conversations c
      left join messages m on m.conversation_id = c.id and m.seq = c.last_seq
      where c.license_id = ${licenseId} and c.product = ${product} ${keyset} ${byStatus}
      order by c.updated_at desc, c.id desc
      limit ${limit + 1}
    )
    select
      coalesce(json_agg(json_build_object(
        'id', p.id,
        'product', p.product,
        'status', p.status,
        'visitorId', p.visitor_id,
        'pageUrl', p.page_url,
        'attributes', p.attributes,
        'user', case when p.user_id is not null then json_build_object('id', p.user_id, 'email', p.user_email, 'name', p.user_name) end,
        'waitingReason', p.waiting_reason,
        'closedAt', ${iso('p.closed_at')},
        'closedBy', p.closed_by,
        'takenOver', case when p.taken_over_at is not null then json_build_object('at', ${iso('p.taken_over_at')}, 'by', p.taken_over_by) end,
        'createdAt', ${iso('p.created_at')},
        'updatedAt', ${iso('p.updated_at')},
        'messageCount', p.last_seq,
        'lastMessage', case when p.last_text is not null and p.last_role is not null and p.last_created_at is not null
          then json_build_object('text', p.last_text, 'role', p.last_role, 'createdAt', ${iso('p.last_created_at')}) end
      ) order by p.n) filter (where p.n <= ${limit}), '[]')::text as conversations,
      count(*) > ${limit} as more,
      max(${iso('p.updated_at')}) filter (where p.n = ${limit}) as tail_t,
      max(p.id::text) filter (where p.n = ${limit}) as tail_id
    from page p`.execute(db)
  const r = rows[0]
  const next = r?.more && r.tail_t && r.tail_id ? { t: r.tail_t, id: r.tail_id } : null
  return { conversations: r?.conversations ?? '[]', next }
}
