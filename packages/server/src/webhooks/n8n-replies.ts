// POST /api/webhooks/n8n/replies: an n8n flow answers a visitor later; signed like every n8n call.
import { z } from 'zod'
import { appendMessage, findConversation, publicMessage } from '../conversations/service.js'
import type { Deps } from '../platform/context.js'
import { AppError, notFound } from '../platform/errors.js'
import { createRouter } from '../platform/http.js'
import { parseJsonBody } from '../platform/json.js'
import { getSecret } from '../platform/secrets.js'
import { SIGNATURE_HEADER, verifyIntelagent } from './signature.js'

const replySchema = z.strictObject({
  conversationId: z.uuid(),
  text: z.string().trim().min(1).max(4000),
  /** n8n retries deliveries; the same id is stored once. */
  replyId: z.string().min(1).max(64).optional(),
})

/** The secret a product's n8n calls are signed with: its own, else the server-wide N8N_WEBHOOK_SECRET. */
export async function signingSecretFor(deps: Deps, licenseId: string, product: string): Promise<string | undefined> {
  return (await getSecret(deps, licenseId, product, 'webhook_signing_secret')) ?? deps.config.n8nSecret
}

export function n8nReplyRoutes(deps: Deps) {
  const app = createRouter()

  app.post('/api/webhooks/n8n/replies', async (c) => {
    const raw = await c.req.text()
    const header = c.req.header(SIGNATURE_HEADER)
    if (!header) throw new AppError('invalid_signature', `Missing ${SIGNATURE_HEADER} header`)
    // The body names the conversation, and so the secret to check it with; nothing is done before the check.
    const body = parseJsonBody(replySchema, raw)
    const conv = await deps.db.selectFrom('conversations').select(['license_id', 'product']).where('id', '=', body.conversationId).executeTakeFirst()
    const secret = conv ? await signingSecretFor(deps, conv.license_id, conv.product) : deps.config.n8nSecret
    if (!secret) throw new AppError('not_configured', 'No n8n signing secret is configured for this product')
    verifyIntelagent(secret, header, raw, deps.clock.now())
    const found = conv ? await findConversation(deps, conv.license_id, body.conversationId) : undefined
    if (!found) throw notFound('Conversation')
    const { message, created } = await appendMessage(deps, {
      licenseId: found.license_id,
      conversationId: found.id,
      product: found.product,
      role: 'assistant',
      text: body.text,
      clientMessageId: body.replyId ? `n8n-${body.replyId}` : null,
      meta: { engine: 'webhook', outcome: 'answer' },
    })
    return c.json({ message: publicMessage(message) }, created ? 201 : 200)
  })

  return app
}
