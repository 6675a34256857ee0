// The widget's page API beyond chatting: Intelagent('identify') (a user the host site vouches for with an HMAC of
// their id, checked against the product's identity secret), Intelagent('update') (custom attributes on the
// conversation). The owner's call that generates the identity secret is products/secrets.ts.
import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { sql } from 'kysely'
import { findConversation, messagesAfter, type PublicMessage, publicConversation, publicMessage } from '../conversations/service.js'
import { checkVisitor, signVisitorToken, verifyVisitorToken } from '../keys/visitors.js'
import type { Deps } from '../platform/context.js'
import { hmacHex, randomToken, safeEqual } from '../platform/crypto.js'
import type { ConversationRow } from '../platform/db.js'
import { AppError, notFound } from '../platform/errors.js'
import { requireFeature } from '../platform/features.js'
import { createRouter, jsonBody } from '../platform/http.js'
import { IDENTITY_SECRET } from '../platform/products.js'
import { access, declareRoute, json } from '../platform/route.js'
import { getSecret } from '../platform/secrets.js'
import type { Usage } from '../usage/meter.js'
import { AttributesResponseSchema, conversationIdParam, IdentifyInputSchema, IdentifyResponseSchema } from './schemas.js'
import { startConversation } from './start.js'

export { IDENTITY_SECRET }
export const MAX_ATTRIBUTES = 20

/** What the host site's server computes for a user and the page passes to identify() as `userHash`. */
export const userHash = (identitySecret: string, userId: string): string => hmacHex(identitySecret, userId)

const attributeValue = z.union([z.string().max(500), z.number(), z.boolean(), z.null()])
export const attributesSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_.:-]{1,40}$/, 'attribute names are 1–40 characters of A-Z a-z 0-9 _ . : -'), attributeValue)
  .refine((a) => Object.keys(a).length <= MAX_ATTRIBUTES, `at most ${MAX_ATTRIBUTES} attributes`)
  .openapi({ example: { plan: 'pro', accountId: '42', seats: 5, trial: false } })

export const identifyRoute = declareRoute({
  method: 'post',
  path: '/api/widget/identify',
  operationId: 'identifyUser',
  summary: 'Identify a verified user (Intelagent("identify")): a visitor token for the user and their latest conversation',
  tag: 'widget',
  access: access.widget,
  errors: ['identity_invalid', 'identity_not_configured', 'plan_feature_required'],
  request: { body: jsonBody(IdentifyInputSchema) },
  responses: {
    200: json(IdentifyResponseSchema, 'Verified: a visitor token for the user and their latest conversation (or null)'),
    201: json(IdentifyResponseSchema, 'Verified, and a conversation was started (start: true)'),
  },
})

export const updateAttributesRoute = declareRoute({
  method: 'post',
  path: '/api/widget/conversations/{id}/attributes',
  operationId: 'updateConversationAttributes',
  summary: 'Store custom attributes on the visitor’s conversation (Intelagent("update")); null removes one',
  tag: 'widget',
  access: access.visitor,
  errors: ['not_found'],
  request: { params: conversationIdParam, body: jsonBody(z.strictObject({ attributes: attributesSchema }).openapi('AttributesInput')) },
  responses: { 200: json(AttributesResponseSchema, 'The conversation’s attributes after the change (at most 20)') },
})

function bearer(c: Context): string | undefined {
  const h = c.req.header('authorization')
  return h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined
}

/** Refuses a userHash that is not the HMAC of userId under the product's identity secret (constant-time compare). */
export async function checkUserHash(deps: Deps, licenseId: string, product: string, userId: string, hash: string): Promise<void> {
  const secret = await getSecret(deps, licenseId, product, IDENTITY_SECRET)
  if (!secret) throw new AppError('identity_not_configured', 'Identity verification is not set up for this product: create an identity secret first')
  if (!safeEqual(userHash(secret, userId), hash.toLowerCase())) {
    throw new AppError('identity_invalid', 'userHash is not the HMAC-SHA256 of userId with this product’s identity secret')
  }
}

/** The one visitor of a verified user in this product (created on first identify); its secret is never handed out. */
async function userVisitor(deps: Deps, licenseId: string, product: string, user: { id: string; email?: string; name?: string }) {
  return deps.db
    .insertInto('visitors')
    .values({
      license_id: licenseId,
      product,
      user_id: user.id,
      user_email: user.email ?? null,
      user_name: user.name ?? null,
      secret_hash: hmacHex(deps.config.keyPepper, randomToken(24)),
    })
    .onConflict((oc) =>
      oc
        .columns(['license_id', 'product', 'user_id'])
        .where('user_id', 'is not', null)
        .doUpdateSet((eb) => ({
          last_seen_at: new Date(deps.clock.now()),
          // What the page says now wins; what it leaves out stays as it was.
          user_email: eb.fn.coalesce('excluded.user_email', 'visitors.user_email'),
          user_name: eb.fn.coalesce('excluded.user_name', 'visitors.user_name'),
        })),
    )
    .returning(['id', 'user_email', 'user_name'])
    .executeTakeFirstOrThrow()
}

