// Conversations and messages: every message gets the next seq of its conversation, idempotent by clientMessageId,
// and is announced on the conversation's and the license's event channels (Redis pub/sub across instances).
import { randomUUID } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import { perDatabase, perTurn, perTurnAll } from '../platform/batch.js'
import type { Deps } from '../platform/context.js'
import { type ConversationRow, type Database, isDeadlock, isUniqueViolation, type MessageRow, pgArray } from '../platform/db.js'
import { emit, eventRow } from '../platform/events.js'
import { licenseChannel, liveMessage } from '../platform/live.js'
import type { Product } from '../platform/products.js'

export type Role = MessageRow['role']

/** The pages an answer cites (the reply engines put them in the message's meta), in the `{url, title}` wire shape. */
function sourcesOf(meta: unknown): { url: string | null; title: string }[] {
  const raw = (typeof meta === 'string' ? JSON.parse(meta) : meta) as { sources?: unknown } | null
  if (!Array.isArray(raw?.sources)) return []
  return raw.sources
    .filter((s): s is { url?: unknown; title: string } => typeof s === 'object' && s !== null && typeof (s as { title?: unknown }).title === 'string')
    .map((s) => ({ url: typeof s.url === 'string' && s.url ? s.url : null, title: s.title }))
}

export function publicMessage(m: MessageRow) {
  return {
    id: m.id,
    conversationId: m.conversation_id,
    seq: m.seq,
    role: m.role,
    text: m.text,
    clientMessageId: m.client_message_id,
    sources: sourcesOf(m.meta),
    createdAt: m.created_at.toISOString(),
    // The visitor's rating of a bot answer (assistant messages only).
    ...(m.role === 'assistant' ? { rating: m.rating ?? null } : {}),
    // The bot did not know (below its confidence threshold, or the engine said so): the widget offers a person.
    ...(m.role === 'assistant' && (m.meta as { outcome?: string } | null)?.outcome === 'fallback' ? { unanswered: true as const } : {}),
  }
}
export type PublicMessage = ReturnType<typeof publicMessage>

export function publicConversation(c: ConversationRow) {
  return {
    id: c.id,
    // Conversations exist only for the widget products (the widget routes insert them).
    product: c.product as 'chatbot' | 'sales-agent',
    status: c.status,
    visitorId: c.visitor_id,
    pageUrl: c.page_url,
    // jsonb arrives parsed from pg and PGlite; a string would mean a driver that does not parse it.
    attributes: (typeof c.attributes === 'string' ? JSON.parse(c.attributes) : (c.attributes ?? {})) as Record<string, string | number | boolean>,
    user: c.user_id ? { id: c.user_id, email: c.user_email, name: c.user_name } : null,
    waitingReason: c.waiting_reason ?? null,
    closedAt: c.closed_at?.toISOString() ?? null,
    closedBy: c.closed_by ?? null,
    takenOver: c.taken_over_at ? { at: c.taken_over_at.toISOString(), by: c.taken_over_by } : null,
    createdAt: c.created_at.toISOString(),
    updatedAt: c.updated_at.toISOString(),
  }
}

/** Live events: `conv:{id}` reaches the visitor's stream, `license:{id}` the dashboard. */
export type ConversationEvent = { type: 'message'; message: PublicMessage } | { type: 'typing'; typing: boolean } | { type: 'token'; delta: string }

export type LicenseEvent =
  | { type: 'conversation.created'; conversationId: string; product: string }
  | { type: 'message.created'; conversationId: string; product: string; message: PublicMessage }
  | { type: 'lead.created'; leadId: string; product: string; conversationId: string | null }
  | {
      type: 'conversation.updated'
      conversationId: string
      product: string
      status: ConversationRow['status']
      waitingReason: ConversationRow['waiting_reason']
      takenOver: boolean
    }

export const conversationChannel = (id: string): string => `events:conv:${id}`
export { licenseChannel }

/** Events of one conversation, several at once as one publish (platform/live.ts liveMessage). */
export async function publishConversation(deps: Deps, conversationId: string, ...events: ConversationEvent[]): Promise<void> {
  if (events.length === 0) return
  await deps.cache.publish(conversationChannel(conversationId), liveMessage(events))
}

