// Starting a conversation from the widget, one way for both doors: the anonymous start (POST /api/widget/conversations)
// and identify({start: true}). Counted against the plan first (past a quota or the visitor's cap it is still started,
// unmetered, and a person answers), stored with its conversation.created event in one transaction, pushed live to the
// dashboard, and greeted.
import { randomUUID } from 'node:crypto'
import { appendMessage, type PublicMessage, publicMessage, publishLicense } from '../conversations/service.js'
import type { Deps, WidgetCaller } from '../platform/context.js'
import type { ConversationRow } from '../platform/db.js'
import { emit } from '../platform/events.js'
import type { Product } from '../platform/products.js'
import { getSettings } from '../settings/settings.js'
import { gateConversation, type Usage } from '../usage/meter.js'

/** The verified user an identified conversation belongs to. */
export interface ConversationUser {
  user_id: string
  user_email: string | null
  user_name: string | null
}

export interface Started {
  conversation: ConversationRow
  /** The greeting, when the product has one. */
  messages: PublicMessage[]
  /** Why no engine will answer (a quota or the visitor's daily cap), or null when it is counted normally. */
  unmetered: 'quota' | 'visitor_cap' | null
}

export async function startConversation(
  deps: Deps,
  usage: Usage,
  w: WidgetCaller,
  input: { visitorId: string; pageUrl?: string | null; user?: ConversationUser },
): Promise<Started> {
  const id = randomUUID()
  const unmetered = await gateConversation(usage, { licenseId: w.licenseId, tier: w.tier }, input.visitorId, id)
  const conversation = await deps.db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('conversations')
      .values({
        id,
        license_id: w.licenseId,
        product: w.product,
        product_key_id: w.keyId,
        visitor_id: input.visitorId,
        page_url: input.pageUrl ?? null,
        unmetered,
        ...input.user,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    await emit(trx, {
      type: 'conversation.created',
      licenseId: w.licenseId,
      data: { conversationId: row.id, product: w.product as Product, visitorId: input.visitorId, pageUrl: row.page_url },
    })
    return row
  })
  // Live pushes stay direct (not through the event dispatcher): docs/architecture.md says why.
  await publishLicense(deps, w.licenseId, { type: 'conversation.created', conversationId: conversation.id, product: conversation.product })
  const settings = await getSettings(deps, w.licenseId, w.product)
  const messages: PublicMessage[] = []
  if (settings.greeting) {
    const { message } = await appendMessage(deps, {
      licenseId: w.licenseId,
      conversationId: conversation.id,
      product: conversation.product,
      role: 'assistant',
      text: settings.greeting,
      meta: { greeting: true },
    })
    messages.push(publicMessage(message))
  }
  return { conversation, messages, unmetered }
}