/** The conversation the user asked to resume when it is theirs, else their most recently active one. */
async function userConversation(deps: Deps, licenseId: string, product: string, userId: string, preferred: string | undefined) {
  const mine = deps.db.selectFrom('conversations').selectAll().where('license_id', '=', licenseId).where('product', '=', product).where('user_id', '=', userId)
  const chosen = preferred ? await mine.where('id', '=', preferred).executeTakeFirst() : undefined
  return chosen ?? (await mine.orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst())
}

export function identityRoutes(deps: Deps, usage: Usage) {
  const app = createRouter()

  app.openapi(identifyRoute, async (c) => {
    const w = c.get('widget')
    const body = c.req.valid('json')
    // A downgraded license's saved identity secret stops vouching for users until an upgrade.
    requireFeature(deps.config.plans, w.tier, 'identity')
    await checkUserHash(deps, w.licenseId, w.product, body.userId, body.userHash)
    const visitor = await userVisitor(deps, w.licenseId, w.product, { id: body.userId, email: body.email, name: body.name })
    const visitorId = visitor.id
    const who = { user_id: body.userId, user_email: visitor.user_email, user_name: visitor.user_name }

    // This browser's anonymous conversation passes to the user, once (only while it belongs to no user), and
    // only with the visitor's own secret: knowing a conversation id is not enough to claim it.
    if (body.visitorId && body.visitorSecret && body.conversationId && (await checkVisitor(deps, w.licenseId, body.visitorId, body.visitorSecret))) {
      await deps.db
        .updateTable('conversations')
        .set({ ...who, visitor_id: visitorId })
        .where('id', '=', body.conversationId)
        .where('license_id', '=', w.licenseId)
        .where('product', '=', w.product)
        .where('visitor_id', '=', body.visitorId)
        .where('user_id', 'is', null)
        .execute()
    }

    let conv: ConversationRow | undefined = await userConversation(deps, w.licenseId, w.product, body.userId, body.conversationId)
    let created = false
    let messages: PublicMessage[] = []
    if (conv) {
      if (conv.user_email !== who.user_email || conv.user_name !== who.user_name) {
        conv = await deps.db.updateTable('conversations').set(who).where('id', '=', conv.id).returningAll().executeTakeFirstOrThrow()
      }
      messages = (await messagesAfter(deps, w.licenseId, conv.id, 0, 500)).map(publicMessage)
    } else if (body.start) {
      // The same start as an anonymous visitor's: counted, with its event, pushed live, greeted.
      const started = await startConversation(deps, usage, w, { visitorId, pageUrl: body.pageUrl, user: who })
      conv = started.conversation
      messages = started.messages
      created = true
    }
    const { token, expiresAt } = await signVisitorToken(deps, w.licenseId, visitorId)
    return c.json(
      {
        user: { id: body.userId, email: who.user_email, name: who.user_name },
        visitorId,
        visitorToken: token,
        expiresAt: new Date(expiresAt).toISOString(),
        conversation: conv ? publicConversation(conv) : null,
        messages,
      },
      created ? 201 : 200,
    )
  })

  app.openapi(updateAttributesRoute, async (c) => {
    const w = c.get('widget')
    const { id } = c.req.valid('param')
    const visitorId = await verifyVisitorToken(deps, w.licenseId, bearer(c))
    const conv = await findConversation(deps, w.licenseId, id)
    if (!conv || conv.visitor_id !== visitorId || conv.product !== w.product) throw notFound('Conversation')
    const patch = JSON.stringify(c.req.valid('json').attributes)
    // One statement: the merge and the 20-key cap are checked against the row as it is, whatever runs beside it.
    const { rows } = await sql<{ attributes: Record<string, unknown> | string }>`
        update conversations set attributes = jsonb_strip_nulls(attributes || ${patch}::jsonb)
        where id = ${conv.id} and license_id = ${w.licenseId}
          and (select count(*) from jsonb_object_keys(jsonb_strip_nulls(attributes || ${patch}::jsonb))) <= ${MAX_ATTRIBUTES}
        returning attributes`.execute(deps.db)
    const row = rows[0]
    if (!row) throw new AppError('validation_failed', `attributes: a conversation holds at most ${MAX_ATTRIBUTES} attributes`)
    return c.json({ attributes: typeof row.attributes === 'string' ? JSON.parse(row.attributes) : row.attributes }, 200)
  })

  return app
}