export async function publishLicense(deps: Deps, licenseId: string, ...events: LicenseEvent[]): Promise<void> {
  if (events.length === 0) return
  await deps.cache.publish(licenseChannel(licenseId), liveMessage(events))
}

export interface AppendInput {
  licenseId: string
  conversationId: string
  product: string
  role: Role
  text: string
  clientMessageId?: string | null
  meta?: Record<string, unknown>
}

/**
 * Stores a message (or returns the one already stored under the same clientMessageId) with its message.created
 * event, and announces it. `alsoInTransaction` runs in the same transaction (e.g. enqueueing the reply job).
 */
export async function appendMessage(
  deps: Deps,
  input: AppendInput,
  alsoInTransaction?: (trx: Kysely<Database>, message: MessageRow) => Promise<unknown>,
): Promise<{ message: MessageRow; created: boolean }> {
  const clientId = input.clientMessageId ?? null
  const existing = async () =>
    clientId === null
      ? undefined
      : deps.db
          .selectFrom('messages')
          .selectAll()
          .where('conversation_id', '=', input.conversationId)
          .where('license_id', '=', input.licenseId)
          .where('client_message_id', '=', clientId)
          .executeTakeFirst()
  let message: MessageRow
  try {
    // The conversation row lock serialises seq allocation, and a duplicate clientMessageId fails the insert and
    // rolls the seq, the event and whatever else the transaction holds back with it.
    message = await deps.db.transaction().execute(async (trx) => {
      const { rows } = await sql<MessageRow>`
        with c as (
          update conversations set last_seq = last_seq + 1, updated_at = ${new Date(deps.clock.now())}
          where id = ${input.conversationId} and license_id = ${input.licenseId}
          returning last_seq
        )
        insert into messages (license_id, conversation_id, seq, role, text, client_message_id, meta)
        select ${input.licenseId}::uuid, ${input.conversationId}::uuid, c.last_seq, ${input.role}, ${input.text}, ${clientId}, ${JSON.stringify(input.meta ?? {})}::jsonb
        from c
        returning *`.execute(trx)
      const row = rows[0]
      if (!row) throw new Error(`conversation ${input.conversationId} not found for this license`)
      await emit(trx, {
        type: 'message.created',
        licenseId: input.licenseId,
        data: { conversationId: input.conversationId, product: input.product as Product, message: publicMessage(row) },
      })
      await alsoInTransaction?.(trx, row)
      return row
    })
  } catch (err) {
    const raced = isUniqueViolation(err) ? await existing() : undefined
    if (raced) return { message: raced, created: false }
    throw err
  }
  const pub = publicMessage(message)
  await Promise.all([
    publishConversation(deps, input.conversationId, { type: 'message', message: pub }),
    publishLicense(deps, input.licenseId, { type: 'message.created', conversationId: input.conversationId, product: input.product, message: pub }),
  ])
  return { message, created: true }
}

/**
 * A visitor's message and the bot's answer to it in one statement: one round trip, atomic without an explicit
 * transaction, and shared with the other exchanges of the same event-loop turn (one statement for all of them,
 * platform/batch.ts). Both rows get consecutive seqs and their message.created events. The conversation must still
 * be as the caller read it (same last seq, not closed, not taken over); resolves to null when it moved, and the
 * caller takes the general path (appendMessage). A clientMessageId already stored answers with that message.
 */
