// POST /api/webhooks/n8n/replies: an n8n flow answers a visitor later, signed with the conversation's own product
// signing secret. N8N_WEBHOOK_SECRET never opens this door: it issues licenses and nothing else.
import { randomBytes } from 'node:crypto'
import { appendMessage, findConversation, publicMessage } from '../conversations/service.js'
import type { Deps } from '../platform/context.js'
import { AppError, notFound } from '../platform/errors.js'
import { createRouter, jsonBody, limitBody } from '../platform/http.js'
import { parseJsonBody } from '../platform/json.js'
import { access, declareRoute, json, mountRaw } from '../platform/route.js'
import { getSecret } from '../platform/secrets.js'
import { parseIntelagentHeader, SIGNATURE_HEADER, signatureMatches } from '../platform/signature.js'
import { WEBHOOK_SECRET_NAME } from '../replies/webhook.js'
import { IntelagentSignatureHeaders, N8nReplyInput, N8nReplyResult } from './schemas.js'

const replyFromN8n = declareRoute({
  method: 'post',
  path: '/api/webhooks/n8n/replies',
  operationId: 'n8nReply',
  summary: 'A deferred n8n answer to a visitor, signed with the conversation’s product webhook signing secret',
  tag: 'webhooks',
  access: access.signature('product'),
  errors: ['signing_secret_missing', 'not_found'],
  request: { headers: IntelagentSignatureHeaders, body: jsonBody(N8nReplyInput) },
  responses: {
    200: json(N8nReplyResult, 'This replyId was already stored (a retried delivery)'),
    201: json(N8nReplyResult, 'The reply, added to the conversation and pushed to the visitor'),
  },
})

/** 4,000 characters of text, each at most a 6-byte JSON escape, plus the envelope. */
export const REPLY_BODY_LIMIT_BYTES = 32 * 1024

const mismatch = () => new AppError('invalid_signature', 'Signature does not match')

export function n8nReplyRoutes(deps: Deps) {
  const app = createRouter()
  // Stands in for a secret when the conversation does not exist, so that answer costs the same HMAC as a wrong one.
  const decoy = randomBytes(32).toString('hex')

  mountRaw(app, replyFromN8n, limitBody(Math.min(REPLY_BODY_LIMIT_BYTES, deps.config.bodyLimitBytes)), async (c) => {
    const raw = await c.req.text()
    const header = c.req.header(SIGNATURE_HEADER)
    if (!header) throw new AppError('invalid_signature', `Missing ${SIGNATURE_HEADER} header`)
    // The body names the conversation, and so the secret to check it with; nothing is stored before the check.
    const body = parseJsonBody(N8nReplyInput, raw)
    // Format and freshness are judged before the lookup, so they answer the same for every conversation id.
    const sig = parseIntelagentHeader(header, deps.clock.now())
    const conv = await deps.db.selectFrom('conversations').select(['license_id', 'product']).where('id', '=', body.conversationId).executeTakeFirst()
    if (!conv) {
      // An unknown conversation and a wrong signature are indistinguishable: another tenant's ids stay unconfirmed.
      signatureMatches(decoy, sig, raw)
      throw mismatch()
    }
    const secret = await getSecret(deps, conv.license_id, conv.product, WEBHOOK_SECRET_NAME)
    if (!secret)
      throw new AppError(
        'signing_secret_missing',
        `This conversation's product has no webhook signing secret; set one with PUT /api/products/${conv.product}/secrets/${WEBHOOK_SECRET_NAME}`,
      )
    if (!signatureMatches(secret, sig, raw)) throw mismatch()
    const found = await findConversation(deps, conv.license_id, body.conversationId)
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