export async function appendExchange(
  deps: Deps,
  conv: Pick<ConversationRow, 'id' | 'license_id' | 'product' | 'last_seq'>,
  visitor: { id: string; text: string; clientMessageId: string | null; meta: Record<string, unknown> },
  reply: { text: string; meta: Record<string, unknown> },
): Promise<{ message: MessageRow; reply: MessageRow | null; created: boolean } | null> {
  const at = new Date()
  const base = { license_id: conv.license_id, conversation_id: conv.id, rating: null, rated_at: null, created_at: at }
  const rows: MessageRow[] = [
    { ...base, id: visitor.id, seq: conv.last_seq + 1, role: 'visitor', text: visitor.text, client_message_id: visitor.clientMessageId, meta: visitor.meta },
    { ...base, id: randomUUID(), seq: conv.last_seq + 2, role: 'assistant', text: reply.text, client_message_id: null, meta: reply.meta },
  ]
  // The public form of each message, made once: its event, the visitor's live stream and the dashboard's carry it.
  const pubs = rows.map(publicMessage)
  const events = pubs.map((message) =>
    eventRow({ type: 'message.created', licenseId: conv.license_id, data: { conversationId: conv.id, product: conv.product as Product, message } }),
  )
  const written = await exchangeWriter(deps)({ conv, rows, events, updatedAt: new Date(deps.clock.now()) })
  if (typeof written === 'object') {
    // Written alone, this exchange met a unique violation: its clientMessageId is stored already (a retry).
    if (!isUniqueViolation(written.failed) || visitor.clientMessageId === null) throw written.failed
    const raced = await deps.db
      .selectFrom('messages')
      .selectAll()
      .where('conversation_id', '=', conv.id)
      .where('license_id', '=', conv.license_id)
      .where('client_message_id', '=', visitor.clientMessageId)
      .executeTakeFirst()
    if (!raced) throw written.failed
    return { message: raced, reply: null, created: false }
  }
  const stored = written
  if (!stored) return null
  const [message, answer] = rows as [MessageRow, MessageRow]
  await Promise.all([
    publishConversation(deps, conv.id, ...pubs.map((message) => ({ type: 'message' as const, message }))),
    publishLicense(
      deps,
      conv.license_id,
      ...pubs.map((message) => ({ type: 'message.created' as const, conversationId: conv.id, product: conv.product, message })),
    ),
  ])
  return { message, reply: answer, created: true }
}

interface Exchange {
  conv: Pick<ConversationRow, 'id' | 'license_id' | 'last_seq'>
  rows: MessageRow[]
  events: ReturnType<typeof eventRow>[]
  updatedAt: Date
}

/** True: stored; false: the conversation moved; `failed`: written alone, the exchange's own error. */
type Written = boolean | { failed: unknown }

/** The turn's exchanges on this database object, one statement (a transaction's never mix with others). */
function exchangeWriter(deps: Pick<Deps, 'db' | 'memo'>): (exchange: Exchange) => Promise<Written> {
  return perDatabase(deps.memo, 'exchange-writes', deps.db, (db) =>
    perTurnAll(async (exchanges: Exchange[]): Promise<Written[]> => {
      // Two exchanges of one conversation in a turn: the first goes with the others, the rest after it (they find
      // the conversation moved, as they would have one at a time).
      const seen = new Set<string>()
      const first = exchanges.filter((x) => !seen.has(x.conv.id) && seen.add(x.conv.id))
      const later = exchanges.filter((x) => !first.includes(x))
      const written = new Map<Exchange, Written>()
      for (const round of [first, later]) {
        if (round.length === 0) continue
        try {
          const done = await writeExchanges(db, round)
          for (const [i, x] of round.entries()) written.set(x, done[i] === true)
        } catch (err) {
          // A clientMessageId stored before (a retry) or a deadlock with another turn's statement fails the whole
          // statement: its exchanges are then written one at a time, in order, and only the retry meets its error.
          if (!isUniqueViolation(err) && !isDeadlock(err)) throw err
          for (const x of round) {
            try {
              written.set(x, (await writeExchanges(db, [x]))[0] === true)
            } catch (alone) {
              written.set(x, { failed: alone })
            }
          }
        }
      }
      return exchanges.map((x) => written.get(x) ?? false)
    }),
  )
}

/**
 * A jsonb[] of JSON documents, sent as one JSON array: joined as they are, where an array literal (pgArray) would
 * escape every quote of every document first. In order (the position each document had).
 */
const jsonbArray = (docs: string[]) => sql`array(select d from jsonb_array_elements(${`[${docs.join(',')}]`}::jsonb) with ordinality as j(d, i) order by i)`

/**
 * Exchanges of distinct conversations in one statement: each conversation still as its caller read it moves on by
 * two seqs and gets its two messages and events; true per exchange stored. Rows go in conversation id order.
 */
async function writeExchanges(db: Kysely<Database>, exchanges: Exchange[]): Promise<boolean[]> {
  const sorted = [...exchanges].sort((a, b) => (a.conv.id < b.conv.id ? -1 : a.conv.id > b.conv.id ? 1 : 0))
  const messages = sorted.flatMap((x) => x.rows)
  const events = sorted.flatMap((x) => x.events.map((e) => ({ ...e, conversationId: x.conv.id })))
  const updatedAt = new Date(Math.max(...sorted.map((x) => x.updatedAt.getTime())))
  const { rows } = await sql<{ id: string }>`
    with i as (
      select * from unnest(${pgArray(sorted.map((x) => x.conv.id))}::uuid[], ${pgArray(sorted.map((x) => x.conv.license_id))}::uuid[], ${pgArray(sorted.map((x) => x.conv.last_seq))}::int[])
        as i(id, license_id, last_seq)
    ),
    c as (
      update conversations set last_seq = conversations.last_seq + 2, updated_at = ${updatedAt}
      from i
      where conversations.id = i.id and conversations.license_id = i.license_id and conversations.last_seq = i.last_seq
        and conversations.status <> 'closed' and conversations.taken_over_at is null
      returning conversations.id, conversations.license_id
    ),
    m as (
      insert into messages (id, license_id, conversation_id, seq, role, text, client_message_id, meta, created_at)
      select v.id, v.license_id, v.conversation_id, v.seq, v.role, v.text, v.client_message_id, v.meta, v.created_at
      from unnest(
        ${pgArray(messages.map((m) => m.id))}::uuid[], ${pgArray(messages.map((m) => m.license_id))}::uuid[], ${pgArray(messages.map((m) => m.conversation_id))}::uuid[],
        ${pgArray(messages.map((m) => m.seq))}::int[], ${pgArray(messages.map((m) => m.role))}::text[], ${pgArray(messages.map((m) => m.text))}::text[],
        ${pgArray(messages.map((m) => m.client_message_id))}::text[], ${jsonbArray(messages.map((m) => JSON.stringify(m.meta)))},
        ${pgArray(messages.map((m) => m.created_at))}::timestamptz[]
      ) as v(id, license_id, conversation_id, seq, role, text, client_message_id, meta, created_at)
      where (v.conversation_id, v.license_id) in (select id, license_id from c)
      returning conversation_id
    ),
    e as (
      insert into events (id, type, license_id, data)
      select v.id, v.type, v.license_id, v.data
      from unnest(${pgArray(events.map((e) => e.id))}::text[], ${pgArray(events.map((e) => e.type))}::text[], ${pgArray(events.map((e) => e.license_id))}::uuid[],
        ${jsonbArray(events.map((e) => e.data))}, ${pgArray(events.map((e) => e.conversationId))}::uuid[]) as v(id, type, license_id, data, conversation_id)
      where (v.conversation_id, v.license_id) in (select id, license_id from c)
      returning id
    )
    select distinct conversation_id::text as id from m`.execute(db)
  const stored = new Set(rows.map((r) => r.id))
  return exchanges.map((x) => stored.has(x.conv.id))
}

export const messagesAfter = (deps: Deps, licenseId: string, conversationId: string, after: number, limit = 200) =>
  deps.db
    .selectFrom('messages')
    .selectAll()
    .where('license_id', '=', licenseId)
    .where('conversation_id', '=', conversationId)
    .where('seq', '>', after)
    .orderBy('seq', 'asc')
    .limit(limit)
    .execute()

/**
 * A conversation of the license, or undefined. Lookups of one event-loop turn on the same database share one
 * statement (platform/batch.ts): the message route reads its conversation on every message.
 */
export async function findConversation(deps: Pick<Deps, 'db' | 'memo'>, licenseId: string, id: string): Promise<ConversationRow | undefined> {
  const load = perDatabase(deps.memo, 'conversation-lookups', deps.db, (db) =>
    perTurn(async (ids: string[]) => {
      // Only well-formed ids reach the uuid[] cast: a malformed one finds nothing, as `id = $1` would have failed it.
      const valid = ids.filter((i) => UUID.test(i))
      const rows = valid.length
        ? await db
            .selectFrom('conversations')
            .selectAll()
            .where('id', '=', sql<string>`any(${pgArray(valid)}::uuid[])`)
            .execute()
        : []
      return new Map(rows.map((r) => [r.id, r]))
    }),
  )
  const row = await load(id.toLowerCase())
  return row?.license_id === licenseId ? row : undefined
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
